"""carve_rooms: one room per region, a floor of at least 3x3 with a wall ring around it.

On a side that faces a shared line the wall stands at least one tile inside the region,
so the line itself stays free for corridors; on the map border the wall may stand on the
edge. Rooms of different regions are therefore separated by at least one free tile.
"""

from __future__ import annotations

import random

from levelforge.generation.blueprint import Layout, Rect, Room

MAX_SIDE = 24
"""Floors are at most this many tiles along a side; big regions get rock around them."""


def carve_rooms(layout: Layout, rng: random.Random) -> tuple[Room, ...]:
    """A room in every region of ``layout``, numbered in region order."""
    return tuple(
        Room(index, region, _floor(region, layout.width, layout.height, rng))
        for index, region in enumerate(layout.regions)
    )


def _floor(region: Rect, width: int, height: int, rng: random.Random) -> Rect:
    x0, x1 = _span(region.x0, region.x1, width, rng)
    y0, y1 = _span(region.y0, region.y1, height, rng)
    return Rect(x0, y0, x1, y1)


def _span(low: int, high: int, size: int, rng: random.Random) -> tuple[int, int]:
    """A floor range between the region lines ``low`` and ``high``."""
    first = low + (1 if low == 0 else 2)
    last = high - (1 if high == size - 1 else 2)
    room = last - first + 1
    longest = min(room, MAX_SIDE)
    length = rng.randint(min(max(3, room * 3 // 5), longest), longest)
    start = rng.randint(first, last - length + 1)
    return start, start + length - 1


def pick_free_tile(floor: Rect, taken: set[tuple[int, int]], rng: random.Random) -> tuple[int, int]:
    """A floor tile of ``floor`` not in ``taken`` (which it joins)."""
    for _ in range(8):
        tile = (rng.randint(floor.x0, floor.x1), rng.randint(floor.y0, floor.y1))
        if tile not in taken:
            taken.add(tile)
            return tile
    for y in range(floor.y0, floor.y1 + 1):
        for x in range(floor.x0, floor.x1 + 1):
            if (x, y) not in taken:
                taken.add((x, y))
                return x, y
    raise ValueError(f"no free tile left in {floor}")
