"""The level as NumPy tile grids, for ``validate`` and the minimap.

Rooms are drawn all at once, row runs summed with a difference array (see ``_covered``),
corridor and door tiles by fancy indexing: no Python work per tile, and a fixed number of
array operations however many rooms there are.
Only integer and boolean work is done, so the results are the same on every machine.
Arrays are indexed ``[y, x]``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from levelforge.generation.blueprint import Blueprint, Point

IntGrid = npt.NDArray[np.int32]
BoolGrid = npt.NDArray[np.bool_]
Points = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TileGrid:
    """``rooms``: how many rooms' floor-and-ring rectangles cover each tile (more than one
    is an overlap); ``room_floor``: floor tiles of rooms; ``corridor_points``: every
    corridor tile as an ``(n, 2)`` array of ``x, y``; ``walkable``: floor, corridors and
    doors that lie on the map."""

    rooms: IntGrid
    room_floor: BoolGrid
    corridor_points: Points
    walkable: BoolGrid


def grid_of(blueprint: Blueprint) -> TileGrid:
    """The grid of ``blueprint``, built once and kept in its memo (for ``validate``, then
    the minimap). Only for blueprints whose rooms lie on the map."""
    grid = blueprint.memo.get("grid")
    if not isinstance(grid, TileGrid):
        grid = blueprint.memo["grid"] = build_grid(blueprint)
    return grid


def build_grid(blueprint: Blueprint) -> TileGrid:
    width, height = blueprint.layout.width, blueprint.layout.height
    rings: list[int] = []
    floors: list[int] = []
    spans: list[int] = []
    for room in blueprint.rooms:
        x0, y0, x1, y1 = room.floor
        rings += (x0 - 1, y0 - 1, x1 + 1, y1 + 1)
        if room.spans is None:
            floors += (x0, y0, x1, y1)
        else:
            for y, (first, last) in enumerate(room.spans, y0):
                spans += (first, y, last, y)
    rooms = _covered(rings, width, height)
    room_floor = _covered(floors + spans, width, height) > 0
    points = corridor_points(blueprint)
    walkable = room_floor.copy()
    _mark(walkable, points)
    _mark(walkable, door_points(blueprint))
    return TileGrid(rooms, room_floor, points, walkable)


def _covered(rects: list[int], width: int, height: int) -> IntGrid:
    """How many of the inclusive rectangles ``x0, y0, x1, y1`` (flattened, four numbers
    each), all on the map, cover each tile. Every rectangle is cut into its rows; each
    row adds one where it starts and takes one away just past its end, and one running
    sum over the whole grid, row after row, adds up each row (a row's two marks lie in
    that row, so nothing carries over into the next). A fixed number of array operations
    however many rooms there are."""
    stride, size = width + 1, height * (width + 1)
    if not rects:
        return np.zeros((height, width), dtype=np.int32)
    x0, y0, x1, y1 = np.fromiter(rects, dtype=np.int64, count=len(rects)).reshape(-1, 4).T
    tall = y1 - y0 + 1
    which = np.repeat(np.arange(len(tall)), tall)
    rows = (y0[which] + np.arange(len(which)) - np.repeat(np.cumsum(tall) - tall, tall)) * stride
    marks = np.bincount(np.concatenate((rows + x0[which], rows + x1[which] + 1 + size)), minlength=2 * size)
    counts = (marks[:size] - marks[size:]).astype(np.int32).cumsum(dtype=np.int32)
    return counts.reshape(height, stride)[:, :width]


def _mark(grid: BoolGrid, points: Points) -> None:
    """Set the points that lie on the map."""
    height, width = grid.shape
    xs, ys = points[:, 0], points[:, 1]
    inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    grid[ys[inside], xs[inside]] = True


def corridor_points(blueprint: Blueprint) -> Points:
    tiles = [tile for corridor in blueprint.network.corridors for tile in corridor.tiles]
    return as_points(tiles)


def door_points(blueprint: Blueprint) -> Points:
    return as_points([door.pos for door in blueprint.doors])


def as_points(tiles: list[Point]) -> Points:
    """``tiles`` as an ``(n, 2)`` array (read straight from the tuples: several times
    quicker than ``np.array`` on a list of tuples)."""
    flat = np.fromiter(itertools.chain.from_iterable(tiles), dtype=np.int64, count=2 * len(tiles))
    return flat.reshape(-1, 2)


def padded(grid: BoolGrid) -> BoolGrid:
    """``grid`` with a border of ``False`` one tile wide."""
    height, width = grid.shape
    out = np.zeros((height + 2, width + 2), dtype=np.bool_)
    out[1:-1, 1:-1] = grid
    return out


def touching(walkable: BoolGrid) -> BoolGrid:
    """Tiles with a walkable tile among their eight neighbours or on themselves."""
    around = padded(walkable)
    rows = around[:, :-2] | around[:, 1:-1] | around[:, 2:]
    return rows[:-2] | rows[1:-1] | rows[2:]
