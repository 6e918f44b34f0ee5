"""How each theme shapes a corridor's straight segments (stub, line run, stub).

- ``dungeon``: straight, one tile wide.
- ``crypt``: narrow and winding: the way steps aside by one tile for a stretch of two to
  five tiles and back, leaving a pillar of rock beside it.
- ``cave``: ragged: it winds now and then, and pairs of tiles are added beside it, so
  its walls are irregular.

A tile may be used only where it is *free*: on the map and outside every room's floor and
wall ring; on a designed level also neither on nor beside a corridor made before
(``keep_off``), so that corridors never touch there. Every tile added keeps at least two
walkable neighbours, so no shape ever makes a dead end: a side step returns to the line it
left, and widening adds side-by-side pairs next to two tiles of the way.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from levelforge.generation.blueprint import Layout, Point, Room
from levelforge.generation.seeding import Dice

Segment = list[Point]


class Shaper:
    """Straight corridors (the dungeon); the base of the other themes. Holds the map of
    free tiles (``free_tiles``), from which each corridor made takes itself and the tiles
    beside it (``keep_off``)."""

    def __init__(self, free: bytearray, width: int) -> None:
        self.free, self.width = free, width

    def is_free(self, tile: Point) -> bool:
        return self.free[tile[1] * self.width + tile[0]] == 1

    def clear(self, segments: Sequence[Segment]) -> bool:
        """Whether every tile of ``segments`` is free: the way touches no other corridor."""
        free, width = self.free, self.width
        return all(free[y * width + x] for segment in segments for x, y in segment)

    def keep_off(self, tiles: Sequence[Point]) -> None:
        """Take ``tiles`` (a corridor just made) and the four tiles beside each off the
        free map: no later corridor runs on them or beside them."""
        free, width = self.free, self.width
        for x, y in tiles:
            cell = y * width + x
            free[cell] = free[cell - 1] = free[cell + 1] = free[cell - width] = free[cell + width] = 0

    def shape(self, segments: Sequence[Segment]) -> tuple[int, tuple[Point, ...]]:
        """(route length, every tile): the way in order, then any widening."""
        first, line, last = segments
        route = (*first, *line, *last)
        return len(route), route


class WindingShaper(Shaper):
    """Side steps (crypt and cave) and, with ``widen``, side-by-side pairs (cave)."""

    def __init__(self, free: bytearray, width: int, dice: Dice, *, wind: float, widen: float) -> None:
        super().__init__(free, width)
        self.dice, self.wind, self.widen = dice, wind, widen

    def shape(self, segments: Sequence[Segment]) -> tuple[int, tuple[Point, ...]]:
        route: list[Point] = []
        for segment in segments:
            route += self._wound(segment) if len(segment) >= 5 else segment
        route = list(dict.fromkeys(route))
        if not self.widen:
            return len(route), tuple(route)
        return len(route), tuple(dict.fromkeys(route + self._widening(route)))

    def _wound(self, base: Segment) -> Segment:
        """``base`` with side steps: from ``base[i]`` aside for ``length + 1`` tiles and
        back at ``base[i + length]``; never from the first tile or the one just returned
        to, always back before the last."""
        (x0, y0), (x1, y1) = base[0], base[1]
        normal = (y1 - y0, x1 - x0)
        dice, out, count, i, back = self.dice, [], len(base), 0, 0
        while i < count:
            out.append(base[i])
            if back < i < count - 3 and dice.chance(self.wind):
                length = dice.between(2, min(5, count - i - 2))
                side = 1 if dice.chance(0.5) else -1
                dx, dy = normal[0] * side, normal[1] * side
                aside = [(x + dx, y + dy) for x, y in base[i : i + length + 1]]
                if all(map(self.is_free, aside)):
                    out += aside
                    i += length
                    back = i
                    continue
            i += 1
        return out

    def _widening(self, route: Segment) -> Segment:
        """Pairs of tiles beside pairs of neighbouring tiles of the way."""
        dice, added = self.dice, list[Point]()
        on_route = set(route)
        for (x0, y0), (x1, y1) in itertools.pairwise(route):
            if abs(x1 - x0) + abs(y1 - y0) != 1 or not dice.chance(self.widen):
                continue
            side = 1 if dice.chance(0.5) else -1
            dx, dy = (y1 - y0) * side, (x1 - x0) * side
            pair = ((x0 + dx, y0 + dy), (x1 + dx, y1 + dy))
            if all(tile not in on_route and self.is_free(tile) for tile in pair):
                added += pair
        return added


def shaper_for(
    theme: str, layout: Layout, rooms: Sequence[Room], dice: Dice, free: bytearray | None = None
) -> Shaper:
    """The theme's shaper, on ``free`` (``free_tiles``, made here when not given)."""
    free = free_tiles(layout, rooms) if free is None else free
    if theme == "crypt":
        return WindingShaper(free, layout.width, dice, wind=0.3, widen=0.0)
    if theme == "cave":
        return WindingShaper(free, layout.width, dice, wind=0.12, widen=0.35)
    return Shaper(free, layout.width)


def free_tiles(layout: Layout, rooms: Sequence[Room]) -> bytearray:
    """1 for every tile a corridor may use, 0 on a room's floor or ring and on the map's
    edge, row by row (``y * width + x``)."""
    width, height = layout.width, layout.height
    free = bytearray(b"\x01" * (width * height))
    edge = bytes(width)
    free[0:width] = edge
    free[(height - 1) * width : height * width] = edge
    free[0::width] = bytes(height)
    free[width - 1 :: width] = bytes(height)
    for room in rooms:
        ring = room.floor.grown(1)
        blocked = bytes(ring.w)
        for y in range(ring.y0, ring.y1 + 1):
            free[y * width + ring.x0 : y * width + ring.x1 + 1] = blocked
    return free
