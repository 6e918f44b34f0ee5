"""validate: every check of CONTRACT §5, on the blueprint, before anything is published.

Tile checks run on NumPy grids (see ``grid``): whole arrays at once, never tile by tile in
Python. Walkability follows from the blueprint: room floors, corridor tiles and doors are
walkable, nothing else is. Reachability runs on the room graph (see ``reachability``),
which the tile checks make sound: corridors run unbroken from door to door outside every
room, so the tiles join at least what the graph joins, and a room is entered only by its
doors.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt

from levelforge.generation.blueprint import Blueprint, Point, Room
from levelforge.generation.grid import TileGrid, as_points, door_points, grid_of, padded
from levelforge.generation.reachability import check_reachability, check_route

Check = Callable[[Blueprint, TileGrid], Iterator[str]]


def validate(blueprint: Blueprint, rooms_wanted: int) -> list[str]:
    """The failures of ``blueprint``: empty when it is a valid level."""
    failures = []
    if len(blueprint.rooms) != rooms_wanted:
        failures.append(f"{len(blueprint.rooms)} rooms instead of {rooms_wanted}")
    failures.extend(_room_shapes(blueprint))
    if failures:
        return failures
    grid = grid_of(blueprint)
    checks: tuple[Check, ...] = (_room_overlaps, _corridors, _door_rule, _placements)
    for check in checks:
        failures.extend(check(blueprint, grid))
    if not failures:
        failures.extend(check_reachability(blueprint))
        failures.extend(check_route(blueprint))
    return failures


def _room_shapes(blueprint: Blueprint) -> Iterator[str]:
    width, height = blueprint.layout.width, blueprint.layout.height
    for room in blueprint.rooms:
        ring = room.floor.grown(1)
        if room.floor.w < 3 or room.floor.h < 3:
            yield f"room {room.id} floor smaller than 3x3"
        if ring.x0 < 0 or ring.y0 < 0 or ring.x1 >= width or ring.y1 >= height:
            yield f"room {room.id} outside the map"
        if room.spans is not None:
            yield from _cavern_shape(room)


def _cavern_shape(room: Room) -> Iterator[str]:
    """Rows inside the bounds, the bounds tight, rows and columns unbroken runs (each
    row's run overlaps the next one's, and the runs widen then narrow), and three rows
    sharing three columns."""
    floor, spans = room.floor, room.spans or ()
    firsts, lasts = [s[0] for s in spans], [s[1] for s in spans]
    if len(spans) != floor.h or min(firsts) != floor.x0 or max(lasts) != floor.x1:
        yield f"cavern {room.id} does not fill its bounds"
    if any(first > last for first, last in spans):
        yield f"cavern {room.id} has an empty row"
    if not (_unimodal([-x for x in firsts]) and _unimodal(lasts)):
        yield f"cavern {room.id} has a broken column"
    if not any(min(lasts[i : i + 3]) - max(firsts[i : i + 3]) >= 2 for i in range(len(spans) - 2)):
        yield f"cavern {room.id} has no 3x3 floor"


def _unimodal(values: list[int]) -> bool:
    """Never falls and then rises again."""
    fallen = False
    for before, after in itertools.pairwise(values):
        if after < before:
            fallen = True
        elif after > before and fallen:
            return False
    return True


def _room_overlaps(_: Blueprint, grid: TileGrid) -> Iterator[str]:
    if grid.rooms.max(initial=0) > 1:
        y, x = np.argwhere(grid.rooms > 1)[0]
        yield f"rooms overlap at {x},{y}"


def _corridors(blueprint: Blueprint, grid: TileGrid) -> Iterator[str]:
    """Corridor tiles are on the map and outside every room's floor and ring."""
    height, width = grid.walkable.shape
    points = grid.corridor_points
    xs, ys = points[:, 0], points[:, 1]
    off = (xs < 0) | (xs >= width) | (ys < 0) | (ys >= height)
    if off.any():
        yield f"{int(off.sum())} corridor tiles off the map"
        return
    inside = grid.rooms[ys, xs] != 0
    if inside.any():
        x, y = points[int(np.argmax(inside))]
        yield f"a corridor breaks into a room at {x},{y}"


def _door_rule(blueprint: Blueprint, grid: TileGrid) -> Iterator[str]:
    """Each door stands in its room's wall ring (not in a corner), between two walls along
    the wall, with walkable tiles on its two other sides."""
    doors = door_points(blueprint)
    if not len(doors):
        return
    xs, ys, walk = doors[:, 0] + 1, doors[:, 1] + 1, padded(grid.walkable)
    left, right = walk[ys, xs - 1], walk[ys, xs + 1]
    up, down = walk[ys - 1, xs], walk[ys + 1, xs]
    across = (left & right & ~up & ~down) | (up & down & ~left & ~right)
    for number in np.flatnonzero(~across):
        door = blueprint.doors[int(number)]
        yield f"door {door.id} at {door.pos[0]},{door.pos[1]} is not between two walls"
    x0, y0, x1, y1 = _floors(blueprint)[[door.room for door in blueprint.doors]].T
    xs, ys = doors[:, 0], doors[:, 1]
    beside = ((xs == x0 - 1) | (xs == x1 + 1)) & (ys >= y0) & (ys <= y1)
    above = ((ys == y0 - 1) | (ys == y1 + 1)) & (xs >= x0) & (xs <= x1)
    for number in np.flatnonzero(~(beside | above)):
        door = blueprint.doors[int(number)]
        yield f"door {door.id} is not in the wall of r{door.room}"


def _floors(blueprint: Blueprint) -> npt.NDArray[np.int64]:
    """The floor rectangle ``x0, y0, x1, y1`` of every room, one row each."""
    flat = itertools.chain.from_iterable(room.floor for room in blueprint.rooms)
    return np.fromiter(flat, dtype=np.int64, count=4 * len(blueprint.rooms)).reshape(-1, 4)


def _placements(blueprint: Blueprint, grid: TileGrid) -> Iterator[str]:
    """Entrance, exit, keys, treasure and enemies each on a floor tile of their own room;
    no enemy in the entrance room."""
    locks, population = blueprint.locks, blueprint.population
    things: list[tuple[str, int, Point]] = [
        ("entrance", locks.entrance.room, locks.entrance.pos),
        ("exit", locks.exit.room, locks.exit.pos),
    ]
    things += [(item.id, item.room, item.pos) for item in locks.keys + population.treasures]
    things += [(enemy.id, enemy.room, enemy.pos) for enemy in population.enemies]
    points = as_points([pos for _, _, pos in things])
    xs, ys = points[:, 0], points[:, 1]
    x0, y0, x1, y1 = _floors(blueprint)[[room for _, room, _ in things]].T
    inside = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1) & grid.room_floor[ys, xs]
    for number in np.flatnonzero(~inside):
        name, room, _ = things[int(number)]
        yield f"{name} is not on the floor of room r{room}"
    if len({pos for _, _, pos in things}) != len(things):
        yield "two things share a tile"
    if any(enemy.room == locks.entrance.room for enemy in population.enemies):
        yield "an enemy in the entrance room"


def summarise(failures: list[str]) -> str:
    """A short reason for a failed attempt: the first failure, and how many more."""
    more = f" and {len(failures) - 1} more" if len(failures) > 1 else ""
    return f"{failures[0]}{more}"
