"""validate: every check of CONTRACT §5, on the blueprint, before anything is published.

Checks work per room, per corridor tile and per door (never per tile of the whole map):
a room index answers "which room's floor or wall is here". Walkability follows from the
blueprint: room floors, corridor tiles and doors are walkable, nothing else is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import combinations

from levelforge.generation.blueprint import Blueprint, Point, Room
from levelforge.generation.reachability import check_reachability

BUCKET = 16


class RoomIndex:
    """Rooms by the 16x16 buckets their floor and wall ring touch."""

    def __init__(self, rooms: tuple[Room, ...]) -> None:
        self.buckets: dict[tuple[int, int], list[Room]] = {}
        for room in rooms:
            ring = room.floor.grown(1)
            for by in range(ring.y0 // BUCKET, ring.y1 // BUCKET + 1):
                for bx in range(ring.x0 // BUCKET, ring.x1 // BUCKET + 1):
                    self.buckets.setdefault((bx, by), []).append(room)

    def room_at(self, x: int, y: int, *, ring: bool) -> Room | None:
        """The room whose floor (or, with ``ring``, floor or wall ring) holds the tile."""
        margin = 1 if ring else 0
        for room in self.buckets.get((x // BUCKET, y // BUCKET), ()):
            floor = room.floor
            if floor.x0 - margin <= x <= floor.x1 + margin and floor.y0 - margin <= y <= floor.y1 + margin:
                return room
        return None


Check = Callable[[Blueprint, RoomIndex], Iterator[str]]


def validate(blueprint: Blueprint, rooms_wanted: int) -> list[str]:
    """The failures of ``blueprint``: empty when it is a valid level."""
    index = RoomIndex(blueprint.rooms)
    failures = []
    if len(blueprint.rooms) != rooms_wanted:
        failures.append(f"{len(blueprint.rooms)} rooms instead of {rooms_wanted}")
    checks: tuple[Check, ...] = (
        _room_shapes,
        _room_overlaps,
        _corridors_outside_rooms,
        _door_rule,
        _placements,
    )
    for check in checks:
        failures.extend(check(blueprint, index))
    if not failures:
        failures.extend(check_reachability(blueprint))
    return failures


def _room_shapes(blueprint: Blueprint, _: RoomIndex) -> Iterator[str]:
    width, height = blueprint.layout.width, blueprint.layout.height
    for room in blueprint.rooms:
        ring = room.floor.grown(1)
        if room.floor.w < 3 or room.floor.h < 3:
            yield f"room {room.id} floor smaller than 3x3"
        if ring.x0 < 0 or ring.y0 < 0 or ring.x1 >= width or ring.y1 >= height:
            yield f"room {room.id} outside the map"


def _room_overlaps(_: Blueprint, index: RoomIndex) -> Iterator[str]:
    seen: set[tuple[int, int]] = set()
    for bucket in index.buckets.values():
        for a, b in combinations(bucket, 2):
            pair = (min(a.index, b.index), max(a.index, b.index))
            if pair not in seen and a.floor.grown(1).intersects(b.floor):
                seen.add(pair)
                yield f"rooms r{pair[0]} and r{pair[1]} overlap"


def _corridors_outside_rooms(blueprint: Blueprint, index: RoomIndex) -> Iterator[str]:
    width, height = blueprint.layout.width, blueprint.layout.height
    for corridor in blueprint.network.corridors:
        for x, y in corridor.tiles:
            if not (0 <= x < width and 0 <= y < height):
                yield f"corridor {corridor.id} leaves the map at {x},{y}"
            elif (room := index.room_at(x, y, ring=True)) is not None:
                yield f"corridor {corridor.id} breaks into room {room.id} at {x},{y}"


def _door_rule(blueprint: Blueprint, index: RoomIndex) -> Iterator[str]:
    """Each door stands in its room's wall, between two walls along the wall, with
    walkable tiles on its two other sides."""
    corridor_tiles = {tile for c in blueprint.network.corridors for tile in c.tiles}
    door_tiles = {door.pos for door in blueprint.doors}

    def walkable(tile: Point) -> bool:
        return (
            tile in corridor_tiles
            or tile in door_tiles
            or index.room_at(tile[0], tile[1], ring=False) is not None
        )

    for door in blueprint.doors:
        x, y = door.pos
        left, right = walkable((x - 1, y)), walkable((x + 1, y))
        up, down = walkable((x, y - 1)), walkable((x, y + 1))
        if not ((left and right and not (up or down)) or (up and down and not (left or right))):
            yield f"door {door.id} at {x},{y} is not between two walls"
        if index.room_at(x, y, ring=True) is not blueprint.rooms[door.room]:
            yield f"door {door.id} is not in the wall of room r{door.room}"


def _placements(blueprint: Blueprint, _: RoomIndex) -> Iterator[str]:
    """Entrance, exit, keys, treasure and enemies each on a floor tile of their own room;
    no enemy in the entrance room."""
    locks, population = blueprint.locks, blueprint.population
    things: list[tuple[str, int, Point]] = [
        ("entrance", locks.entrance.room, locks.entrance.pos),
        ("exit", locks.exit.room, locks.exit.pos),
    ]
    things += [(item.id, item.room, item.pos) for item in locks.keys + population.treasures]
    things += [(enemy.id, enemy.room, enemy.pos) for enemy in population.enemies]
    owners: dict[Point, str] = {}
    for name, room, pos in things:
        if not blueprint.rooms[room].floor.contains(*pos):
            yield f"{name} is not on the floor of room r{room}"
        if pos in owners:
            yield f"{name} shares its tile with {owners[pos]}"
        owners[pos] = name
    for enemy in population.enemies:
        if enemy.room == locks.entrance.room:
            yield f"enemy {enemy.id} in the entrance room"


def summarise(failures: list[str]) -> str:
    """A short reason for a failed attempt: the first failure, and how many more."""
    more = f" and {len(failures) - 1} more" if len(failures) > 1 else ""
    return f"{failures[0]}{more}"
