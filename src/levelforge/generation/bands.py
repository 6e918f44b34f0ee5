"""The banded layout: one in which every prefab copy surely fits and faces ordinary rooms.

Each copy goes in a band along the edge of the map that faces one of its door sides: a
copy with a door on its south side in the top band, north in the bottom band, east in
the left column, west in the right column. The columns run the map's whole height, the
top and bottom bands between them; each band is as deep as its deepest copy needs, and
its copies lie side by side along it, each in a region of its own. What the bands leave
in the middle is split into the ordinary rooms (``layout``'s split). Every copy's door
side then looks onto the middle, so some ordinary room is always across its line.

Whether the bands fit depends only on the spec's sizes, so the same plan decides at
submission whether a spec's prefabs fit at all (``spec``'s 422), and makes the layout of
last resort when random layouts give a prefab no room (``design``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from levelforge.generation.blueprint import Layout, Rect
from levelforge.generation.layout import _split, capacity
from levelforge.generation.prefabs import Prefab
from levelforge.generation.seeding import Dice

BAND_OF_SIDE = {"S": "top", "N": "bottom", "E": "left", "W": "right"}
EXIT_STAND_IN = Prefab(-1, "", ("#+++#", "+...+", "+...+", "+...+", "#+++#"), 1, "exit")
"""The exit in a band of its own beside the copies (a 3x3 floor, open on every side), so
that every room of the middle is one a copy off the path may hang off."""


class Bands(NamedTuple):
    """Where every copy goes (its region), and the middle left for the ordinary rooms."""

    copies: tuple[tuple[Prefab, Rect], ...]
    middle: Rect


def plan_bands(
    width: int, height: int, rooms: int, copies: Sequence[Prefab], *, spread: bool = False
) -> Bands | tuple[Prefab, str]:
    """The bands of ``copies`` (largest first), or the copy that cannot be placed and why;
    with ``spread``, each copy that may stand on the path put along the longer sides
    where it can be, and the spare length of each band dealt out evenly among its copies
    (else the last one takes it all)."""
    bands: dict[str, list[Prefab]] = {"top": [], "bottom": [], "left": [], "right": []}
    load = dict.fromkeys(bands, 0)
    for prefab in copies:
        inside_w, inside_h = prefab.inside
        choices = [BAND_OF_SIDE[side] for side in ("S", "E", "N", "W") if prefab.door_offsets(side)]
        band = min(
            choices,
            key=lambda b: (spread and _away(b, prefab, width, height), _share(b, load, width, height)),
        )
        bands[band].append(prefab)
        load[band] += (inside_w if band in ("top", "bottom") else inside_h) + 3
    top = max((p.inside[1] for p in bands["top"]), default=-2) + 2
    bottom = height - 1 - (max((p.inside[1] for p in bands["bottom"]), default=-2) + 2)
    left = max((p.inside[0] for p in bands["left"]), default=-2) + 2
    right = width - 1 - (max((p.inside[0] for p in bands["right"]), default=-2) + 2)
    middle = Rect(left, top, right, bottom)
    if right - left < 5 or bottom - top < 5 or capacity(middle, width, height) < rooms - len(copies):
        return copies[0], (
            f"the prefabs leave too little of {width}x{height} for the other {rooms - len(copies)} rooms"
        )
    placed: list[tuple[Prefab, Rect]] = []
    for band, members in bands.items():
        if not members:
            continue
        across = band in ("top", "bottom")
        low, high, size = (left, right, width) if across else (top, bottom, height)
        spans = _pack(low, high, size, [p.inside[0] if across else p.inside[1] for p in members], spread)
        if spans is None:
            return members[-1], f"the prefabs placed along the {band} of the map do not fit along it"
        if not across:  # the columns run the whole height
            spans[0], spans[-1] = (0, spans[0][1]), (spans[-1][0], height - 1)
        placed += [
            (prefab, _region(band, start, end, middle, width, height))
            for prefab, (start, end) in zip(members, spans, strict=True)
        ]
    return Bands(tuple(placed), middle)


def _share(band: str, load: dict[str, int], width: int, height: int) -> float:
    return load[band] / (width if band in ("top", "bottom") else height)


def _away(band: str, prefab: Prefab, width: int, height: int) -> bool:
    """Whether ``band`` is not where a spread copy is best: one that may stand on the path
    along the map's longer sides (it faces the most rooms in a row there), a ``side`` one
    along the shorter."""
    along_long = (band in ("top", "bottom")) == (width >= height)
    return along_long == (prefab.placement == "side")


def _region(band: str, start: int, end: int, middle: Rect, width: int, height: int) -> Rect:
    """The region of a copy along ``band`` from line ``start`` to line ``end``."""
    left, top, right, bottom = middle
    if band == "top":
        return Rect(start, 0, end, top)
    if band == "bottom":
        return Rect(start, bottom, end, height - 1)
    if band == "left":
        return Rect(0, start, left, end)
    return Rect(right, start, width - 1, end)


def _pack(
    low: int, high: int, size: int, lengths: Sequence[int], spread: bool = False
) -> list[tuple[int, int]] | None:
    """Consecutive spans of lines ``low … high``, each with room for a floor of its length
    (as ``rooms`` carves: two tiles in from a shared line, one from the map's edge), with
    ``spread`` each longer by an even share of the spare lines; the last one runs to ``high``."""
    extra = 0
    if spread:
        needed = sum(lengths) + 3 * len(lengths) - (low == 0) + (1 if high == size - 1 else 2)
        extra = max(0, high - low - needed) // len(lengths)
    spans = []
    start = low
    for length in lengths:
        end = start + (1 if start == 0 else 2) + length + 1 + extra
        spans.append((start, end))
        start = end
    last_start = spans[-1][0]
    floor_last = high - (1 if high == size - 1 else 2)
    if floor_last < last_start + (1 if last_start == 0 else 2) + lengths[-1] - 1:
        return None
    spans[-1] = (last_start, high)
    return spans


def banded_layout(
    width: int, height: int, rooms: int, copies: Sequence[Prefab], dice: Dice, *, spread: bool = False
) -> tuple[Layout, dict[int, Prefab]] | None:
    """The banded layout, the middle split into the ordinary rooms, and the copy in each
    prefab region (by region index); ``None`` when the bands do not fit. With ``spread``
    as ``plan_bands``: each copy's share of its band longer, so it faces more rooms."""
    bands = plan_bands(width, height, rooms, copies, spread=spread)
    if not isinstance(bands, Bands):
        return None
    regions: list[Rect] = []
    pending = [(bands.middle, rooms - len(copies))]
    while pending:
        rect, count = pending.pop()
        if count == 1:
            regions.append(rect)
            continue
        pending.extend(_split(rect, count, width, height, dice))
    owner = {region: prefab for prefab, region in bands.copies}
    regions += list(owner)
    regions.sort(key=lambda r: (r.y0, r.x0))
    prefab_of = {index: owner[region] for index, region in enumerate(regions) if region in owner}
    return Layout(width, height, tuple(regions)), prefab_of
