"""place_enemies: enemies by room area and difficulty, a boss at the exit, treasure aside.

No enemy ever stands in the entrance room (so a one-room level has none). Every enemy,
treasure, key, entrance and exit has a floor tile of its own.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from levelforge.generation.blueprint import Enemy, Item, Locks, Point, Population, Room
from levelforge.generation.rooms import pick_free_tile

BESTIARY: dict[str, tuple[tuple[str, ...], str]] = {
    "dungeon": (("goblin", "orc", "skeleton", "giant rat"), "warlord"),
    "crypt": (("skeleton", "zombie", "ghoul", "wraith"), "lich"),
    "cave": (("bat", "spider", "troll", "slime"), "wyrm"),
}
"""Per theme: the common enemy types and the boss type."""

TILES_PER_ENEMY_AT_DIFFICULTY_1 = 250
MIN_ROOMS_FOR_BOSS = 3


def place_enemies(
    rooms: Sequence[Room], locks: Locks, difficulty: int, theme: str, rng: random.Random
) -> Population:
    """Enemies in every room but the entrance, a boss in the exit room, treasure in side
    rooms (rooms off the critical path)."""
    taken = _taken_tiles(rooms, locks)
    common, boss_type = BESTIARY[theme]
    enemies: list[Enemy] = []
    if len(rooms) >= MIN_ROOMS_FOR_BOSS:
        exit_room = locks.exit.room
        pos = pick_free_tile(rooms[exit_room].floor, taken[exit_room], rng)
        enemies.append(Enemy(0, boss_type, min(difficulty + 2, 10), exit_room, pos, boss=True))
    for room in rooms:
        if room.index == locks.entrance.room:
            continue
        for _ in range(_enemy_count(room, len(taken[room.index]), difficulty, rng)):
            pos = pick_free_tile(room.floor, taken[room.index], rng)
            level = min(max(difficulty + rng.choice((-1, 0, 0, 1)), 1), 10)
            enemies.append(Enemy(len(enemies), rng.choice(common), level, room.index, pos, False))
    return Population(tuple(enemies), _treasures(rooms, locks, taken, rng))


def _taken_tiles(rooms: Sequence[Room], locks: Locks) -> dict[int, set[Point]]:
    taken: dict[int, set[Point]] = {room.index: set() for room in rooms}
    for marker in (locks.entrance, locks.exit):
        taken[marker.room].add(marker.pos)
    for key in locks.keys:
        taken[key.room].add(key.pos)
    return taken


def _enemy_count(room: Room, taken: int, difficulty: int, rng: random.Random) -> int:
    """About one enemy per 250 floor tiles per difficulty level; at most half the free
    floor, keeping a tile free for treasure."""
    expected = room.floor.area * difficulty / TILES_PER_ENEMY_AT_DIFFICULTY_1
    count = int(expected) + (rng.random() < expected - int(expected))
    return min(count, (room.floor.area - taken - 1) // 2)


def _treasures(
    rooms: Sequence[Room], locks: Locks, taken: dict[int, set[Point]], rng: random.Random
) -> tuple[Item, ...]:
    on_path = set(locks.critical_path)
    treasures: list[Item] = []
    for room in rooms:
        if room.index in on_path or rng.random() >= 0.6:
            continue
        pos = pick_free_tile(room.floor, taken[room.index], rng)
        treasures.append(Item(len(treasures), "treasure", room.index, pos))
    return tuple(treasures)


def describe_population(population: Population) -> str:
    bosses = sum(enemy.boss for enemy in population.enemies)
    return (
        f"Placed {len(population.enemies)} enemies ({bosses} boss) and {len(population.treasures)} treasures"
    )
