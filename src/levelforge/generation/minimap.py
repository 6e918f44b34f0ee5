"""render_ascii_minimap: one character a tile, ``height`` lines of ``width`` characters.

Walls are exactly the tiles that are not walkable and touch (8-adjacent) a walkable one:
a room's wall ring, and the tiles around corridors. Rooms are drawn a row at a time and
corridors a tile at a time; nothing walks the whole grid.
"""

from __future__ import annotations

from levelforge.generation.blueprint import Blueprint, Point

ROCK, WALL, FLOOR = ord(" "), ord("#"), ord(".")
_AROUND = tuple((dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy)


def render_minimap(blueprint: Blueprint) -> str:
    width, height = blueprint.layout.width, blueprint.layout.height
    rows = [bytearray(b" " * width) for _ in range(height)]
    _draw_rooms(rows, blueprint)
    _draw_corridors(rows, blueprint, width, height)
    for door in blueprint.doors:
        _put(rows, door.pos, "L" if door.key is not None else "+")
    locks, population = blueprint.locks, blueprint.population
    _put(rows, locks.entrance.pos, "@")
    _put(rows, locks.exit.pos, ">")
    for item in locks.keys + population.treasures:
        _put(rows, item.pos, "k" if item.kind == "key" else "$")
    for enemy in population.enemies:
        _put(rows, enemy.pos, "B" if enemy.boss else "e")
    return "".join(row.decode("ascii") + "\n" for row in rows)


def _draw_rooms(rows: list[bytearray], blueprint: Blueprint) -> None:
    for room in blueprint.rooms:
        floor, ring = room.floor, room.floor.grown(1)
        rows[ring.y0][ring.x0 : ring.x1 + 1] = b"#" * ring.w
        rows[ring.y1][ring.x0 : ring.x1 + 1] = b"#" * ring.w
        line = b"#" + b"." * floor.w + b"#"
        for y in range(floor.y0, floor.y1 + 1):
            rows[y][ring.x0 : ring.x1 + 1] = line


def _draw_corridors(rows: list[bytearray], blueprint: Blueprint, width: int, height: int) -> None:
    tiles = {tile for corridor in blueprint.network.corridors for tile in corridor.tiles}
    for x, y in tiles:
        for dx, dy in _AROUND:
            nx, ny = x + dx, y + dy
            if 0 <= nx < width and 0 <= ny < height and rows[ny][nx] == ROCK:
                rows[ny][nx] = WALL
        rows[y][x] = FLOOR


def _put(rows: list[bytearray], pos: Point, char: str) -> None:
    rows[pos[1]][pos[0]] = ord(char)
