"""render_ascii_minimap: one character a tile, ``height`` lines of ``width`` characters.

Walls are exactly the tiles that are not walkable and touch (8-adjacent) a walkable one:
a room's wall ring (where it touches its floor), and the tiles around corridors. The grid
is drawn with whole-array NumPy operations (see ``grid``), never tile by tile.
"""

from __future__ import annotations

import numpy as np

from levelforge.generation.blueprint import Blueprint, Point
from levelforge.generation.grid import as_points, grid_of, touching


def render_minimap(blueprint: Blueprint) -> str:
    walkable = grid_of(blueprint).walkable
    height, width = walkable.shape
    chars = np.full((height, width + 1), ord(" "), dtype=np.uint8)
    chars[:, width] = ord("\n")
    body = chars[:, :width]
    body[touching(walkable)] = ord("#")
    body[walkable] = ord(".")
    locks, population = blueprint.locks, blueprint.population
    marks: list[tuple[Point, str]] = [
        (door.pos, "L" if door.key is not None else "+") for door in blueprint.doors
    ]
    marks += [(locks.entrance.pos, "@"), (locks.exit.pos, ">")]
    marks += [(item.pos, "k" if item.kind == "key" else "$") for item in locks.keys + population.treasures]
    marks += [(enemy.pos, "B" if enemy.boss else "e") for enemy in population.enemies]
    points = as_points([pos for pos, _ in marks])
    body[points[:, 1], points[:, 0]] = np.frombuffer("".join(c for _, c in marks).encode(), dtype=np.uint8)
    return chars.tobytes().decode("ascii")
