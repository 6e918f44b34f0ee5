"""validate: every check of CONTRACT §5, on the blueprint, before anything is published.

Tile checks run on the grid of bytes (see ``grid``), painted a row run at a time; only
corridor tiles, doors and placed things are looked at one by one. Walkability follows
from the blueprint: room floors, corridor tiles and doors are walkable, nothing else is.
Reachability runs on the room graph (see ``reachability``), which the tile checks make
sound: corridors run unbroken from door to door outside every room, so the tiles join at
least what the graph joins, and a room is entered only by its doors.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from levelforge.generation.blueprint import Blueprint, Point, Room
from levelforge.generation.grid import FLOOR, TileGrid, grid_of
from levelforge.generation.reachability import check_reachability, check_route, check_walk

Check = Callable[[Blueprint, TileGrid], Iterator[str]]


def validate(blueprint: Blueprint, rooms_wanted: int, *, designed: bool = False) -> list[str]:
    """The failures of ``blueprint``: empty when it is a valid level. A ``designed`` level
    (CONTRACT §4.1) has its exit and locks where the constraints put them, so the route
    rules that place them otherwise are not held (see ``check_route``); and it is walked
    on its tiles as planned (``check_walk``)."""
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
        failures.extend(check_route(blueprint, designed=designed))
    if designed and not failures:
        failures.extend(check_walk(blueprint))
    return failures


def _room_shapes(blueprint: Blueprint) -> Iterator[str]:
    width, height = blueprint.layout.width, blueprint.layout.height
    for room in blueprint.rooms:
        x0, y0, x1, y1 = room.floor
        if x1 - x0 < 2 or y1 - y0 < 2:
            yield f"room {room.id} floor smaller than 3x3"
        if x0 < 1 or y0 < 1 or x1 + 1 >= width or y1 + 1 >= height:  # its ring, the floor grown by one
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


def _room_overlaps(blueprint: Blueprint, grid: TileGrid) -> Iterator[str]:
    if grid.covered != grid.room_area:
        x, y = grid.first_overlap(blueprint.rooms)
        yield f"rooms overlap at {x},{y}"


def _corridors(_: Blueprint, grid: TileGrid) -> Iterator[str]:
    """Corridor tiles are on the map and outside every room's floor and ring."""
    if grid.off_map:
        yield f"{grid.off_map} corridor tiles off the map"
    elif grid.breaks_in is not None:
        yield f"a corridor breaks into a room at {grid.breaks_in[0]},{grid.breaks_in[1]}"


def _door_rule(blueprint: Blueprint, grid: TileGrid) -> Iterator[str]:
    """Each door stands in its room's wall ring (not in a corner), between two walls along
    the wall, with walkable tiles on its two other sides."""
    cells, stride, rooms = grid.cells, grid.stride, blueprint.rooms
    for door in blueprint.doors:
        x, y = door.pos
        if grid.on_map(x, y):
            cell = (y + 1) * stride + x
            left, right = cells[cell - 1] >= FLOOR, cells[cell + 1] >= FLOOR
            up, down = cells[cell - stride] >= FLOOR, cells[cell + stride] >= FLOOR
            across = (left and right and not up and not down) or (up and down and not left and not right)
        else:
            across = False
        if not across:
            yield f"door {door.id} at {x},{y} is not between two walls"
        x0, y0, x1, y1 = rooms[door.room].floor
        if not ((x in (x0 - 1, x1 + 1) and y0 <= y <= y1) or (y in (y0 - 1, y1 + 1) and x0 <= x <= x1)):
            yield f"door {door.id} is not in the wall of r{door.room}"


def _placements(blueprint: Blueprint, grid: TileGrid) -> Iterator[str]:
    """Entrance, exit, keys, treasure and enemies each on a floor tile of their own room;
    no enemy in the entrance room."""
    locks, population, rooms = blueprint.locks, blueprint.population, blueprint.rooms
    things: list[tuple[str, int, Point]] = [
        ("entrance", locks.entrance.room, locks.entrance.pos),
        ("exit", locks.exit.room, locks.exit.pos),
    ]
    things += [(item.id, item.room, item.pos) for item in locks.keys + population.treasures]
    things += [(enemy.id, enemy.room, enemy.pos) for enemy in population.enemies]
    cells, stride = grid.cells, grid.stride
    for name, room, (x, y) in things:
        if not (rooms[room].floor.contains(x, y) and cells[(y + 1) * stride + x] == FLOOR):
            yield f"{name} is not on the floor of room r{room}"
    if len({pos for _, _, pos in things}) != len(things):
        yield "two things share a tile"
    if any(enemy.room == locks.entrance.room for enemy in population.enemies):
        yield "an enemy in the entrance room"


def summarise(failures: list[str]) -> str:
    """A short reason for a failed attempt: the first failure, and how many more."""
    more = f" and {len(failures) - 1} more" if len(failures) > 1 else ""
    return f"{failures[0]}{more}"
