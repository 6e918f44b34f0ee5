"""connect_rooms: a spanning tree of corridors, plus extra connections for loops.

Two rooms can be connected when their regions share a stretch of a line. The corridor
leaves room ``a`` through a door in the wall facing that line, runs straight to the line,
along the line to the row (or column) of a door of room ``b``, and straight into it.
The line tiles and the stubs lie outside every wall ring (see ``rooms``), so a corridor
never touches a floor except through its doors. On a plain level corridors that meet on
a line simply join, which only ever adds ways around. A designed level's are kept apart
(``route_apart``): other doors whose way is clear, or the way round with the fewest turns
(``fewest_turns``), or, for a loop, none; so it is walked as its room graph says.

Loops go where they save the longest detours: the spare contacts whose rooms are farthest
apart in the tree come first, one loop per room until every room has had its chance.
Themes shape the corridors (see ``corridors``): straight in a dungeon, winding in a crypt,
ragged in a cave.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from itertools import repeat
from types import ModuleType
from typing import NamedTuple

from levelforge.generation.blueprint import Corridor, Layout, Network, Point, Room, Span
from levelforge.generation.corridors import Segment, Shaper, shaper_for
from levelforge.generation.seeding import Dice


class Contact(NamedTuple):
    """Regions ``a`` (left or above) and ``b`` share ``line`` (an x if ``vertical``)."""

    a: int
    b: int
    vertical: bool
    line: int


Slots = defaultdict[tuple[int, str], set[int]]
"""Door positions used so far on each (room, side): a row or a column of its wall."""
Walls = Mapping[tuple[int, str], tuple[int, ...]]
"""Door positions by (room, side) wall: the only ones the wall has (a prefab's)."""
COMPILED: ContextVar[ModuleType | None] = ContextVar("levelforge_connect_compiled", default=None)
"""The compiled core while the compiled pipeline runs the Python steps of a designed
level (see ``pipeline``): ``find_contacts`` and ``route_apart`` here, and the planner's,
the doors' and the contents' costliest functions elsewhere (``design``, ``doors``,
``contents``, ``rooms``), then hand their work to its versions of them (``_core``: the
same results, the same draws). ``None``, the default: the pure-Python ones do it."""


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
    fixed: Walls | None = None,
) -> Corridor:
    """The corridor for ``contact``, worked out along the line (u across, v along).
    ``fixed`` holds the only door positions of some (room, side) walls (prefabs)."""
    corridor = _laid(rooms, contact, slots, dice, shaper, index, loop, fixed, None, apart=False)
    assert corridor is not None, "only a corridor kept apart can be left out"
    return corridor


def route_apart(
    rooms: Sequence[Room],
    contact: Contact,
    slots: Slots,
    dice: Dice,
    shaper: Shaper,
    index: int,
    *,
    loop: bool,
    fixed: Walls | None,
    only: Walls | None,
) -> Corridor | None:
    """``_route`` for a designed level, whose corridors never touch one another: the doors
    nearest the wanted place whose way along the line is clear of the corridors made
    before (``Shaper.clear``); when there are none, the shortest way between any free door
    positions of the two rooms (``_maze_route``; ``only``: the walls, and their positions,
    a room must be left by when it has some there). When that fails too, a loop is left
    out (``None``); a corridor of the tree takes the nearest doors, touches another, and
    ``validate`` refuses the level (another attempt). The corridor's tiles and those
    beside them are then taken off the free map (``Shaper.keep_off``)."""
    compiled = COMPILED.get()
    if compiled is not None:
        made: Corridor | None = compiled.route_apart(
            rooms, contact, slots, dice, shaper, index, loop, fixed, only
        )
        return made
    return _laid(rooms, contact, slots, dice, shaper, index, loop, fixed, only, apart=True)


def _laid(
    rooms: Sequence[Room],
    contact: Contact,
    slots: Slots,
    dice: Dice,
    shaper: Shaper,
    index: int,
    loop: bool,
    fixed: Walls | None,
    only: Walls | None,
    *,
    apart: bool,
) -> Corridor | None:
    """``_route`` (``apart`` false) or ``route_apart``."""
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
    drawn_a = drawn_b = None
    if fixed is not None:
        drawn_a, drawn_b = fixed.get((a, side_a)), fixed.get((b, side_b))
        a_low, a_high = _fixed_span(drawn_a, a_low, a_high)
        b_low, b_high = _fixed_span(drawn_b, b_low, b_high)
    low, high = max(a_low, b_low), min(a_high, b_high)
    nearest_end = a_high if b_low > a_high else a_low
    want = dice.between(low, high) if low <= high else nearest_end
    used_a, used_b = slots[a, side_a], slots[b, side_b]
    va = next(_positions(drawn_a, a_low, a_high, want, used_a))
    vb = next(_positions(drawn_b, b_low, b_high, va, used_b))
    segments = _segments(vertical, line, a_end, b_start, va, vb)
    if apart and not shaper.clear(segments):
        for other in _positions(drawn_a, a_low, a_high, want, used_a):
            near = next(_positions(drawn_b, b_low, b_high, other, used_b))
            way = _segments(vertical, line, a_end, b_start, other, near)
            if shaper.clear(way):
                va, vb, segments = other, near, way
                break
        else:
            maze = _maze_route(rooms, a, b, slots, shaper, fixed, only)
            if maze is not None:
                (door_a, door_b), tiles, route = maze
                shaper.keep_off(tiles)
                return Corridor(index, a, b, door_a, door_b, tiles, loop, route)
            if loop:
                return None
    used_a.add(va)
    used_b.add(vb)
    if vertical:
        door_a, door_b = (a_end + 1, va), (b_start - 1, vb)
    else:
        door_a, door_b = (va, a_end + 1), (vb, b_start - 1)
    route, tiles = shaper.shape(segments)
    if apart:
        shaper.keep_off(tiles)
    return Corridor(index, a, b, door_a, door_b, tiles, loop, route)


def _segments(vertical: bool, line: int, a_end: int, b_start: int, va: int, vb: int) -> list[Segment]:
    """The way from door ``va`` of ``a`` to door ``vb`` of ``b``: the stub out of ``a``, the
    run along the line, the stub into ``b``."""
    along = range(va, vb + 1) if vb >= va else range(va, vb - 1, -1)
    stub_a, stub_b = range(a_end + 2, line), range(line + 1, b_start - 1)
    if vertical:
        return [[*zip(stub_a, repeat(va))], [*zip(repeat(line), along)], [*zip(stub_b, repeat(vb))]]
    return [[*zip(repeat(va), stub_a)], [*zip(along, repeat(line))], [*zip(repeat(vb), stub_b)]]


MAZE_TURNS = 2
"""The most turns a maze route of a dungeon may make: its corridors run straight, an L or a
Z at most, as its line routes do."""
WALL_SIDES = ("N", "S", "W", "E")
"""The walls a maze route may leave a room by, in the order their doors are tried."""


def _maze_route(
    rooms: Sequence[Room],
    a: int,
    b: int,
    slots: Slots,
    shaper: Shaper,
    walls: Walls | None,
    only: Walls | None,
) -> tuple[tuple[Point, Point], tuple[Point, ...], int] | None:
    """((door of ``a``, door of ``b``), the corridor's tiles, its route length): over free
    tiles (``shaper``'s map: off every corridor made and the tiles beside it) inside the
    two rooms' regions, the way with the fewest turns, the shortest of those, from the tile
    outside a free door position of ``a`` (``_doorways``) to the tile outside one of
    ``b``, shaped by the theme (its straight runs wound, widened); the two doors are then
    taken (``slots``). ``None`` when the free tiles join no such two, or (a dungeon) the
    way turns more than ``MAZE_TURNS`` times. Ties go to the lower cell and step numbers:
    the same way for the same map."""
    width = shaper.width
    starts = dict(_doorways(rooms[a], slots, shaper, walls, only))
    goals = dict(_doorways(rooms[b], slots, shaper, walls, only))
    ra, rb = rooms[a].region, rooms[b].region
    box = (min(ra.x0, rb.x0), min(ra.y0, rb.y0), max(ra.x1, rb.x1), max(ra.y1, rb.y1))
    compiled = COMPILED.get()
    search = fewest_turns if compiled is None else compiled.fewest_turns
    found: tuple[int, list[int]] | None = search(shaper.free, width, list(starts), set(goals), box)
    if found is None or (type(shaper) is Shaper and found[0] > MAZE_TURNS):
        return None
    way = found[1]
    (side_a, va, door_a), (side_b, vb, door_b) = starts[way[0]], goals[way[-1]]
    slots[a, side_a].add(va)
    slots[b, side_b].add(vb)
    tiles = [(number % width, number // width) for number in way]
    if type(shaper) is Shaper:
        return (door_a, door_b), tuple(tiles), len(tiles)
    route, shaped = shaper.shape(_runs(tiles))  # the theme's windings, off the corridors too
    return (door_a, door_b), shaped, route


def _runs(way: list[Point]) -> list[Segment]:
    """``way`` cut into its straight runs (a new one after each turn), for a shaper."""
    runs = [way[:1]]
    for before, tile in itertools.pairwise(way):
        run = runs[-1]
        if len(run) >= 2 and (tile[0] - before[0], tile[1] - before[1]) != (
            run[1][0] - run[0][0],
            run[1][1] - run[0][1],
        ):
            runs.append([tile])
        else:
            run.append(tile)
    return runs


def fewest_turns(
    free: bytearray, width: int, starts: list[int], goals: set[int], box: tuple[int, int, int, int]
) -> tuple[int, list[int]] | None:
    """(turns, cells) of the way over ``free`` cells inside ``box`` (x0, y0, x1, y1) from a
    cell of ``starts`` to one of ``goals`` with the fewest turns, the shortest of those;
    ``None`` when there is none. Dijkstra over (cell, heading) by (turns, steps), ties to
    the lower cell then heading (the compiled core's ``fewest_turns``: the same way)."""
    x0, y0, x1, y1 = box
    steps = (1, -1, width, -width)
    heap = [(0, 0, cell, -1) for cell in starts]
    heapq.heapify(heap)
    best: dict[tuple[int, int], tuple[int, int]] = {(cell, -1): (0, 0) for cell in starts}
    came: dict[tuple[int, int], tuple[int, int] | None] = dict.fromkeys(best, None)
    while heap:
        turns, length, cell, heading = heapq.heappop(heap)
        if best[cell, heading] < (turns, length):
            continue
        if cell in goals:
            break
        for number, step in enumerate(steps):
            near = cell + step
            x, y = near % width, near // width
            if not (free[near] and x0 <= x <= x1 and y0 <= y <= y1):
                continue
            cost = (turns + (heading >= 0 and number != heading), length + 1)
            if cost < best.get((near, number), (1 << 30, 0)):
                best[near, number] = cost
                came[near, number] = (cell, heading)
                heapq.heappush(heap, (*cost, near, number))
    else:
        return None
    way: list[int] = []
    state: tuple[int, int] | None = (cell, heading)
    while state is not None:
        way.append(state[0])
        state = came[state]
    way.reverse()
    return turns, way


def _doorways(
    room: Room, slots: Slots, shaper: Shaper, walls: Walls | None, only: Walls | None
) -> list[tuple[int, tuple[str, int, Point]]]:
    """(the cell outside, (side, position, door)) of every door position of ``room`` that a
    corridor kept apart may take: on the walls ``only`` names for the room when it names
    some (at their positions), else on any wall (at its drawn positions when ``walls``
    has them, else anywhere it opens onto floor); touching no door in use; the tile
    outside it free."""
    floor, width, index = room.floor, shaper.width, room.index
    height = len(shaper.free) // width
    pinned = [] if only is None else [side for side in WALL_SIDES if (index, side) in only]
    source = only if pinned else walls
    found = []
    for side in pinned or WALL_SIDES:
        drawn = None if source is None else source.get((index, side))
        if drawn is None:
            low, high = openings(room, side)
            drawn = tuple(range(low, high + 1))
        used = slots.get((index, side), set())
        for v in drawn:
            if v in used or v - 1 in used or v + 1 in used:
                continue
            if side in ("E", "W"):
                step = 1 if side == "E" else -1
                door = (floor.x1 + 1 if side == "E" else floor.x0 - 1, v)
                outside = (door[0] + step, v)
            else:
                step = 1 if side == "S" else -1
                door = (v, floor.y1 + 1 if side == "S" else floor.y0 - 1)
                outside = (v, door[1] + step)
            if 0 <= outside[0] < width and 0 <= outside[1] < height:  # a wall on the map's edge: none
                cell = outside[1] * width + outside[0]
                if shaper.free[cell]:
                    found.append((cell, (side, v, door)))
    return found


def _fixed_span(positions: tuple[int, ...] | None, low: int, high: int) -> tuple[int, int]:
    return (low, high) if positions is None else (min(positions), max(positions))


def _positions(
    drawn: tuple[int, ...] | None, low: int, high: int, want: int, used: set[int]
) -> Iterator[int]:
    """The door positions of a wall, nearest ``want`` first: the drawn ones when it has them
    (a prefab's), the lesser of two as near first; else every one of ``low … high`` from
    ``want`` (clamped there) outwards, the lower side first. Only positions in use already
    or touching none in use (doors in one wall never touch); there is always one (a drawn
    position next to one in use can share that one)."""
    if drawn is None:
        want = low if want < low else high if want > high else want
        order: Iterable[int] = itertools.chain(
            (want,), itertools.chain.from_iterable((want - d, want + d) for d in range(1, high - low + 1))
        )
    else:
        order = sorted(drawn, key=lambda v: (abs(v - want), v))
    for v in order:
        if low <= v <= high and (v in used or (v - 1 not in used and v + 1 not in used)):
            yield v
