"""connect_rooms: a spanning tree of corridors, plus extra connections for loops.

Two rooms can be connected when their regions share a stretch of a line. The corridor
leaves room ``a`` through a door in the wall facing that line, runs straight to the line,
along the line to the row (or column) of a door of room ``b``, and straight into it.
The line tiles and the stubs lie outside every wall ring (see ``rooms``), so a corridor
never touches a floor except through its doors; corridors that meet on a line simply
join, which only ever adds ways around and never a way past a door.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from levelforge.generation.blueprint import Corridor, Layout, Network, Room


@dataclass(frozen=True, slots=True)
class Contact:
    """Regions ``a`` (left or above) and ``b`` share ``line`` (an x if ``vertical``)."""

    a: int
    b: int
    vertical: bool
    line: int


Slots = dict[tuple[int, str], set[int]]
"""Door positions used so far on each (room, side): a row or a column of its wall."""


def connect_rooms(layout: Layout, rooms: Sequence[Room], loops: float, rng: random.Random) -> Network:
    """Corridors joining every room, and about ``round(loops x rooms)`` more."""
    contacts = find_contacts(layout)
    rng.shuffle(contacts)
    tree, spare = _spanning_tree(len(rooms), contacts)
    extra = spare[: min(round(loops * len(rooms)), len(spare))]
    slots: Slots = {}
    corridors = [
        _route(rooms, contact, slots, rng, index, loop=index >= len(tree))
        for index, contact in enumerate(tree + extra)
    ]
    return Network(tuple(corridors), len(extra))


def find_contacts(layout: Layout) -> list[Contact]:
    """Every pair of regions sharing at least one interior tile's worth of a line."""
    starts_x: dict[int, list[int]] = {}
    starts_y: dict[int, list[int]] = {}
    for index, region in enumerate(layout.regions):
        starts_x.setdefault(region.x0, []).append(index)
        starts_y.setdefault(region.y0, []).append(index)
    regions = layout.regions
    contacts = []
    for index, region in enumerate(regions):
        for other in starts_x.get(region.x1, ()):
            if min(region.y1, regions[other].y1) - max(region.y0, regions[other].y0) >= 2:
                contacts.append(Contact(index, other, vertical=True, line=region.x1))
        for other in starts_y.get(region.y1, ()):
            if min(region.x1, regions[other].x1) - max(region.x0, regions[other].x0) >= 2:
                contacts.append(Contact(index, other, vertical=False, line=region.y1))
    return contacts


def _spanning_tree(count: int, contacts: list[Contact]) -> tuple[list[Contact], list[Contact]]:
    """Kruskal over ``contacts`` in their order: (tree edges, the others)."""
    parent = list(range(count))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    tree, spare = [], []
    for contact in contacts:
        ra, rb = root(contact.a), root(contact.b)
        if ra == rb:
            spare.append(contact)
        else:
            parent[ra] = rb
            tree.append(contact)
    return tree, spare


def _route(
    rooms: Sequence[Room],
    contact: Contact,
    slots: Slots,
    rng: random.Random,
    index: int,
    *,
    loop: bool,
) -> Corridor:
    """The corridor for ``contact``, worked out along the line (u across, v along)."""
    fa, fb = rooms[contact.a].floor, rooms[contact.b].floor
    if contact.vertical:
        a_range, b_range, a_end, b_start = (fa.y0, fa.y1), (fb.y0, fb.y1), fa.x1, fb.x0
        sides = ("E", "W")
    else:
        a_range, b_range, a_end, b_start = (fa.x0, fa.x1), (fb.x0, fb.x1), fa.y1, fb.y0
        sides = ("S", "N")
    low, high = max(a_range[0], b_range[0]), min(a_range[1], b_range[1])
    nearest_end = a_range[1] if b_range[0] > a_range[1] else a_range[0]
    want = rng.randint(low, high) if low <= high else nearest_end
    va = _take_slot(a_range, want, slots.setdefault((contact.a, sides[0]), set()))
    vb = _take_slot(b_range, va, slots.setdefault((contact.b, sides[1]), set()))
    line = contact.line
    step = 1 if vb >= va else -1
    uv = [(u, va) for u in range(a_end + 2, line)]
    uv += [(line, v) for v in range(va, vb + step, step)]
    uv += [(u, vb) for u in range(line + 1, b_start - 1)]
    door_a, door_b = (a_end + 1, va), (b_start - 1, vb)
    if not contact.vertical:
        uv = [(v, u) for u, v in uv]
        door_a, door_b = (va, a_end + 1), (vb, b_start - 1)
    return Corridor(index, contact.a, contact.b, door_a, door_b, tuple(uv), loop)


def _take_slot(span: tuple[int, int], want: int, used: set[int]) -> int:
    """The position nearest ``want`` in ``span`` for a door: an existing door there, or a
    free one not next to another door (doors in one wall never touch)."""
    low, high = span
    want = min(max(want, low), high)
    for distance in range(high - low + 1):
        for v in (want - distance, want + distance):
            if low <= v <= high and (v in used or not {v - 1, v + 1} & used):
                used.add(v)
                return v
    raise AssertionError("a wall of 3 or more tiles always has a door position")

