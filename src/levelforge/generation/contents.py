"""Keys, locks, enemies and treasure of a designed level (CONTRACT §4.1), placed to count.

As ``keys`` and ``enemies`` do, with the spec's ranges met by construction:

- **Locks** close doors, one at a time: the exit's one door first (so the exit is always
  behind a lock), then doors of rooms along the critical path, then others; never a
  prefab's door. Keys are hidden in the order their locks are met walking in, each in a
  room reachable with its own lock and every later one shut (a side room when one is
  reachable), so no key is ever behind its own lock.
- **Enemies** come as ``enemies`` sizes them, then rooms gain or lose one at a time
  (those with the most room to spare first) until the count is in range; with ``pacing:
  rising`` enemies on the critical path take their level from their distance alone, which
  never falls along the path, and the boss (the strongest) stands in the exit room.
- **Treasure** goes where ``enemies`` puts it (dead-end side rooms, some other side rooms),
  then rooms gain or lose one until the count is in range, side rooms first.
- **Prefab copies** hold exactly what is drawn in them and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from levelforge.generation.blueprint import Door, Enemy, Item, Locks, Marker, Network, Point, Population, Room
from levelforge.generation.connect import COMPILED
from levelforge.generation.enemies import (
    BESTIARY,
    SIDE_ROOM_TREASURE_CHANCE,
    TILES_PER_ENEMY_AT_DIFFICULTY_1,
    _taken_tiles,
    enemy_levels,
)
from levelforge.generation.graph import distances, room_links
from levelforge.generation.keys import MIN_ROOMS_FOR_LOCKS, lock_count
from levelforge.generation.prefabs import Prefab
from levelforge.generation.rooms import pick_free_tile
from levelforge.generation.seeding import Dice

UNBOUNDED = 10**9


def asked(spec: Mapping[str, Any], name: str) -> tuple[int, int] | None:
    """The range the spec asks of a ``stats`` count, or ``None``."""
    bounds = spec.get("constraints", {}).get(name)
    if bounds is None:
        return None
    return bounds.get("min", 0), bounds.get("max", UNBOUNDED)


def _in_range(natural: int, bounds: tuple[int, int] | None) -> int:
    return natural if bounds is None else min(max(natural, bounds[0]), bounds[1])


def place_designed_keys(
    rooms: Sequence[Room],
    network: Network,
    doors: Sequence[Door],
    path: Sequence[int],
    prefab_of: Mapping[int, Prefab],
    spec: Mapping[str, Any],
    dice: Dice,
) -> Locks:
    """Entrance and exit at the ends of the planned path, locks to count, their keys. On
    the compiled core while it runs a designed level's steps (``connect.COMPILED``), its
    ``place_designed_keys``: the same from the same draws."""
    compiled = COMPILED.get()
    if compiled is not None:
        placed: Locks = compiled.place_designed_keys(rooms, network, doors, path, prefab_of, spec, dice)
        return placed
    links = room_links(len(rooms), network.corridors)
    entrance, exit_room = path[0], path[-1]
    taken: dict[int, set[Point]] = {}
    entrance_pos = pick_free_tile(rooms[entrance], taken.setdefault(entrance, set()), dice)
    exit_pos = pick_free_tile(rooms[exit_room], taken.setdefault(exit_room, set()), dice)
    distance = distances(links, entrance)
    locked = _doors_to_lock(network, doors, path, prefab_of, spec, dice)
    locked.sort(key=lambda index: (distance[doors[index].room], index))
    blocked = _corridors_by_door(network)
    new_doors = list(doors)
    keys: list[Item] = []
    on_path, opened = set(path), set[int]()
    areas = [room.area for room in rooms] if locked else []
    for number, index in enumerate(locked):
        shut = {corridor for later in locked[number:] for corridor in blocked[doors[later].pos]}
        reached = _reach(links, entrance, shut)
        homes = [
            room
            for room in reached
            if room not in prefab_of and areas[room] - len(taken.get(room, ())) >= 2
        ]
        sides = [room for room in homes if room not in on_path]
        fresh = [room for room in sides if room not in opened] or sides or homes or [entrance]
        home = fresh[dice.below(len(fresh))]
        door = new_doors[index]
        new_doors[index] = Door(index, door.pos, door.room, door.corridor, number)
        pos = pick_free_tile(rooms[home], taken.setdefault(home, set()), dice)
        keys.append(Item(number, "key", home, pos, (index,)))
        opened = set(reached)
    return Locks(
        entrance=Marker(entrance, entrance_pos),
        exit=Marker(exit_room, exit_pos),
        critical_path=tuple(path),
        critical_corridors=tuple(range(len(path) - 1)),
        distance=tuple(distance),
        doors=tuple(new_doors),
        keys=tuple(keys),
    )


def _doors_to_lock(
    network: Network,
    doors: Sequence[Door],
    path: Sequence[int],
    prefab_of: Mapping[int, Prefab],
    spec: Mapping[str, Any],
    dice: Dice,
) -> list[int]:
    """Which doors to lock: as many as ``keys`` would lock rooms, within the asked range;
    the exit's door first, then path rooms' doors in from the corridor before them, then
    any other door of an ordinary room."""
    natural = 0
    if spec["rooms"] >= MIN_ROOMS_FOR_LOCKS:
        natural = lock_count(len(path), spec["difficulty"], spec["theme"])
    lockable = [door.index for door in doors if door.room not in prefab_of]
    target = min(_in_range(natural, asked(spec, "locks")), len(lockable))
    if target <= 0:
        return []
    at = {door.pos: door.index for door in doors}
    corridors, random = network.corridors, dice.random

    def door_of(room: int, corridor: int) -> int:
        c = corridors[corridor]
        return at[c.door_a if c.a == room else c.door_b]

    first = [door_of(path[-1], len(path) - 2)]
    along = [door_of(room, i - 1) for i, room in enumerate(path[1:-1], 1) if room not in prefab_of]
    along.sort(key=lambda _: random())
    picked = {*first, *along}
    rest = [index for index in lockable if index not in picked]
    rest.sort(key=lambda _: random())
    return list(dict.fromkeys(first + along + rest))[:target]


def _corridors_by_door(network: Network) -> dict[Point, list[int]]:
    """The corridors each door position opens onto (a shared door, two)."""
    by_door: dict[Point, list[int]] = {}
    for corridor in network.corridors:
        by_door.setdefault(corridor.door_a, []).append(corridor.index)
        by_door.setdefault(corridor.door_b, []).append(corridor.index)
    return by_door


def _reach(links: list[list[tuple[int, int]]], start: int, shut: set[int]) -> list[int]:
    """Rooms reachable from ``start`` along corridors not in ``shut``, in the order reached."""
    seen = {start}
    queue = [start]
    for room in queue:
        for other, corridor in links[room]:
            if other not in seen and corridor not in shut:
                seen.add(other)
                queue.append(other)
    return queue


def place_designed_enemies(
    rooms: Sequence[Room],
    network: Network,
    locks: Locks,
    prefab_of: Mapping[int, Prefab],
    spec: Mapping[str, Any],
    dice: Dice,
) -> Population:
    """Enemies and treasure to count, each prefab copy holding what is drawn in it (on
    the compiled core, as ``place_designed_keys``)."""
    compiled = COMPILED.get()
    if compiled is not None:
        population: Population = compiled.place_designed_enemies(rooms, network, locks, prefab_of, spec, dice)
        return population
    taken = _taken_tiles(locks)
    entrance, exit_room = locks.entrance.room, locks.exit.room
    things = {room: prefab.things() for room, prefab in prefab_of.items()}
    drawn = dict.fromkeys("e$B", 0)
    for drawing in things.values():
        for *_, char in drawing:
            drawn[char] += 1
    areas = [room.area for room in rooms]
    treasures = _treasure_counts(rooms, areas, network, locks, prefab_of, spec, taken, drawn["$"], dice)
    enemy_range = asked(spec, "enemies")
    drawn_enemies = drawn["e"] + drawn["B"]
    most = UNBOUNDED if enemy_range is None else enemy_range[1]
    boss = not drawn["B"] and exit_room != entrance and most >= drawn_enemies + 1
    random, per_tile = dice.random, spec["difficulty"] / TILES_PER_ENEMY_AT_DIFFICULTY_1
    counts = [0] * len(rooms)
    room_space = [0] * len(rooms)
    for room in rooms:
        index = room.index
        if index == entrance or index in prefab_of:
            continue
        area = areas[index]
        used = len(taken.get(index, ())) + (boss and index == exit_room) + treasures[index]
        room_space[index] = max(area - used, 0)
        expected = area * per_tile
        whole = int(expected)
        counts[index] = max(min(whole + (random() < expected - whole), (area - used - 1) // 2), 0)
    if enemy_range is not None:
        target = _in_range(sum(counts) + drawn_enemies + boss, enemy_range) - drawn_enemies - boss
        _adjust(counts, room_space, max(target, 0), dice)
    enemies = _enemies(rooms, locks, things, counts, taken, spec, boss=boss, dice=dice)
    items = _treasures(rooms, things, treasures, taken, dice)
    return Population(tuple(enemies), tuple(items))


def _treasure_counts(
    rooms: Sequence[Room],
    areas: Sequence[int],
    network: Network,
    locks: Locks,
    prefab_of: Mapping[int, Prefab],
    spec: Mapping[str, Any],
    taken: Mapping[int, set[Point]],
    drawn: int,
    dice: Dice,
) -> list[int]:
    """Generated treasure per room: as ``enemies`` hands it out, then to count (``areas``:
    the rooms' floor tiles; ``taken``: the tiles the keys' step took)."""
    corridors = [0] * len(rooms)
    for corridor in network.corridors:
        corridors[corridor.a] += 1
        corridors[corridor.b] += 1
    on_path = set(locks.critical_path)
    counts = [0] * len(rooms)
    for room in rooms:
        if room.index in on_path or room.index in prefab_of:
            continue
        if corridors[room.index] > 1 and not dice.chance(SIDE_ROOM_TREASURE_CHANCE):
            continue
        counts[room.index] = 1
    bounds = asked(spec, "treasures")
    if bounds is None:
        return counts
    space = [
        0 if room.index in prefab_of else max(areas[room.index] - len(taken.get(room.index, ())) - 2, 0)
        for room in rooms
    ]
    target = _in_range(sum(counts) + drawn, bounds) - drawn
    sides = [0 if room.index in on_path else space[room.index] for room in rooms]
    side_total = sum(min(s, 2) for s in sides)
    _adjust(counts, sides if side_total >= target else space, max(target, 0), dice)
    return counts


def _adjust(counts: list[int], space: Sequence[int], target: int, dice: Dice) -> None:
    """Add or take one at a time until ``counts`` sums to ``target``: add where the most
    space is left, take where the most are."""
    ties = [dice.random() for _ in counts]
    total = sum(counts)
    while total < target:
        room = max(range(len(counts)), key=lambda r: (space[r] - counts[r], ties[r]))
        if space[room] - counts[room] <= 0:
            return
        counts[room] += 1
        total += 1
    while total > target:
        room = max(range(len(counts)), key=lambda r: (counts[r], ties[r]))
        counts[room] -= 1
        total -= 1


def _enemies(
    rooms: Sequence[Room],
    locks: Locks,
    things: Mapping[int, list[tuple[int, int, str]]],
    counts: Sequence[int],
    taken: dict[int, set[Point]],
    spec: Mapping[str, Any],
    *,
    boss: bool,
    dice: Dice,
) -> list[Enemy]:
    """The boss (when ``boss``), then room by room: a prefab copy's drawn enemies and boss
    (``things``: what is drawn in each copy), ``counts`` enemies in every other room."""
    common, boss_type = BESTIARY[spec["theme"]]
    low, high = enemy_levels(spec["difficulty"])
    distance = locks.distance
    farthest = max(*distance, 1)
    pacing = spec.get("constraints", {}).get("pacing") == "rising"
    on_path = set(locks.critical_path)
    kinds, random = len(common), dice.random
    enemies: list[Enemy] = []
    exit_room = locks.exit.room
    if boss:
        pos = pick_free_tile(rooms[exit_room], taken.setdefault(exit_room, set()), dice)
        enemies.append(Enemy(0, boss_type, high + 1, exit_room, pos, True))
    for room in rooms:
        index = room.index
        drawing = things.get(index)
        if drawing is None and not counts[index]:
            continue
        base = low + (high - low) * distance[index] // farthest
        wobbles = not (pacing and index in on_path)  # else the level is the distance's alone
        if drawing is not None:
            x0, y0 = room.floor.x0, room.floor.y0
            for dx, dy, char in drawing:
                if char == "B":
                    enemies.append(Enemy(len(enemies), boss_type, high + 1, index, (x0 + dx, y0 + dy), True))
                elif char == "e":
                    level = base + (wobbles and random() < 0.4)
                    kind = common[min((level - 1) * kinds // 10, kinds - 1)]
                    enemies.append(Enemy(len(enemies), kind, level, index, (x0 + dx, y0 + dy), False))
            continue
        room_taken = taken.setdefault(index, set())
        for _ in range(counts[index]):
            pos = pick_free_tile(room, room_taken, dice)
            level = base + (wobbles and random() < 0.4)
            kind = common[min((level - 1) * kinds // 10, kinds - 1)]
            enemies.append(Enemy(len(enemies), kind, level, index, pos, False))
    return enemies


def _treasures(
    rooms: Sequence[Room],
    things: Mapping[int, list[tuple[int, int, str]]],
    counts: Sequence[int],
    taken: dict[int, set[Point]],
    dice: Dice,
) -> list[Item]:
    """Room by room: a prefab copy's drawn treasure, ``counts`` in every other room."""
    items: list[Item] = []
    for room in rooms:
        index = room.index
        drawing = things.get(index)
        if drawing is not None:
            x0, y0 = room.floor.x0, room.floor.y0
            for dx, dy, char in drawing:
                if char == "$":
                    items.append(Item(len(items), "treasure", index, (x0 + dx, y0 + dy)))
            continue
        if counts[index]:
            room_taken = taken.setdefault(index, set())
            for _ in range(counts[index]):
                items.append(Item(len(items), "treasure", index, pick_free_tile(room, room_taken, dice)))
    return items
