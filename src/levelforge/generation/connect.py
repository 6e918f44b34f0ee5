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
import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from itertools import repeat
from types import ModuleType
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


Slots = defaultdict[tuple[int, str], set[int]]
"""Door positions used so far on each (room, side): a row or a column of its wall."""
COMPILED: ContextVar[ModuleType | None] = ContextVar("levelforge_connect_compiled", default=None)
"""The compiled core while the compiled pipeline runs the Python steps of a designed
level (see ``pipeline``): ``find_contacts`` and ``_route`` then hand their work to its
versions of them (``_core.find_contacts``, ``_core.route``: the same results, the same
draws). ``None``, the default: these pure-Python ones do it."""


def connect_rooms(layout: Layout, rooms: Sequence[Room], loops: float, theme: str, dice: Dice) -> Network:
    """Corridors joining every room, and ``round(loops x rooms)`` more where contacts allow."""
    contacts = find_contacts(layout)
    _shuffle(contacts, dice)
    tree, spare = _spanning_tree(len(rooms), contacts)
    extra = _loop_contacts(len(rooms), tree, spare, min(round(loops * len(rooms)), len(spare)))
    shaper = shaper_for(theme, layout, rooms, dice)
    slots: Slots = defaultdict(set)
    corridors = [
        _route(rooms, contact, slots, dice, shaper, index, loop=index >= len(tree))
        for index, contact in enumerate(tree + extra)
    ]
    return Network(tuple(corridors), len(extra), len(spare))


def find_contacts(layout: Layout) -> list[Contact]:
    """Every pair of regions sharing at least one interior tile's worth of a line.

    Regions that start on one line tile it without overlapping, so sorted along the line
    their ends are sorted too: the ones a region meets are found by bisection."""
    compiled = COMPILED.get()
    if compiled is not None:
        found: list[Contact] = compiled.find_contacts(layout.regions, Contact)
        return found
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
            meeting = _meeting(starts_x[x1], ends_x[x1], y0, y1)
            contacts += [Contact(index, other, True, x1) for other in meeting]
        if y1 in starts_y:
            meeting = _meeting(starts_y[y1], ends_y[y1], x0, x1)
            contacts += [Contact(index, other, False, y1) for other in meeting]
    return contacts


def _meeting(along: list[tuple[int, int, int]], ends: list[int], low: int, high: int) -> list[int]:
    """The regions of ``along`` (sorted (start, end, index) on one line, with their
    ``ends``) sharing at least three tiles (two steps) with ``low … high``."""
    found = []
    for start, end, index in itertools.islice(along, bisect.bisect_right(ends, low + 1), None):
        if start > high - 2:
            break
        if (high if high < end else end) - (low if low > start else start) >= 2:
            found.append(index)
    return found


def _shuffle(items: list[Contact], dice: Dice) -> None:
    """Fisher-Yates with ``dice`` (``dice.below(i + 1)`` written out: the same draws)."""
    random = dice.random
    for i in range(len(items) - 1, 0, -1):
        j = int(random() * (i + 1))
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
        return _tree_distance(depth, parent, contact.a, contact.b)

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


def _tree_distance(depth: list[int], parent: list[int], a: int, b: int) -> int:
    """Steps between rooms ``a`` and ``b`` along the tree (``_rooted``'s depths and parents)."""
    steps = 0
    while depth[a] > depth[b]:
        a, steps = parent[a], steps + 1
    while depth[b] > depth[a]:
        b, steps = parent[b], steps + 1
    while a != b:
        a, b, steps = parent[a], parent[b], steps + 2
    return steps


def _rooted(count: int, tree: list[Contact]) -> tuple[list[int], list[int]]:
    """Depth and parent of every room in the tree rooted at room 0."""
    links: list[list[int]] = [[] for _ in range(count)]
    for a, b, _, _ in tree:
        links[a].append(b)
        links[b].append(a)
    return _rooted_links(links)


def _rooted_links(links: list[list[int]]) -> tuple[list[int], list[int]]:
    """``_rooted`` of the tree whose rooms' neighbours are ``links`` (made from its
    contacts in order, as there)."""
    count = len(links)
    depth, parent = [-1] * count, [-1] * count
    depth[0] = 0
    queue = [0]  # read while it grows: breadth-first without a deque
    for room in queue:
        below = depth[room] + 1
        for other in links[room]:
            if depth[other] < 0:
                depth[other], parent[other] = below, room
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
    fixed: Mapping[tuple[int, str], tuple[int, ...]] | None = None,
) -> Corridor:
    """The corridor for ``contact``, worked out along the line (u across, v along).
    ``fixed`` holds the only door positions of some (room, side) walls (prefabs)."""
    compiled = COMPILED.get()
    if compiled is not None:
        corridor: Corridor = compiled.route(rooms, contact, slots, dice, shaper, index, loop, fixed)
        return corridor
    a, b, vertical, line = contact
    room_a, room_b = rooms[a], rooms[b]
    fa, fb = room_a.floor, room_b.floor
    if vertical:  # rectangles open along all of a side; caverns where they touch it
        side_a, side_b, a_end, b_start = "E", "W", fa.x1, fb.x0
        a_low, a_high = (fa.y0, fa.y1) if room_a.spans is None else openings(room_a, side_a)
        b_low, b_high = (fb.y0, fb.y1) if room_b.spans is None else openings(room_b, side_b)
    else:
        side_a, side_b, a_end, b_start = "S", "N", fa.y1, fb.y0
        a_low, a_high = (fa.x0, fa.x1) if room_a.spans is None else openings(room_a, side_a)
        b_low, b_high = (fb.x0, fb.x1) if room_b.spans is None else openings(room_b, side_b)
    if fixed is not None:
        a_low, a_high = _fixed_span(fixed.get((a, side_a)), a_low, a_high)
        b_low, b_high = _fixed_span(fixed.get((b, side_b)), b_low, b_high)
    low, high = max(a_low, b_low), min(a_high, b_high)
    nearest_end = a_high if b_low > a_high else a_low
    want = dice.between(low, high) if low <= high else nearest_end
    if fixed is None:
        va = _take_slot(a_low, a_high, want, slots[a, side_a])
        vb = _take_slot(b_low, b_high, va, slots[b, side_b])
    else:
        va = _take_fixed(fixed.get((a, side_a)), a_low, a_high, want, slots[a, side_a])
        vb = _take_fixed(fixed.get((b, side_b)), b_low, b_high, va, slots[b, side_b])
    along = range(va, vb + 1) if vb >= va else range(va, vb - 1, -1)
    stub_a, stub_b = range(a_end + 2, line), range(line + 1, b_start - 1)
    if vertical:
        segments = [[*zip(stub_a, repeat(va))], [*zip(repeat(line), along)], [*zip(stub_b, repeat(vb))]]
        door_a, door_b = (a_end + 1, va), (b_start - 1, vb)
    else:
        segments = [[*zip(repeat(va), stub_a)], [*zip(along, repeat(line))], [*zip(repeat(vb), stub_b)]]
        door_a, door_b = (va, a_end + 1), (vb, b_start - 1)
    route, tiles = shaper.shape(segments)
    return Corridor(index, a, b, door_a, door_b, tiles, loop, route)


def _fixed_span(positions: tuple[int, ...] | None, low: int, high: int) -> tuple[int, int]:
    return (low, high) if positions is None else (min(positions), max(positions))


def _take_fixed(positions: tuple[int, ...] | None, low: int, high: int, want: int, used: set[int]) -> int:
    """As ``_take_slot``, among the drawn door positions when the wall has them: the one
    nearest ``want`` that is in use already or touches none in use (one always is: a
    drawn position next to one in use can share that one)."""
    if positions is None:
        return _take_slot(low, high, want, used)
    usable = [v for v in positions if v in used or (v - 1 not in used and v + 1 not in used)]
    chosen = min(usable, key=lambda v: (abs(v - want), v))
    used.add(chosen)
    return chosen


def _take_slot(low: int, high: int, want: int, used: set[int]) -> int:
    """The position nearest ``want`` in ``low … high`` for a door: an existing door there,
    or a free one not next to another door (doors in one wall never touch)."""
    want = low if want < low else high if want > high else want
    if want in used or (want - 1 not in used and want + 1 not in used):  # mostly, at once
        used.add(want)
        return want
    for distance in range(1, high - low + 1):
        for v in (want - distance, want + distance):
            if low <= v <= high and (v in used or (v - 1 not in used and v + 1 not in used)):
                used.add(v)
                return v
    raise AssertionError("a wall always has a door position")
