"""The level as one flat grid of bytes, for ``validate`` and the minimap.

``cells`` holds ``height + 2`` rows of ``width + 1`` cells, row after row: a guard row
above and below the map, and a guard cell at the end of each row. Tile ``(x, y)`` is
cell ``(y + 1) * stride + x``. Guards are never painted, so every tile next to the map
(``x`` or ``y`` one off it) is a rock cell, and two tiles are neighbours exactly when
their cells are 1 or ``stride`` apart. A grid of bytes is painted a row run at a time
(``bytearray`` slice assignment, a C copy), which on the maps of this service is several
times cheaper than NumPy's per-call overhead, and it is the minimap's own layout: the
minimap is the grid translated, the guard cells becoming ``\\n``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence

from levelforge.generation.blueprint import Blueprint, Corridor, Point, Room

ROCK, WALL, FLOOR, CORRIDOR, DOOR = range(5)
"""Cell codes. ``WALL``: inside a room's floor rectangle grown by one (its ring and, in a
cavern, the corners the cavern leaves out) but not its floor. Walkable: ``FLOOR`` and up."""


class TileGrid:
    """The painted grid of a blueprint whose rooms lie on the map, with what could not be
    painted: ``covered`` (tiles under some room's rectangle; less than ``room_area``, the
    sum of the rectangles' areas, when rooms overlap), corridor tiles ``off_map`` (a count)
    and the first corridor tile that ``breaks_in`` to a room (``None`` if none)."""

    __slots__ = ("breaks_in", "cells", "covered", "height", "off_map", "room_area", "stride", "width")

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height, self.stride = width, height, width + 1
        self.cells = bytearray((height + 2) * self.stride)
        self.room_area = self.covered = self.off_map = 0
        self.breaks_in: Point | None = None

    def on_map(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height

    def paint_rooms(self, rooms: Iterable[Room]) -> None:
        """Each room's rectangle grown by one as ``WALL``, its floor as ``FLOOR``; then count
        the tiles covered (one C count), which falls short of the areas on an overlap."""
        cells, stride = self.cells, self.stride
        area = 0
        for room in rooms:
            x0, y0, x1, y1 = room.floor
            across = x1 - x0 + 3
            top = y0 * stride + x0 - 1
            bottom = top + (y1 - y0 + 2) * stride
            ring = _walls(across)
            cells[top : top + across] = cells[bottom : bottom + across] = ring
            if room.spans is None:
                middle = _row(across)
                for row in range(top + stride, bottom, stride):
                    cells[row : row + across] = middle
            else:
                for row, (first, last) in zip(range(top + stride, bottom, stride), room.spans, strict=True):
                    cells[row : row + across] = (
                        ring[: first - x0 + 1] + bytes([FLOOR]) * (last - first + 1) + ring[: x1 - last + 1]
                    )
            area += across * (y1 - y0 + 3)
        self.room_area = area
        self.covered = len(cells) - cells.count(ROCK)

    def paint_corridors(self, corridors: Iterable[Corridor]) -> None:
        """Corridor tiles on rock (or on another corridor) as ``CORRIDOR``; the others are
        counted in ``off_map`` or noted in ``breaks_in``, and left unpainted."""
        cells, stride, width, height = self.cells, self.stride, self.width, self.height
        for x, y in itertools.chain.from_iterable(corridor.tiles for corridor in corridors):
            if not (0 <= x < width and 0 <= y < height):
                self.off_map += 1
                continue
            cell = (y + 1) * stride + x
            if cells[cell] in (ROCK, CORRIDOR):
                cells[cell] = CORRIDOR
            elif self.breaks_in is None:
                self.breaks_in = (x, y)

    def paint_doors(self, doors: Iterable[Point]) -> None:
        """Door tiles that lie on the map as ``DOOR``."""
        cells, stride, width, height = self.cells, self.stride, self.width, self.height
        for x, y in doors:
            if 0 <= x < width and 0 <= y < height:
                cells[(y + 1) * stride + x] = DOOR

    def first_overlap(self, rooms: Sequence[Room]) -> Point:
        """The first tile (row by row) that two rooms' rectangles grown by one share (only
        when they overlap): each row of each rectangle looks for tiles already covered
        before it covers them, and the least of the first such tiles wins."""
        stride = self.stride
        seen = bytearray(len(self.cells))
        found: list[int] = []
        for room in rooms:
            x0, y0, x1, y1 = room.floor.grown(1)
            for row in range((y0 + 1) * stride + x0, (y1 + 2) * stride + x0, stride):
                hit = seen.find(1, row, row + x1 - x0 + 1)
                if hit >= 0:
                    found.append(hit)
                seen[row : row + x1 - x0 + 1] = b"\x01" * (x1 - x0 + 1)
        first = min(found)
        return first % stride, first // stride - 1

    def minimap_rows(self) -> bytearray:
        """The tiles as minimap characters, ``height`` rows of ``width`` and a newline:
        floor, corridors and doors ``.``, the tiles touching them (8-adjacent) ``#``, rock
        `` ``. The touching tiles are found on the grid read as one big integer, a byte a
        cell: shifted by a cell and by a row and OR-ed (a dozen C operations on the whole
        map, no Python work per tile); no tile's neighbour wraps onto another row, since
        guards stand between rows."""
        size, stride = len(self.cells), self.stride
        walkable = int.from_bytes(self.cells.translate(_WALKABLE_BIT), "big")
        across = walkable | walkable << 8 | walkable >> 8
        near = across | across << (8 * stride) | across >> (8 * stride)
        levels = (walkable + (near & ((1 << (8 * size)) - 1))).to_bytes(size, "big")
        rows = bytearray(levels[stride : size - stride].translate(_MINIMAP_CHARS))
        rows[self.width :: stride] = b"\n" * self.height
        return rows


@functools.cache
def _walls(across: int) -> bytes:
    """A row of a room's rectangle grown by one, ``across`` cells, all ``WALL``."""
    return bytes([WALL]) * across


@functools.cache
def _row(across: int) -> bytes:
    """A row of a rectangular room's grown rectangle through its floor: wall, floor, wall."""
    return bytes([WALL]) + bytes([FLOOR]) * (across - 2) + bytes([WALL])


_WALKABLE_BIT = bytes(int(code >= FLOOR) for code in range(256))
_MINIMAP_CHARS = b" #." + bytes(253)
"""Per cell: 0 nothing near, 1 next to a walkable tile, 2 walkable."""


def grid_of(blueprint: Blueprint) -> TileGrid:
    """The grid of ``blueprint``, built once and kept in its memo (for ``validate``, then
    the minimap). Only for blueprints whose rooms lie on the map."""
    grid = blueprint.memo.get("grid")
    if not isinstance(grid, TileGrid):
        grid = blueprint.memo["grid"] = build_grid(blueprint)
    return grid


def build_grid(blueprint: Blueprint) -> TileGrid:
    grid = TileGrid(blueprint.layout.width, blueprint.layout.height)
    grid.paint_rooms(blueprint.rooms)
    grid.paint_corridors(blueprint.network.corridors)
    grid.paint_doors(door.pos for door in blueprint.doors)
    return grid
