"""connect_rooms: a spanning tree of corridors, plus extra connections for loops.

Two rooms can be connected when their regions share a stretch of a line. The corridor
leaves room ``a`` through a door in the wall facing that line, runs straight to the line,
along the line to the row (or column) of a door of room ``b``, and straight into it.
The line tiles and the stubs lie outside every wall ring (see ``rooms``), so a corridor
never touches a floor except through its doors; corridors that meet on a line simply
join, which only ever adds ways around and never a way past a door.

Loops go where they save the longest detours: the spare contacts whose rooms are farthest
apart in the tree come first, one loop per room until every room has had its chance.
Themes shape the corridors (see ``corridors``): straight in a dungeon, winding in a crypt,
ragged in a cave.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Sequence
from typing import NamedTuple

from levelforge.generation.blueprint import Corridor, Layout, Network, Room, Span
from levelforge.generation.corridors import Shaper, shaper_for
from levelforge.generation.seeding import Dice


class Contact(NamedTuple):
    """Regions ``a`` (left or above) and ``b`` share ``line`` (an x if ``vertical``)."""

    a: int
    b: int
    vertical: bool
    line: int


Slots = dict[tuple[int, str], set[int]]
"""Door positions used so far on each (room, side): a row or a column of its wall."""


def connect_rooms(layout: Layout, rooms: Sequence[Room], loops: float, theme: str, dice: Dice) -> Network:
    """Corridors joining every room, and ``round(loops x rooms)`` more where contacts allow."""
    contacts = find_contacts(layout)
    _shuffle(contacts, dice)
    tree, spare = _spanning_tree(len(rooms), contacts)
    extra = _loop_contacts(len(rooms), tree, spare, min(round(loops * len(rooms)), len(spare)))
    shaper = shaper_for(theme, layout, rooms, dice)
    slots: Slots = {}
    corridors = [
        _route(rooms, contact, slots, dice, shaper, index, loop=index >= len(tree))
        for index, contact in enumerate(tree + extra)
    ]
    return Network(tuple(corridors), len(extra), len(spare))


def find_contacts(layout: Layout) -> list[Contact]:
    """Every pair of regions sharing at least one interior tile's worth of a line.

    Regions that start on one line tile it without overlapping, so sorted along the line
    their ends are sorted too: the ones a region meets are found by bisection."""
    starts_x: dict[int, list[tuple[int, int, int]]] = {}
    starts_y: dict[int, list[tuple[int, int, int]]] = {}
    for index, (x0, y0, x1, y1) in enumerate(layout.regions):
        starts_x.setdefault(x0, []).append((y0, y1, index))
        starts_y.setdefault(y0, []).append((x0, x1, index))
    for along in (*starts_x.values(), *starts_y.values()):
        along.sort()
    ends_x = {line: [end for _, end, _ in along] for line, along in starts_x.items()}
    ends_y = {line: [end for _, end, _ in along] for line, along in starts_y.items()}
    contacts = []
    for index, (x0, y0, x1, y1) in enumerate(layout.regions):
        if x1 in starts_x:
            for other in _meeting(starts_x[x1], ends_x[x1], y0, y1):
                contacts.append(Contact(index, other, True, x1))
        if y1 in starts_y:
            for other in _meeting(starts_y[y1], ends_y[y1], x0, x1):
                contacts.append(Contact(index, other, False, y1))
    return contacts


def _meeting(along: list[tuple[int, int, int]], ends: list[int], low: int, high: int) -> list[int]:
    """The regions of ``along`` (sorted (start, end, index) on one line, with their
    ``ends``) sharing at least three tiles (two steps) with ``low … high``."""
    found = []
    for i in range(bisect.bisect_right(ends, low + 1), len(along)):
        start, end, index = along[i]
        if start > high - 2:
            break
        if min(high, end) - max(low, start) >= 2:
            found.append(index)
    return found


def _shuffle(items: list[Contact], dice: Dice) -> None:
    """Fisher-Yates with ``dice``."""
    for i in range(len(items) - 1, 0, -1):
        j = dice.below(i + 1)
        items[i], items[j] = items[j], items[i]


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


def _loop_contacts(count: int, tree: list[Contact], spare: list[Contact], wanted: int) -> list[Contact]:
    """The ``wanted`` spare contacts that shorten the longest detours: by tree distance
    between their rooms, longest first, at most one new loop per room on a first pass."""
    if wanted <= 0:
        return []
    depth, parent = _rooted(count, tree)

    def detour(contact: Contact) -> int:
        a, b, steps = contact.a, contact.b, 0
        while depth[a] > depth[b]:
            a, steps = parent[a], steps + 1
        while depth[b] > depth[a]:
            b, steps = parent[b], steps + 1
        while a != b:
            a, b, steps = parent[a], parent[b], steps + 2
        return steps

    ranked = sorted(range(len(spare)), key=lambda i: -detour(spare[i]))
    chosen: list[int] = []
    used: set[int] = set()
    for i in ranked:
        if spare[i].a not in used and spare[i].b not in used:
            chosen.append(i)
            used.update((spare[i].a, spare[i].b))
            if len(chosen) == wanted:
                break
    if len(chosen) < wanted:
        picked = set(chosen)
        chosen += [i for i in ranked if i not in picked][: wanted - len(chosen)]
    return [spare[i] for i in sorted(chosen)]


def _rooted(count: int, tree: list[Contact]) -> tuple[list[int], list[int]]:
    """Depth and parent of every room in the tree rooted at room 0."""
    links: list[list[int]] = [[] for _ in range(count)]
    for contact in tree:
        links[contact.a].append(contact.b)
        links[contact.b].append(contact.a)
    depth, parent = [-1] * count, [-1] * count
    depth[0] = 0
    queue = deque([0])
    while queue:
        room = queue.popleft()
        for other in links[room]:
            if depth[other] < 0:
                depth[other], parent[other] = depth[room] + 1, room
                queue.append(other)
    return depth, parent


def openings(room: Room, side: str) -> Span:
    """The positions along ``side`` (E, W: rows; N, S: columns) where a door opens onto
    floor: all of the side for a rectangle, where the cavern touches it otherwise."""
    floor = room.floor
    if side in ("E", "W"):
        if room.spans is None:
            return floor.y0, floor.y1
        edge = floor.x1 if side == "E" else floor.x0
        rows = [y for y, span in enumerate(room.spans, floor.y0) if edge in span]
        return rows[0], rows[-1]
    return room.row(floor.y0 if side == "N" else floor.y1)


def _route(
    rooms: Sequence[Room],
    contact: Contact,
    slots: Slots,
    dice: Dice,
    shaper: Shaper,
    index: int,
    *,
    loop: bool,
) -> Corridor:
    """The corridor for ``contact``, worked out along the line (u across, v along)."""
    fa, fb = rooms[contact.a].floor, rooms[contact.b].floor
    sides = ("E", "W") if contact.vertical else ("S", "N")
    a_range, b_range = openings(rooms[contact.a], sides[0]), openings(rooms[contact.b], sides[1])
    a_end, b_start = (fa.x1, fb.x0) if contact.vertical else (fa.y1, fb.y0)
    low, high = max(a_range[0], b_range[0]), min(a_range[1], b_range[1])
    nearest_end = a_range[1] if b_range[0] > a_range[1] else a_range[0]
    want = dice.between(low, high) if low <= high else nearest_end
    va = _take_slot(a_range, want, slots.setdefault((contact.a, sides[0]), set()))
    vb = _take_slot(b_range, va, slots.setdefault((contact.b, sides[1]), set()))
    line = contact.line
    step = 1 if vb >= va else -1
    if contact.vertical:
        segments = [
            [(u, va) for u in range(a_end + 2, line)],
            [(line, v) for v in range(va, vb + step, step)],
            [(u, vb) for u in range(line + 1, b_start - 1)],
        ]
        door_a, door_b = (a_end + 1, va), (b_start - 1, vb)
    else:
        segments = [
            [(va, u) for u in range(a_end + 2, line)],
            [(v, line) for v in range(va, vb + step, step)],
            [(vb, u) for u in range(line + 1, b_start - 1)],
        ]
        door_a, door_b = (va, a_end + 1), (vb, b_start - 1)
    route, tiles = shaper.shape(segments)
    return Corridor(index, contact.a, contact.b, door_a, door_b, tiles, loop, route)


def _take_slot(span: Span, want: int, used: set[int]) -> int:
    """The position nearest ``want`` in ``span`` for a door: an existing door there, or a
    free one not next to another door (doors in one wall never touch)."""
    low, high = span
    want = min(max(want, low), high)
    for distance in range(high - low + 1):
        for v in (want - distance, want + distance):
            if low <= v <= high and (v in used or (v - 1 not in used and v + 1 not in used)):
                used.add(v)
                return v
    raise AssertionError("a wall always has a door position")
