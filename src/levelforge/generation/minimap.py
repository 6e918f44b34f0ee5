"""render_ascii_minimap: one character a tile, ``height`` lines of ``width`` characters.

Walls are exactly the tiles that are not walkable and touch (8-adjacent) a walkable one:
a room's wall ring (where it touches its floor), and the tiles around corridors. The grid
is drawn with whole-map operations on the grid of bytes (see ``grid``), never tile by
tile; then doors, the entrance, the exit, items and enemies are set one by one.
"""

from __future__ import annotations

from levelforge.generation.blueprint import Blueprint
from levelforge.generation.grid import grid_of


def render_minimap(blueprint: Blueprint) -> str:
    grid = grid_of(blueprint)
    rows, stride = grid.minimap_rows(), grid.stride
    locks, population = blueprint.locks, blueprint.population
    for door in blueprint.doors:
        x, y = door.pos
        rows[y * stride + x] = _LOCKED if door.key is not None else _OPEN
    for (x, y), char in ((locks.entrance.pos, _ENTRANCE), (locks.exit.pos, _EXIT)):
        rows[y * stride + x] = char
    for item in locks.keys + population.treasures:
        x, y = item.pos
        rows[y * stride + x] = _KEY if item.kind == "key" else _TREASURE
    for enemy in population.enemies:
        x, y = enemy.pos
        rows[y * stride + x] = _BOSS if enemy.boss else _ENEMY
    return rows.decode("ascii")


_OPEN, _LOCKED, _ENTRANCE, _EXIT, _KEY, _TREASURE, _ENEMY, _BOSS = b"+L@>k$eB"
