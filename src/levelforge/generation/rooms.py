"""carve_rooms: one room per region, a floor of at least 3x3 with a wall ring around it.

On a side that faces a shared line the wall stands at least one tile inside the region,
so the line itself stays free for corridors; on the map border the wall may stand on the
edge. Rooms of different regions are therefore separated by at least one free tile.

Themes shape the rooms: ``dungeon`` rooms are rectangles filling most of their region,
``crypt`` rooms are small rectangles (leaving rock for winding corridors), ``cave`` rooms
are caverns: a rectangle with its corners bitten away in steps (see ``Room``).
"""

from __future__ import annotations

from collections.abc import Callable

from levelforge.generation.blueprint import Layout, Rect, Room, Span
from levelforge.generation.seeding import Dice

Random = Callable[[], float]
Sizing = Callable[[int, Random], int]
"""How long a floor is along an axis, given the room there is for it."""

MAX_SIDE = 24
"""Floors are at most this many tiles along a side; big regions get rock around them."""
CRYPT_MAX_SIDE = 9
"""Crypt rooms are small: at most this many tiles along a side."""


def carve_rooms(layout: Layout, theme: str, dice: Dice) -> tuple[Room, ...]:
    """A room in every region of ``layout``, numbered in region order."""
    width, height, random = layout.width, layout.height, dice.random
    sizing: Sizing = _crypt_length if theme == "crypt" else _dungeon_length
    rooms = []
    for index, region in enumerate(layout.regions):
        rx0, ry0, rx1, ry1 = region
        x0, x1 = _span(rx0, rx1, width, sizing, random)
        y0, y1 = _span(ry0, ry1, height, sizing, random)
        floor = Rect(x0, y0, x1, y1)
        spans = cavern(floor, dice) if theme == "cave" else None
        rooms.append(Room(index, region, floor, spans))
    return tuple(rooms)


def _dungeon_length(room: int, random: Random) -> int:
    longest = min(room, MAX_SIDE)
    shortest = min(max(3, room * 3 // 5), longest)
    return shortest + int(random() * (longest - shortest + 1))


def _crypt_length(room: int, random: Random) -> int:
    return 3 + int(random() * (max(3, min(room * 3 // 5, CRYPT_MAX_SIDE)) - 2))


def _span(low: int, high: int, size: int, sizing: Sizing, random: Random) -> Span:
    """A floor range between the region lines ``low`` and ``high``. (Draws are
    ``Dice.between`` written out, the same numbers: this runs twice a room.)"""
    first = low + (1 if low == 0 else 2)
    last = high - (1 if high == size - 1 else 2)
    length = sizing(last - first + 1, random)
    start = first + int(random() * (last - length + 2 - first))
    return start, start + length - 1


def cavern(floor: Rect, dice: Dice) -> tuple[Span, ...] | None:
    """Row spans of a cavern filling ``floor``'s bounds, or ``None`` when too small to
    carve. A band of at least three full rows stays whole (the 3x3 square, and the left
    and right sides touched); above and below it each row is the one nearer the band
    narrowed by 0-2 tiles on each side, never below one tile, so rows and columns are
    unbroken runs and the first and last rows are floor; the outermost row is always
    narrowed, so a cavern is never a plain rectangle."""
    if floor.w < 5 or floor.h < 4:
        return None
    band = max(3, floor.h * 2 // 5)
    top = dice.between(floor.y0, floor.y1 - band + 1)
    rows: dict[int, Span] = {y: (floor.x0, floor.x1) for y in range(top, top + band)}
    for ys in (range(top - 1, floor.y0 - 1, -1), range(top + band, floor.y1 + 1)):
        first, last = floor.x0, floor.x1
        for y in ys:
            first, last = _narrowed(first, last, dice, outermost=y in (floor.y0, floor.y1))
            rows[y] = (first, last)
    return tuple(rows[y] for y in range(floor.y0, floor.y1 + 1))


def _narrowed(first: int, last: int, dice: Dice, *, outermost: bool) -> Span:
    """A row 0-2 tiles narrower on each side; the outermost row at least one narrower."""
    room = last - first
    cut_first = min(dice.below(3), room // 2)
    cut_last = min(dice.below(3), room - cut_first)
    if outermost and cut_first + cut_last == 0 and room:
        cut_first = 1
    return first + cut_first, last - cut_last


def pick_free_tile(room: Room, taken: set[tuple[int, int]], dice: Dice) -> tuple[int, int]:
    """A floor tile of ``room`` not in ``taken`` (which it joins): a row, then a tile in it
    (``dice.between`` written out, the same draws: this runs for every placed thing; the
    compiled core's ``pick_tile`` is the same)."""
    floor, spans, random = room.floor, room.spans, dice.random
    x0, y0, x1, y1 = floor
    for _ in range(8):
        y = y0 + int(random() * (y1 - y0 + 1))
        first, last = (x0, x1) if spans is None else spans[y - y0]
        tile = (first + int(random() * (last - first + 1)), y)
        if tile not in taken:
            taken.add(tile)
            return tile
    return _first_free_tile(room, taken)


def _first_free_tile(room: Room, taken: set[tuple[int, int]]) -> tuple[int, int]:
    """The first floor tile of ``room``, row by row, not in ``taken`` (which it joins)."""
    floor = room.floor
    for y in range(floor.y0, floor.y1 + 1):
        first, last = room.row(y)
        for x in range(first, last + 1):
            if (x, y) not in taken:
                taken.add((x, y))
                return x, y
    raise ValueError(f"no free tile left in {room.id}")
