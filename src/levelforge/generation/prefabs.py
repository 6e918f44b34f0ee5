"""Prefabs (CONTRACT §4.1): designer rooms drawn as text, placed unrotated as rooms.

A drawn map is a border of ``#`` (wall) and ``+`` (door positions) around the inside,
which is the room's floor exactly: ``.`` floor, ``$`` treasure, ``e`` enemy, ``B`` boss.
A copy placed with its floor's top-left tile at ``(x0, y0)`` has its door positions on
each side at fixed tiles of its wall ring; only those are ever doors, and a corridor
reaches the room only through one of them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from levelforge.generation.blueprint import Rect

SIDES = ("N", "S", "W", "E")


class Prefab(NamedTuple):
    """One prefab of the spec: its name, drawn rows, copies and placement."""

    index: int  # type: ignore[assignment]  # hides tuple.index, which nothing uses
    name: str
    rows: tuple[str, ...]
    copies: int
    placement: str

    @property
    def inside(self) -> tuple[int, int]:
        """The floor's width and height."""
        return len(self.rows[0]) - 2, len(self.rows) - 2

    def door_offsets(self, side: str) -> tuple[int, ...]:
        """The door positions of ``side`` as offsets along it from the floor's first tile
        (a column offset on N and S, a row offset on W and E)."""
        return _door_offsets(self.rows, side)

    @property
    def door_sides(self) -> tuple[str, ...]:
        return tuple(side for side in SIDES if self.door_offsets(side))

    @property
    def walkable(self) -> bool:
        """Whether a copy can be walked through: entered by one door and left by another
        apart from it (on two sides, or two door positions on one side not next to each
        other, since the doors of one wall never touch)."""
        return walkable(self.rows)

    def things(self) -> list[tuple[int, int, str]]:
        """The drawn treasures, enemies and boss: (column, row) offsets in the floor and
        the character, row by row."""
        return [
            (x - 1, y - 1, char)
            for y, row in enumerate(self.rows[1:-1], 1)
            for x, char in enumerate(row[1:-1], 1)
            if char != "."
        ]


def walkable(rows: Sequence[str]) -> bool:
    """Whether a drawn map can be walked through (``Prefab.walkable``)."""
    sides = [_door_offsets(tuple(rows), side) for side in SIDES]
    used = [offsets for offsets in sides if offsets]
    return len(used) >= 2 or (len(used) == 1 and used[0][-1] - used[0][0] >= 2)


@functools.lru_cache(maxsize=1024)
def _door_offsets(rows: tuple[str, ...], side: str) -> tuple[int, ...]:
    if side in ("N", "S"):
        line = rows[0] if side == "N" else rows[-1]
        return tuple(x - 1 for x, char in enumerate(line) if char == "+")
    column = 0 if side == "W" else len(rows[0]) - 1
    return tuple(y - 1 for y, row in enumerate(rows) if row[column] == "+")


def prefabs_of(spec: Mapping[str, Any]) -> tuple[Prefab, ...]:
    """The prefabs of a normalised spec (none when it has none)."""
    return tuple(
        Prefab(index, raw["name"], tuple(raw["map"]), raw["count"], raw["placement"])
        for index, raw in enumerate(spec.get("prefabs", ()))
    )


def copies_of(prefabs: Sequence[Prefab]) -> list[Prefab]:
    """Every copy to place, one entry a copy, the largest first (then in spec order)."""
    copies = [prefab for prefab in prefabs for _ in range(prefab.copies)]
    copies.sort(key=lambda p: (-p.inside[0] * p.inside[1], p.index))
    return copies


def door_tiles(prefab: Prefab, floor: Rect, side: str) -> tuple[int, ...]:
    """The door positions of ``side`` of a copy whose floor is ``floor``: rows (W, E) or
    columns (N, S) of its wall ring."""
    start = floor.y0 if side in ("W", "E") else floor.x0
    return tuple(start + offset for offset in prefab.door_offsets(side))
