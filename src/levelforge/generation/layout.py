"""plan_layout: split the map into exactly ``rooms`` rectangular regions.

Regions share their border lines, and every room keeps one free tile between its wall
and a shared line, so every shared line is free for corridors. A region therefore spans
at least 6 tiles along each axis between two shared lines (line, wall, 3 floor, wall,
line), one less for each side on the map border, where the wall may stand on the edge.

The number of regions a span holds side by side is ``(span + borders) // 6``; a region
count fits a rectangle when it is at most the product over both axes. Every spec that
fits (rooms x 64 ≤ width x height, sides ≥ 16) fits this way, and every split below keeps
both halves fitting, so the recursion never fails — thin maps included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from levelforge.generation.blueprint import Layout, Rect
from levelforge.generation.connect import COMPILED
from levelforge.generation.seeding import Dice

MIN_SPAN = 6
"""Tiles between two shared lines that one region needs: line, wall, 3 floor, wall."""


def plan_layout(spec: dict[str, Any], rng: Dice) -> Layout:
    """Partition ``width x height`` into exactly ``spec["rooms"]`` regions (on the compiled
    core while it plans a designed level: ``connect.COMPILED``)."""
    compiled = COMPILED.get()
    if compiled is not None:
        layout: Layout = compiled.plan_layout(spec, rng)
        return layout
    width, height, count = spec["width"], spec["height"], spec["rooms"]
    if capacity(Rect(0, 0, width - 1, height - 1), width, height) < count:
        raise ValueError(f"{count} regions do not fit in {width}x{height}")
    return partition(width, height, count, lambda rect, n: _split(rect, n, width, height, rng))


def partition(
    width: int, height: int, count: int, split: Callable[[Rect, int], Iterable[tuple[Rect, int]]]
) -> Layout:
    """The map cut by ``split`` (a rectangle and its region count → its parts and theirs,
    the last part cut next) until each region holds one room, sorted top to bottom."""
    regions: list[Rect] = []
    pending = [(Rect(0, 0, width - 1, height - 1), count)]
    while pending:
        rect, n = pending.pop()
        if n == 1:
            regions.append(rect)
            continue
        pending.extend(split(rect, n))
    regions.sort(key=lambda r: (r.y0, r.x0))
    return Layout(width, height, tuple(regions))


def _fit(low: int, high: int, size: int) -> int:
    """How many regions fit side by side between lines ``low`` and ``high``."""
    return (high - low + (low == 0) + (high == size - 1)) // MIN_SPAN


def capacity(rect: Rect, width: int, height: int) -> int:
    """The most regions ``rect`` can be split into."""
    return _fit(rect.x0, rect.x1, width) * _fit(rect.y0, rect.y1, height)


def _split(
    rect: Rect, n: int, width: int, height: int, rng: Dice
) -> tuple[tuple[Rect, int], tuple[Rect, int]]:
    x0, y0, x1, y1 = rect
    across_x = _fit(x0, x1, width)
    across_y = _fit(y0, y1, height)
    w, h = x1 - x0 + 1, y1 - y0 + 1
    if across_x >= 2 and (across_y < 2 or rng.random() < w * w / (w * w + h * h)):
        n1, line = _cut(x0, x1, width, across_y, n, rng)
        return (Rect(x0, y0, line, y1), n1), (Rect(line, y0, x1, y1), n - n1)
    n1, line = _cut(y0, y1, height, across_x, n, rng)
    return (Rect(x0, y0, x1, line), n1), (Rect(x0, line, x1, y1), n - n1)


def _cut(low: int, high: int, size: int, cross: int, n: int, rng: Dice) -> tuple[int, int]:
    """Choose how many regions go to the low side and the line that splits ``low … high``.

    ``cross`` is how many regions fit across the other axis, so a side holding ``m``
    regions needs ``ceil(m / cross)`` spans of ``MIN_SPAN`` along this one (``-(-m //
    cross)``, written out: this runs once a region).
    """
    slots = _fit(low, high, size)
    n1 = min(max(round(n * (0.35 + 0.3 * rng.random())), 1), n - 1)
    if -(-n1 // cross) - (-(n - n1) // cross) > slots:
        columns = -(-n // cross)
        n1 = cross * min(max(round(columns * (0.35 + 0.3 * rng.random())), 1), columns - 1)
    first = low + MIN_SPAN * -(-n1 // cross) - (low == 0)
    last = high - MIN_SPAN * -(-(n - n1) // cross) + (high == size - 1)
    target = low + (high - low) * n1 // n
    jitter = (last - first) // 6
    line = target - jitter + int(rng.random() * (2 * jitter + 1))
    return n1, min(max(line, first), last)
