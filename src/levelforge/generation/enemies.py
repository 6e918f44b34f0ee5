"""place_enemies: enemies by room area and difficulty, stronger farther in, a boss at the
exit, treasure in side branches.

No enemy ever stands in the entrance room (so a one-room level has none). A room ``d``
corridors from the entrance, on a level whose farthest room is ``D`` away, has enemies of
level ``low + (high - low) * d // D`` or one more, where ``low … high`` is
``difficulty - 2 … difficulty + 2`` within 1 … 10; so levels never fall by more than one
between a nearer room and a farther one. The boss, in the exit room, is at least as strong
as any other. Types come from the theme's roster, weaker ones at lower levels.

Treasure rewards leaving the critical path: every dead-end side room (one corridor) holds
some, other side rooms sometimes, rooms on the path never.
"""

from __future__ import annotations

from collections.abc import Sequence

from levelforge.generation.blueprint import Enemy, Item, Locks, Network, Point, Population, Room
from levelforge.generation.rooms import pick_free_tile
from levelforge.generation.seeding import Dice

BESTIARY: dict[str, tuple[tuple[str, ...], str]] = {
    "dungeon": (("giant rat", "goblin", "skeleton", "orc", "ogre"), "warlord"),
    "crypt": (("zombie", "skeleton", "ghoul", "wraith", "vampire"), "lich"),
    "cave": (("bat", "spider", "slime", "ghoul", "troll"), "wyrm"),
}
"""Per theme: the common enemy types from weakest to strongest, and the boss type. Caves
hold beasts and the undead that lair in them."""

TILES_PER_ENEMY_AT_DIFFICULTY_1 = 250
SIDE_ROOM_TREASURE_CHANCE = 0.35


def enemy_levels(difficulty: int) -> tuple[int, int]:
    """The lowest and highest common enemy level of a difficulty."""
    return max(difficulty - 2, 1), min(difficulty + 2, 9)


def place_enemies(
    rooms: Sequence[Room],
    network: Network,
    locks: Locks,
    difficulty: int,
    theme: str,
    dice: Dice,
) -> Population:
    """Enemies in every room but the entrance, a boss in the exit room, treasure in side
    rooms (rooms off the critical path)."""
    taken = _taken_tiles(locks)
    common, boss_type = BESTIARY[theme]
    low, high = enemy_levels(difficulty)
    farthest = max(*locks.distance, 1)
    enemies: list[Enemy] = []
    exit_room = locks.exit.room
    if exit_room != locks.entrance.room:
        pos = pick_free_tile(rooms[exit_room], taken.setdefault(exit_room, set()), dice)
        enemies.append(Enemy(0, boss_type, high + 1, exit_room, pos, boss=True))
    per_tile, random = difficulty / TILES_PER_ENEMY_AT_DIFFICULTY_1, dice.random
    entrance, distance, kinds = locks.entrance.room, locks.distance, len(common)
    for room in rooms:
        index = room.index
        if index == entrance:
            continue
        room_taken = taken.setdefault(index, set())
        area = room.area
        expected = area * per_tile
        whole = int(expected)
        count = min(whole + (random() < expected - whole), (area - len(room_taken) - 1) // 2)
        base = low + (high - low) * distance[index] // farthest
        for _ in range(count):
            pos = pick_free_tile(room, room_taken, dice)
            level = base + (random() < 0.4)
            kind = common[min((level - 1) * kinds // 10, kinds - 1)]
            enemies.append(Enemy(len(enemies), kind, level, index, pos, boss=False))
    return Population(tuple(enemies), _treasures(rooms, network, locks, taken, dice))


def _taken_tiles(locks: Locks) -> dict[int, set[Point]]:
    taken: dict[int, set[Point]] = {}
    for marker in (locks.entrance, locks.exit):
        taken.setdefault(marker.room, set()).add(marker.pos)
    for key in locks.keys:
        taken.setdefault(key.room, set()).add(key.pos)
    return taken


def _treasures(
    rooms: Sequence[Room], network: Network, locks: Locks, taken: dict[int, set[Point]], dice: Dice
) -> tuple[Item, ...]:
    corridors = [0] * len(rooms)
    for corridor in network.corridors:
        corridors[corridor.a] += 1
        corridors[corridor.b] += 1
    on_path = set(locks.critical_path)
    treasures: list[Item] = []
    for room in rooms:
        if room.index in on_path:
            continue
        if corridors[room.index] > 1 and not dice.chance(SIDE_ROOM_TREASURE_CHANCE):
            continue
        pos = pick_free_tile(room, taken.setdefault(room.index, set()), dice)
        treasures.append(Item(len(treasures), "treasure", room.index, pos))
    return tuple(treasures)


def describe_population(population: Population) -> str:
    bosses = [enemy.boss for enemy in population.enemies].count(True)
    return (
        f"Placed {len(population.enemies)} enemies ({bosses} boss) and {len(population.treasures)} treasures"
    )
