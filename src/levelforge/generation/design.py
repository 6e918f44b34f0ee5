"""Designed levels (CONTRACT §4.1): layout, rooms and corridors for a spec with
constraints or prefabs, built so that the constraints hold by construction.

The room graph is planned before anything is carved:

1. **Prefab regions.** Each copy of a prefab gets a region of the layout in which its
   inside fits and that touches a neighbour on a side where the prefab has a door.
2. **The critical path** (the *backbone*): a simple route over the contacts between
   regions, of a length inside the requested range, through every copy placed
   ``critical``, ending in two ordinary rooms. A copy on it is walked through: entered by
   one door and left by another (two sides, or two door positions apart on one side
   where the copy can stand astride its two neighbours, one door pinned for each way:
   ``straddle``, ``through_doors``); copies may stand next to each other on it, joined
   across door sides facing each other. Its last room, the exit, is a leaf:
   one corridor, one door, which a lock can close.
3. **The tree**: the backbone, then every other ordinary room joined (Kruskal over the
   remaining contacts, never through the exit), then every other prefab copy hung off a
   room through a door side: an ordinary room but the exit, several to a room, or another
   copy across door sides of both.
4. **Loops**, as many as the spec asks where contacts allow, each only where it makes no
   way from the entrance to the exit as short as the backbone or shorter, so the backbone
   stays the one shortest route: the critical path has exactly the planned length.
5. **Corridors kept apart** (``connect_designed``, ``connect.route_apart``): no corridor
   runs on or beside another, so the level is walked as its room graph says; a loop that
   cannot be kept apart is left out (``validate``'s ``check_walk`` holds the rest).

A plan that cannot be made on a layout is tried on another (a bounded number, from the
step's own generator); where the quick backbones fail on a layout, a bounded
backtracking search looks for the route (first keeping copies apart). Layouts of last
resort: on small levels many more random ones; the banded layout whose middle is walked
in a serpentine (in rows or in columns) with the copies to walk through put on it (the
long critical paths asked of levels with prefabs); the banded layout of the copies off
the path with the critical ones among the rooms of its middle; on small levels loose
layouts (cuts anywhere, where ``plan_layout`` cuts near the middle: a tiny map's large
copies), on tiny ones with every placement of the copies tried; the banded layout with
the exit in a band (copies off the path outnumbering the rooms to hang them off). When the
seed's own search finds nothing, the spec's witness plan (``witness_plan``: the same search
from dice of the spec's planning fields alone, bounded, which also decided at submission
whether the spec is accepted where its generator rules did not). ``Unmet`` names the
constraint when none works.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import itertools
import json
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from levelforge.generation.bands import EXIT_STAND_IN, Bands, banded_layout, plan_bands
from levelforge.generation.blueprint import Corridor, Layout, Network, Rect, Room
from levelforge.generation.connect import (
    COMPILED,
    Contact,
    Slots,
    _rooted_links,
    _shuffle,
    _tree_distance,
    find_contacts,
    route_apart,
)
from levelforge.generation.corridors import shaper_for
from levelforge.generation.layout import MIN_SPAN, _fit, partition, plan_layout
from levelforge.generation.prefabs import SIDES, Prefab, copies_of, door_tiles, walkable
from levelforge.generation.rooms import _crypt_length, _dungeon_length, _span, cavern
from levelforge.generation.seeding import Dice

LAYOUT_TRIES = 10
"""Layouts tried for a plan on one attempt."""
PATH_TRIES = 12
"""Backbones tried on one layout."""
BANDED_TRIES = 3
"""Banded layouts (the middle split anew each time) tried on one attempt, after the others."""
EXTRA_LAYOUT_TRIES = 60
"""Random layouts tried after the banded ones on a small level (``EXTRA_LAYOUT_ROOMS``)."""
EXTRA_LAYOUT_ROOMS = 40
LOOSE_LAYOUT_TRIES = 60
"""Loose layouts (``loose_layout``) tried last on a small level (``EXTRA_LAYOUT_ROOMS``)."""
TINY_ROOMS = 12
"""Levels of this many rooms or fewer try many placements of the copies on a loose layout."""
TINY_LAYOUT_TRIES = 300
"""Loose layouts tried on a tiny level: the few that leave large copies their rooms are rare."""
PLACEMENTS_TRIED = 24
"""Placements of the copies (``_placements``) tried on one loose layout of a tiny level."""
PLACEMENT_STEPS = 2_000
"""Steps of the search for those placements on one layout."""
SEARCH_STEPS = 20_000
"""Steps of the backtracking route search on a layout where the quick backbones all failed."""


class Unmet(Exception):
    """No plan meets ``constraint`` on this attempt."""

    def __init__(self, constraint: str, message: str) -> None:
        super().__init__(f"{constraint}: {message}")
        self.constraint = constraint


@dataclass(frozen=True, slots=True)
class Design:
    """The planned room graph: prefab copies by region, the backbone (entrance first),
    the tree's contacts (the backbone's first, in path order) and the loops'."""

    prefab_of: dict[int, Prefab]
    path: tuple[int, ...]
    tree: tuple[Contact, ...]
    loops: tuple[Contact, ...]
    possible: int


def path_bounds(spec: Mapping[str, Any], critical: int) -> tuple[int, int]:
    """The lengths the critical path may have (``critical`` copies on it): never through
    a copy placed ``side``, nor one that cannot be walked through (``Prefab.walkable``)."""
    rooms = spec["rooms"]
    side = sum(
        p["count"]
        for p in spec.get("prefabs", ())
        if p["placement"] == "side" or (p["placement"] == "any" and not walkable(p["map"]))
    )
    asked = spec.get("constraints", {}).get("critical_path_rooms", {})
    low = max(asked.get("min", 1), 1 if rooms == 1 else 2, critical + 2 if critical else 0)
    return low, min(asked.get("max", rooms), rooms - side)


def natural_path(rooms: int) -> int:
    """The path's length when none is asked: about what a random spanning tree gives."""
    return 2 + math.isqrt(2 * rooms)


def plan_design(spec: Mapping[str, Any], prefabs: Sequence[Prefab], dice: Dice) -> tuple[Layout, Design]:
    """A layout and a plan on it meeting the spec's path range and prefabs, every copy on
    the path walked through (``_walkable``). When the search from ``dice`` finds none,
    the same search from the spec's witness dice (``witness_plan``): the plan that let the
    spec in when its rules alone could not."""
    try:
        return _plan_design(spec, prefabs, dice)
    except Unmet:
        if not prefabs:
            raise
        found = witness_plan(spec, prefabs)
        if found is None:
            raise
        return found


WITNESS_KEPT = 64
"""Witness answers kept (the least recently asked go first): a spec asked again, on
another seed or submitted again, costs nothing more. The answer is the search's, a pure
function of what it is keyed by (the planning fields, and the prefabs' names its plan
carries). A plan of a 2,000-room map holds a few hundred KB: 64 of them stay small."""

T = TypeVar("T")


class Keyed(Generic[T]):
    """``value`` hashed and compared by ``key`` alone: the argument of a function kept
    with ``functools.lru_cache`` (thread-safe) whose answer ``key`` alone decides."""

    __slots__ = ("key", "value")

    def __init__(self, key: str, value: T) -> None:
        self.key, self.value = key, value

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Keyed) and other.key == self.key


def witness_plan(spec: Mapping[str, Any], prefabs: Sequence[Prefab]) -> tuple[Layout, Design] | None:
    """The plan the whole search finds from dice drawn from what planning reads of the
    spec (sizes, rooms, loops, constraints, prefabs but their names: never the seed), or
    ``None``: up to ``WITNESS_STREAMS`` searches, each from dice of its own, until one
    finds a plan, all of them within ``WITNESS_BUDGET``. The spec's 422 rules that are
    only sufficient (a spec passing them surely has a plan) ask it when they do not pass,
    and so does a spec whose path walks copies through (``spec._walked_copy``): a spec it
    finds a plan for is accepted, and every seed of it then has that plan at least
    (``plan_design``). The budget (counted in work, so the answer is the same on every
    machine) keeps a submission's check to a tenth of a second mostly, under a second
    at worst."""
    planned = {key: spec[key] for key in WITNESS_KEYS if key in spec}
    planned["prefabs"] = [[p["map"], p["count"], p["placement"]] for p in spec.get("prefabs", ())]
    text = json.dumps(planned, sort_keys=True, separators=(",", ":"))
    key = f"{text}|{json.dumps([p['name'] for p in spec.get('prefabs', ())])}"
    return _witness_kept(Keyed(key, (spec, prefabs, text)))


@functools.lru_cache(maxsize=WITNESS_KEPT)
def _witness_kept(
    keyed: Keyed[tuple[Mapping[str, Any], Sequence[Prefab], str]],
) -> tuple[Layout, Design] | None:
    """The search's answer, kept (``WITNESS_KEPT``) for the same spec again: another seed,
    a resubmission, a worker falling back on it."""
    spec, prefabs, text = keyed.value
    digest = hashlib.blake2b(f"levelforge-witness:{text}".encode(), digest_size=16).digest()
    return _witness_search(spec, prefabs, int.from_bytes(digest, "big"))


def _witness_search(
    spec: Mapping[str, Any], prefabs: Sequence[Prefab], first: int
) -> tuple[Layout, Design] | None:
    """``witness_plan``'s searches, from dice seeded ``first``, ``first + 1``, …"""
    token = _BUDGET.set([WITNESS_BUDGET])
    try:
        for stream in range(WITNESS_STREAMS):
            try:
                return _plan_design(spec, prefabs, Dice(random.Random(first + stream)))
            except Unmet:
                continue
    except _Spent:
        return None
    finally:
        _BUDGET.reset(token)
    return None


WITNESS_KEYS = ("width", "height", "rooms", "loops", "constraints")
"""What planning reads of a spec (``witness_plan``'s dice are drawn from it), with each
prefab's map, count and placement (never its name)."""
WITNESS_STREAMS = 16
"""Searches ``witness_plan`` makes at most: a search that ends unmet is often only unlucky
with its dice, as levels whose own search finds a plan on every seed show."""
WITNESS_BUDGET = 150_000
"""The work ``witness_plan`` may do: a placement checked costs 1 a copy (``_placed_well``),
a layout tried ``LAYOUT_COST``, a placement planned on ``PLAN_COST``, a tree on a searched
route (``_searched_design``) ``TREE_COST`` and a quarter of the rooms."""
LAYOUT_COST = 30
PLAN_COST = 30
TREE_COST = 2
"""And a tree grown on a searched route ``TREE_COST`` and a quarter of the rooms."""
SEARCH_CHARGED, SEARCH_COST = 256, 64
"""And every ``SEARCH_CHARGED`` steps of a route search ``SEARCH_COST``."""
_BUDGET: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("witness_budget", default=None)
"""What is left of ``WITNESS_BUDGET`` while ``witness_plan`` searches (``None``: no bound)."""


class _Spent(Exception):
    """``witness_plan``'s budget ran out."""


def _spend(units: int) -> None:
    left = _BUDGET.get()
    if left is not None:
        left[0] -= units
        if left[0] < 0:
            raise _Spent


def _contacts(layout: Layout) -> list[Contact]:
    """``find_contacts``, a layout tried: charged to a witness search's budget."""
    _spend(LAYOUT_COST)
    return find_contacts(layout)


def _plan_design(spec: Mapping[str, Any], prefabs: Sequence[Prefab], dice: Dice) -> tuple[Layout, Design]:
    problem = Unmet("critical_path_rooms", "no plan tried")
    copies = copies_of(prefabs)
    for _ in range(LAYOUT_TRIES):
        layout = plan_layout(dict(spec), dice)
        contacts = _contacts(layout)
        try:
            return layout, _plan_on(layout, spec, _assign(layout, contacts, copies, dice), dice, contacts)
        except Unmet as exc:
            problem = exc
    for _ in range(BANDED_TRIES if copies else 0):  # where every copy surely fits and faces the others
        banded = banded_layout(spec["width"], spec["height"], spec["rooms"], copies, dice)
        if banded is None:
            break
        spread = banded_layout(spec["width"], spec["height"], spec["rooms"], copies, dice, spread=True)
        for layout, prefab_of in ([] if spread is None else [spread]):
            try:  # a copy walked through faces more rooms along its band: first try that
                return layout, _plan_on(layout, spec, prefab_of, dice, _contacts(layout))
            except Unmet as exc:
                problem = exc
        try:
            return banded[0], _plan_on(banded[0], spec, banded[1], dice, _contacts(banded[0]))
        except Unmet as exc:
            problem = exc
    planned = _last_resort(spec, copies, dice) if copies else None
    if planned is not None:
        return planned
    if not copies:  # rows of rooms walked in a serpentine: a route through every room
        layout, order = serpentine_layout(spec["width"], spec["height"], spec["rooms"], dice)
        return layout, _plan_on(layout, spec, {}, dice, _contacts(layout), order)
    raise problem


def _last_resort(
    spec: Mapping[str, Any], copies: Sequence[Prefab], dice: Dice
) -> tuple[Layout, Design] | None:
    """When neither random nor banded layouts gave a plan: on a small level many more
    random layouts (cheap there); then the banded layout with its middle walked in a
    serpentine (a route through every ordinary room), each copy that must stand on the
    path put on the route between two consecutive rooms it faces on a door side."""
    for _ in range(EXTRA_LAYOUT_TRIES if spec["rooms"] <= EXTRA_LAYOUT_ROOMS else 0):
        layout = plan_layout(dict(spec), dice)  # small levels: many more layouts are cheap
        contacts = _contacts(layout)
        try:
            return layout, _plan_on(layout, spec, _assign(layout, contacts, copies, dice), dice, contacts)
        except Unmet:
            continue  # the problem to name stays the one of the layouts tried before
    critical = sum(p.placement == "critical" for p in copies)
    spare = max(0, path_bounds(spec, critical)[0] - (spec["rooms"] - len(copies)) - critical)
    ways = [(spread, columns) for spread in (True, False) for columns in (False, True)]
    for number in range(BANDED_TRIES * len(ways)):
        # the bands' middle walked in a serpentine, each copy that must be walked through
        # put on it between two rooms in a row along its door side
        spread, columns = ways[number % len(ways)]
        serpentine = banded_serpentine_layout(
            spec["width"], spec["height"], spec["rooms"], copies, dice, spread=spread, columns=columns
        )
        if serpentine is None:
            continue
        layout, prefab_of, order = serpentine
        contacts = _contacts(layout)
        route = _walked_through(layout, order, prefab_of, contacts, spare)
        if route is None:
            continue
        try:
            return layout, _plan_on(layout, spec, prefab_of, dice, contacts, route)
        except Unmet:
            continue
    return (
        _banded_middle_plan(spec, copies, dice)
        or _loose_plan(spec, copies, dice)
        or _exit_banded_plan(spec, copies, dice)
    )


def _banded_middle_plan(
    spec: Mapping[str, Any], copies: Sequence[Prefab], dice: Dice
) -> tuple[Layout, Design] | None:
    """The banded layout of the copies not walked through, the ``critical`` ones placed
    among the rooms of its middle (``_assign``): a copy in a band faces the middle on one
    side only, often a single room there, where one walked through needs two."""
    walked = [prefab for prefab in copies if prefab.placement == "critical"]
    others = [prefab for prefab in copies if prefab.placement != "critical"]
    for _ in range(BANDED_TRIES if walked else 0):
        banded = banded_layout(spec["width"], spec["height"], spec["rooms"], others, dice)
        if banded is None:
            return None
        layout, placed = banded
        contacts = _contacts(layout)
        try:
            prefab_of = _assign(layout, contacts, walked, dice, placed)
            return layout, _plan_on(layout, spec, prefab_of, dice, contacts)
        except Unmet:
            continue
    return None


def _exit_banded_plan(
    spec: Mapping[str, Any], copies: Sequence[Prefab], dice: Dice
) -> tuple[Layout, Design] | None:
    """The banded layout with the exit in a band too, beside the copies, so that every
    region of the middle is an ordinary room other than the exit and every copy faces one
    across a door side: a room to hang it off (the layout of last resort of copies off
    the path that outnumber the rooms to hang them off, on small maps)."""
    for _ in range(BANDED_TRIES):
        banded = banded_layout(spec["width"], spec["height"], spec["rooms"], [*copies, EXIT_STAND_IN], dice)
        if banded is None:
            return None
        layout, placed = banded
        exit_room = next(room for room, prefab in placed.items() if prefab is EXIT_STAND_IN)
        prefab_of = {room: prefab for room, prefab in placed.items() if prefab is not EXIT_STAND_IN}
        try:
            return layout, _plan_on(layout, spec, prefab_of, dice, _contacts(layout), ending=exit_room)
        except Unmet:
            continue
    return None


def _loose_plan(
    spec: Mapping[str, Any], copies: Sequence[Prefab], dice: Dice
) -> tuple[Layout, Design] | None:
    """A plan on loose layouts (``loose_layout``) of a small level: on a tiny one, with
    many placements of the copies on each (``_placements``)."""
    tiny = spec["rooms"] <= TINY_ROOMS
    tries = TINY_LAYOUT_TRIES if tiny else LOOSE_LAYOUT_TRIES if spec["rooms"] <= EXTRA_LAYOUT_ROOMS else 0
    for _ in range(tries):
        layout = loose_layout(spec["width"], spec["height"], spec["rooms"], dice)
        contacts = _contacts(layout)
        if tiny:
            placements: Iterable[dict[int, Prefab]] = _placements(layout, contacts, copies, dice)
        else:
            try:
                placements = [_assign(layout, contacts, copies, dice)]
            except Unmet:
                continue
        for prefab_of in placements:
            _spend(PLAN_COST)
            try:
                return layout, _plan_on(layout, spec, prefab_of, dice, contacts)
            except Unmet:
                continue
    return None


def _placements(
    layout: Layout, contacts: Sequence[Contact], copies: Sequence[Prefab], dice: Dice
) -> Iterator[dict[int, Prefab]]:
    """On a tiny level, where one layout allows few ways to place the copies and
    ``_assign``'s random one is seldom the way: the ways themselves, up to
    ``PLACEMENTS_TRIED`` (depth first over the regions in a random order, equal copies in
    that order), each copy in a region it fits facing as many regions as it needs
    (``_open_to``), the ordinary regions joined."""
    count = len(layout.regions)
    order = sorted(range(count), key=lambda _: dice.random())
    links: list[list[int]] = [[] for _ in range(count)]
    for c in contacts:
        links[c.a].append(c.b)
        links[c.b].append(c.a)
    fitting = [
        [
            number
            for number, region in enumerate(order)
            if _fits(layout.regions[region], prefab, layout.width, layout.height)
        ]
        for prefab in copies
    ]
    prefab_of: dict[int, Prefab] = {}
    found, steps = 0, 0

    def place(number: int, after: int) -> Iterator[dict[int, Prefab]]:
        nonlocal found, steps
        steps += 1
        if number == len(copies):
            if _placed_well(links, contacts, prefab_of):
                found += 1
                yield dict(prefab_of)
            return
        prefab = copies[number]
        same = number > 0 and copies[number - 1] == prefab
        for position in fitting[number]:
            region = order[position]
            if found >= PLACEMENTS_TRIED or steps >= PLACEMENT_STEPS:
                return
            if region in prefab_of or (same and position <= after):
                continue
            prefab_of[region] = prefab
            yield from place(number + 1, position)
            del prefab_of[region]

    yield from place(0, -1)


def _placed_well(
    links: list[list[int]], contacts: Sequence[Contact], prefab_of: Mapping[int, Prefab]
) -> bool:
    """Whether every copy faces as many regions as it needs across its door sides (two
    for a ``critical`` one, ``_open_to``; one for another, ordinary or a copy facing it
    on a door side too) and the ordinary regions (with the copies walked through) stay
    joined."""
    _spend(len(prefab_of))
    for room, prefab in prefab_of.items():
        if prefab.placement == "critical":
            if len(_open_to(contacts, room, prefab, prefab_of)) < 2:
                return False
            continue
        if not any(
            _other(c, room) not in prefab_of
            or c in _door_contacts((c,), _other(c, room), prefab_of[_other(c, room)])
            for c in _door_contacts(contacts, room, prefab)
        ):
            return False
    taken = frozenset(room for room, prefab in prefab_of.items() if prefab.placement != "critical")
    start = next(room for room in range(len(links)) if room not in taken)
    return len(_component(links, start, taken)) == len(links) - len(taken)


def loose_layout(width: int, height: int, rooms: int, dice: Dice) -> Layout:
    """A partition of the map into ``rooms`` regions as ``layout.plan_layout`` makes, but
    every cut drawn anywhere both sides still fit their regions (and how many go to each
    side drawn among all that fit), where ``plan_layout`` cuts near the middle. On a small
    map the middle leaves its cuts no room to move: its layouts are all alike (a 16x16
    map of 4 regions is always the same 2x2 grid), and a large copy that must face two
    rooms on its door sides (a region wider than the one across from it) never gets one."""
    return partition(width, height, rooms, lambda rect, count: _loose_split(rect, count, width, height, dice))


def _loose_split(
    rect: Rect, count: int, width: int, height: int, dice: Dice
) -> tuple[tuple[Rect, int], tuple[Rect, int]]:
    """``rect`` cut in two anywhere the two sides each fit their share of ``count``."""
    x0, y0, x1, y1 = rect
    across_x, across_y = _fit(x0, x1, width), _fit(y0, y1, height)
    vertical = across_x >= 2 and (across_y < 2 or dice.random() < 0.5)
    low, high, size, cross = (x0, x1, width, across_y) if vertical else (y0, y1, height, across_x)
    slots = _fit(low, high, size)
    shares = [n for n in range(1, count) if -(-n // cross) - (-(count - n) // cross) <= slots]
    first_count = shares[dice.below(len(shares))]
    first = low + MIN_SPAN * -(-first_count // cross) - (low == 0)
    last = high - MIN_SPAN * -(-(count - first_count) // cross) + (high == size - 1)
    line = dice.between(first, last)
    if vertical:
        halves = Rect(x0, y0, line, y1), Rect(line, y0, x1, y1)
    else:
        halves = Rect(x0, y0, x1, line), Rect(x0, line, x1, y1)
    return (halves[0], first_count), (halves[1], count - first_count)


def _walked_through(
    layout: Layout,
    order: Sequence[int],
    prefab_of: Mapping[int, Prefab],
    contacts: Sequence[Contact],
    spare: int,
) -> list[int] | None:
    """``order`` with every ``critical`` copy and ``spare`` ``any`` ones each put between two
    consecutive rooms it touches on door sides (two sides, or one with its doors apart
    where it can straddle the two: ``_walkable``), as early as can be (``None`` if one has
    no such pair left)."""
    route = list(order)
    anys = [
        room for room, prefab in sorted(prefab_of.items()) if prefab.placement == "any" and prefab.walkable
    ]
    walked = [room for room, prefab in sorted(prefab_of.items()) if prefab.placement == "critical"]
    for room in walked + anys:
        if room not in walked and spare == 0:
            break
        prefab = prefab_of[room]
        doors = _door_contacts(contacts, room, prefab)
        near = {_other(c, room): c for c in doors if _other(c, room) not in prefab_of}

        def through(before: Contact, after: Contact, room: int = room, prefab: Prefab = prefab) -> bool:
            side = _side_of(before, room)
            if side != _side_of(after, room):
                return True
            return _spread(prefab, side) and straddle(layout, room, prefab, side, before, after) is not None

        pairs = [
            number
            for number in range(len(route) - 1)
            if route[number] in near
            and route[number + 1] in near
            and through(near[route[number]], near[route[number + 1]])
        ]
        if not pairs:
            if room in walked:
                return None
            continue
        route.insert(pairs[0] + 1, room)
        spare -= room not in walked
    return None if spare else route


def serpentine_layout(
    width: int, height: int, rooms: int, dice: Dice, area: Rect | None = None, *, columns: bool = False
) -> tuple[Layout, list[int]]:
    """Rooms in rows across the map (or across ``area`` of it), each row's regions side by
    side, and the route that walks them row by row, left to right then right to left:
    every step is between two regions sharing a line (along a row, or at a row's end the
    two end regions, one above the other), so it passes through every room. Rows and
    columns are as many as fit (``layout.capacity``); the spare length of each is dealt
    out at random. With ``columns``, the same turned a quarter: columns walked top to
    bottom then bottom to top."""
    if columns:
        x0, y0, x1, y1 = area or Rect(0, 0, width - 1, height - 1)
        turned, order = serpentine_layout(height, width, rooms, dice, Rect(y0, x0, y1, x1))
        back = [Rect(r.y0, r.x0, r.y1, r.x1) for r in turned.regions]
        ordered = sorted(back, key=lambda r: (r.y0, r.x0))
        index = {region: number for number, region in enumerate(ordered)}
        return Layout(width, height, tuple(ordered)), [index[back[room]] for room in order]
    x0, y0, x1, y1 = area or Rect(0, 0, width - 1, height - 1)
    across = _fit(x0, x1, width)
    rows = -(-rooms // across)
    lines = _lines(y0, y1, height, rows, dice)
    regions: list[Rect] = []
    for row in range(rows):
        count = rooms // rows + (row < rooms % rows)
        cuts = _lines(x0, x1, width, count, dice)
        cells = [Rect(cuts[i], lines[row], cuts[i + 1], lines[row + 1]) for i in range(count)]
        regions += cells if row % 2 == 0 else cells[::-1]
    ordered = sorted(regions, key=lambda r: (r.y0, r.x0))
    index = {region: number for number, region in enumerate(ordered)}
    return Layout(width, height, tuple(ordered)), [index[region] for region in regions]


def banded_serpentine_layout(
    width: int,
    height: int,
    rooms: int,
    copies: Sequence[Prefab],
    dice: Dice,
    *,
    spread: bool = True,
    columns: bool = False,
) -> tuple[Layout, dict[int, Prefab], list[int]] | None:
    """The banded layout (``bands``, ``spread`` or not) with its middle walked as
    ``serpentine_layout`` (in rows, or in ``columns``: then a copy in a column of the map
    faces rooms in a row of the route): a route through every ordinary room, every copy
    facing the middle on a door side; ``None`` when the bands do not fit."""
    bands = plan_bands(width, height, rooms, copies, spread=spread)
    if not isinstance(bands, Bands):
        return None
    middle, order = serpentine_layout(
        width, height, rooms - len(copies), dice, bands.middle, columns=columns
    )
    owner = {region: prefab for prefab, region in bands.copies}
    regions = sorted((*middle.regions, *owner), key=lambda r: (r.y0, r.x0))
    index = {region: number for number, region in enumerate(regions)}
    prefab_of = {index[region]: prefab for region, prefab in owner.items()}
    route = [index[middle.regions[room]] for room in order]
    return Layout(width, height, tuple(regions)), prefab_of, route


def _lines(low: int, high: int, size: int, parts: int, dice: Dice) -> list[int]:
    """``parts + 1`` lines from ``low`` to ``high`` (of ``0 … size - 1``), each part
    spanning at least a region (``MIN_SPAN``, one less at the map's edges), the spare
    tiles dealt out at random."""
    lengths = [MIN_SPAN] * parts
    lengths[0] -= low == 0
    lengths[-1] -= high == size - 1
    if parts == 1:
        lengths = [high - low]
    for _ in range(high - low - sum(lengths)):
        lengths[dice.below(parts)] += 1
    return [low + sum(lengths[:i]) for i in range(parts + 1)]


def _sides(contact: Contact) -> tuple[str, str]:
    """The walls of ``a`` and of ``b`` that a contact's corridor leaves by."""
    return ("E", "W") if contact.vertical else ("S", "N")


def _fits(region: Rect, prefab: Prefab, width: int, height: int) -> bool:
    inside_w, inside_h = prefab.inside
    return _fits_inside(region, inside_w, inside_h, width, height)


def _fits_inside(region: Rect, inside_w: int, inside_h: int, width: int, height: int) -> bool:
    """``_fits`` of a prefab whose inside is ``inside_w`` by ``inside_h``."""
    x0, y0, x1, y1 = region
    across = (x1 - (1 if x1 == width - 1 else 2)) - (x0 + (1 if x0 == 0 else 2)) + 1
    down = (y1 - (1 if y1 == height - 1 else 2)) - (y0 + (1 if y0 == 0 else 2)) + 1
    return across >= inside_w and down >= inside_h


def _door_contacts(contacts: Sequence[Contact], region: int, prefab: Prefab) -> list[Contact]:
    """The contacts of ``region`` on a side where ``prefab`` has doors."""
    return _facing(contacts, region, prefab.door_sides)


def _facing(contacts: Sequence[Contact], region: int, doors: Sequence[str]) -> list[Contact]:
    """The contacts of ``region`` on one of the sides ``doors`` (``_door_contacts`` with a
    prefab's door sides read once, by callers that ask of one prefab many times)."""
    east, west, south, north = "E" in doors, "W" in doors, "S" in doors, "N" in doors
    return [
        c
        for c in contacts
        if (c.a == region and (east if c.vertical else south))
        or (c.b == region and (west if c.vertical else north))
    ]


def _across(contacts: Sequence[Contact], region: int, doors: Sequence[str]) -> set[int]:
    """The rooms across ``region``'s contacts on the sides ``doors`` (those of ``_facing``)."""
    east, west, south, north = "E" in doors, "W" in doors, "S" in doors, "N" in doors
    return {
        b if a == region else a
        for a, b, vertical, _ in contacts
        if (a == region and (east if vertical else south)) or (b == region and (west if vertical else north))
    }


def _by_room(count: int, contacts: Sequence[Contact]) -> list[list[Contact]]:
    """The contacts of each of ``count`` rooms, in their order in ``contacts``: a room's
    door contacts are ``_door_contacts`` of its list alone (the same contacts, in the same
    order), without reading every contact of the layout again."""
    near: list[list[Contact]] = [[] for _ in range(count)]
    for c in contacts:
        near[c.a].append(c)
        near[c.b].append(c)
    return near


def _assign(
    layout: Layout,
    contacts: Sequence[Contact],
    copies: Sequence[Prefab],
    dice: Dice,
    placed: Mapping[int, Prefab] | None = None,
) -> dict[int, Prefab]:
    """A region for every copy: one its inside fits, touching an ordinary region on a door
    side (two, for a copy walked through on the path; where none has two, one and a copy
    beside it that may stand on the path too: ``_open_to``), and whose loss leaves the
    ordinary regions joined; where it can be, one whose loss leaves the copies placed
    before it as many ordinary regions across their door sides as they need. Copies
    ``placed`` already keep their regions."""
    compiled = COMPILED.get()
    if compiled is not None:  # on the compiled core's ``assign_copies``: the same regions
        assigned: dict[int, Prefab] = compiled.assign_copies(layout, contacts, copies, dice, placed)
        return assigned
    prefab_of: dict[int, Prefab] = dict(placed or {})
    if not copies:
        return prefab_of
    links: list[list[int]] = [[] for _ in layout.regions]
    for c in contacts:
        links[c.a].append(c.b)
        links[c.b].append(c.a)
    near = _by_room(len(layout.regions), contacts)
    faces = {room: _across(near[room], room, placed.door_sides) for room, placed in prefab_of.items()}
    width, height = layout.width, layout.height
    for prefab in copies:
        needed = 2 if prefab.placement == "critical" else 1
        doors, taken = prefab.door_sides, set(prefab_of)
        inside_w, inside_h = prefab.inside
        fits = [
            index
            for index, region in enumerate(layout.regions)
            if index not in prefab_of and _fits_inside(region, inside_w, inside_h, width, height)
        ]
        fitting = [index for index in fits if len(_across(near[index], index, doors) - taken) >= needed] or [
            index for index in fits if len(_open_to(near[index], index, prefab, prefab_of)) >= needed
        ]
        fitting.sort(key=lambda _: dice.random())
        chosen = fallback = None
        for index in fitting:  # rather a region leaving the copies placed before their rooms
            kept = _leaves_open(faces, prefab_of, index)
            if (kept or fallback is None) and _keeps_joined(links, prefab_of, prefab, index):
                if kept:
                    chosen = index
                    break
                fallback = index
        place = chosen if chosen is not None else fallback
        if place is None:
            raise Unmet(
                "prefabs", f"no region of the layout fits prefab {prefab.name!r} with a door onto another"
            )
        prefab_of[place] = prefab
        faces[place] = _across(near[place], place, doors)
    return prefab_of


def _keeps_joined(
    links: list[list[int]], prefab_of: Mapping[int, Prefab], prefab: Prefab, index: int
) -> bool:
    """Whether the ordinary regions stay joined with ``prefab`` in region ``index`` (a copy
    walked through joins the rooms on its two sides: only others may cut them apart)."""
    taken = frozenset(
        room for room in (*prefab_of, index) if (prefab_of.get(room) or prefab).placement != "critical"
    )
    start = next(room for room in range(len(links)) if room not in taken)
    return len(_component(links, start, taken)) == len(links) - len(taken)


def _leaves_open(faces: Mapping[int, set[int]], prefab_of: Mapping[int, Prefab], index: int) -> bool:
    """Whether every copy placed so far keeps as many ordinary regions across its door
    sides as it needs (two for a ``critical`` one) with region ``index`` taken too."""
    for room, facing in faces.items():
        if index in facing:
            needed = 2 if prefab_of[room].placement == "critical" else 1
            if len(facing - set(prefab_of) - {index}) < needed:
                return False
    return True


def _open_to(
    contacts: Sequence[Contact], index: int, prefab: Prefab, prefab_of: Mapping[int, Prefab]
) -> set[int]:
    """The regions a copy in region ``index`` can be joined to: across its door sides, not
    yet a copy's; for a copy walked through, also those of copies that may stand on the
    path beside it, across a door side of theirs (two copies next to each other on it)."""
    open_to = set()
    for c in _door_contacts(contacts, index, prefab):
        other = _other(c, index)
        beside = prefab_of.get(other)
        if beside is None or (
            prefab.placement == "critical"
            and _may_walk(beside)
            and c in _door_contacts((c,), other, beside)
        ):
            open_to.add(other)
    return open_to


def _may_walk(prefab: Prefab) -> bool:
    """Whether a copy may stand on the path: ``critical``, or ``any`` and walkable."""
    return prefab.placement == "critical" or (prefab.placement == "any" and prefab.walkable)


def _plan_on(
    layout: Layout,
    spec: Mapping[str, Any],
    prefab_of: dict[int, Prefab],
    dice: Dice,
    found: Sequence[Contact],
    order: Sequence[int] | None = None,
    ending: int | None = None,
) -> Design:
    """The plan on ``layout``; with ``order`` (a route through every room), the backbone is
    its first rooms; with ``ending``, the backbone ends in that room (the exit)."""
    contacts = list(found)
    _shuffle(contacts, dice)
    count = len(layout.regions)
    ordinary = [room for room in range(count) if room not in prefab_of]
    plain = [c for c in contacts if c.a not in prefab_of and c.b not in prefab_of]
    links: list[list[int]] = [[] for _ in range(count)]
    for c in plain:
        links[c.a].append(c.b)
        links[c.b].append(c.a)
    # each copy's door contacts: off the index of contacts by room, or for a few copies off
    # all the contacts (the same contacts, in the same order; cheaper than the index)
    near = _by_room(count, contacts) if len(prefab_of) > 2 else [contacts] * count
    door_contacts = {room: _door_contacts(near[room], room, prefab) for room, prefab in prefab_of.items()}
    critical = [room for room, prefab in prefab_of.items() if prefab.placement == "critical"]
    spare_any = [room for room, prefab in prefab_of.items() if prefab.placement == "any" and prefab.walkable]
    low, high = path_bounds(spec, len(critical))
    wanted_any = max(0, low - len(ordinary) - len(critical))
    critical += spare_any[:wanted_any]
    low, high = path_bounds(spec, len(critical))
    target = min(max(natural_path(count), low), high)
    through = [list(rooms) for rooms in links]
    on_path = set(critical)
    for room in critical:
        for c in door_contacts[room]:
            other = _other(c, room)
            if other in prefab_of and (other not in on_path or c not in door_contacts[other]):
                continue
            through[room].append(other)
            if other not in prefab_of:
                through[other].append(room)
    by_pair = _pairs(contacts)
    for _ in range(PATH_TRIES if order is None else 1):
        path = (
            _route_prefix(order, target, prefab_of)
            if order is not None
            else _backbone(links, through, ordinary, critical, target, dice)
        )
        path = _ending(path, ending)
        if path is None or not low <= len(path) <= high:
            continue
        tree = _tree(layout, path, by_pair, plain, prefab_of, door_contacts, dice)
        if tree is not None:
            loops, possible = _loops(count, tree, plain, path, round(spec["loops"] * count))
            return Design(prefab_of, tuple(path), tuple(tree), tuple(loops), possible)
    # the quick backbones grow greedily and miss long routes that must thread copies
    design = (
        _searched_design(layout, spec, contacts, plain, links, prefab_of, door_contacts, dice, ending)
        if order is None and prefab_of
        else None
    )
    if design is not None:
        return design
    raise Unmet("critical_path_rooms", f"no route of {low} to {high} rooms through the layout")


def _ending(path: list[int] | None, ending: int | None) -> list[int] | None:
    """``path`` turned to end in room ``ending`` (``None`` if neither end is it)."""
    if path is None or ending is None or path[-1] == ending:
        return path
    return path[::-1] if path[0] == ending else None


def _route_prefix(order: Sequence[int], target: int, prefab_of: Mapping[int, Prefab]) -> list[int]:
    """The backbone on a route: its first ``target`` rooms, or more, up to the room after
    its last copy (every copy on a route is one walked through)."""
    last = max((number for number, room in enumerate(order) if room in prefab_of), default=-1)
    return list(order[: max(target, last + 2)])


def _searched_design(
    layout: Layout,
    spec: Mapping[str, Any],
    contacts: Sequence[Contact],
    plain: Sequence[Contact],
    links: list[list[int]],
    prefab_of: dict[int, Prefab],
    door_contacts: dict[int, list[Contact]],
    dice: Dice,
    ending: int | None = None,
) -> Design | None:
    """A plan on a backbone found by backtracking (``_searched_routes``), or ``None``:
    first on routes that keep copies apart (each between two ordinary rooms), then, where
    there are none, on routes with copies next to each other."""
    required = {room for room, prefab in prefab_of.items() if prefab.placement == "critical"}
    low, high = path_bounds(spec, len(required))
    count = len(layout.regions)
    by_pair = _pairs(contacts)
    for beside in (False, True):
        steps = _step_links(links, prefab_of, door_contacts, beside=beside)
        for found in _searched_routes(steps, prefab_of, required, low, high, dice, beside=beside):
            path = _ending(found, ending)
            if path is None:
                continue
            _spend(TREE_COST + count // 4)
            tree = _tree(layout, path, by_pair, plain, prefab_of, door_contacts, dice)
            if tree is not None:
                loops, possible = _loops(count, tree, plain, path, round(spec["loops"] * count))
                return Design(prefab_of, tuple(path), tuple(tree), tuple(loops), possible)
    return None


def _step_links(
    links: list[list[int]],
    prefab_of: dict[int, Prefab],
    door_contacts: dict[int, list[Contact]],
    *,
    beside: bool,
) -> list[list[int]]:
    """``links`` (between ordinary rooms) and, both ways, the door contacts of every copy
    that may stand on the path (``_may_walk``) to an ordinary room, and with ``beside`` to
    another such copy across a door side of both."""
    steps = [list(rooms) for rooms in links]
    for room, prefab in sorted(prefab_of.items()):
        if not _may_walk(prefab):
            continue
        for c in door_contacts[room]:
            other = _other(c, room)
            if room in steps[other]:
                continue
            joined = other not in prefab_of or (
                beside and _may_walk(prefab_of[other]) and c in door_contacts[other]
            )
            if not joined:
                continue
            steps[room].append(other)
            steps[other].append(room)
    return steps


def _searched_routes(
    steps: list[list[int]],
    prefab_of: dict[int, Prefab],
    required: set[int],
    low: int,
    high: int,
    dice: Dice,
    *,
    beside: bool,
) -> Iterator[list[int]]:
    """Simple routes over ``steps`` of ``low`` to ``high`` rooms between two ordinary rooms
    through every copy of ``required`` (a copy between two ordinary rooms, unless
    ``beside``: then copies may stand next to each other), found
    depth first (fewest free neighbours first, as ``_grow``) within ``SEARCH_STEPS``
    steps in all; on small layouts a route that can no longer reach ``low`` rooms is cut."""
    count = len(steps)
    ordinary = [room for room in range(count) if room not in prefab_of]
    starts = sorted(ordinary, key=lambda _: dice.random())
    starts.sort(key=lambda room: len(steps[room]))
    budget = SEARCH_STEPS
    small = count <= 400
    for start in starts:
        path, used = [start], {start}
        stack = [_ranked(steps, start, used, dice)]
        while stack and budget > 0:
            budget -= 1
            if budget % SEARCH_CHARGED == 0:
                _spend(SEARCH_COST)
            end = path[-1]
            if low <= len(path) <= high and end not in prefab_of and required <= used:
                yield list(path)
            if len(path) < high and stack[-1]:
                step = stack[-1].pop()
                if step in used or (not beside and end in prefab_of and step in prefab_of):
                    continue
                path.append(step)
                used.add(step)
                if small and len(path) + _reachable(steps, step, used) < low:
                    path.pop()
                    used.discard(step)
                    continue
                stack.append(_ranked(steps, step, used, dice))
                continue
            stack.pop()
            used.discard(path.pop())
        if budget <= 0:
            return


def _ranked(steps: list[list[int]], room: int, used: set[int], dice: Dice) -> list[int]:
    """The free neighbours of ``room``, the one to try first last (fewest free neighbours)."""
    free = [
        (sum(o not in used for o in steps[other]), dice.random(), other)
        for other in steps[room]
        if other not in used
    ]
    free.sort(reverse=True)
    return [other for _, _, other in free]


def _reachable(steps: list[list[int]], start: int, used: set[int]) -> int:
    """The free rooms a route at ``start`` could still go on to."""
    seen = {start}
    queue = [start]
    for room in queue:
        for other in steps[room]:
            if other not in seen and other not in used:
                seen.add(other)
                queue.append(other)
    return len(seen) - 1


def _component(links: list[list[int]], start: int, avoid: frozenset[int] = frozenset()) -> set[int]:
    seen = {start}
    queue = [start]
    for room in queue:
        for other in links[room]:
            if other not in seen and other not in avoid:
                seen.add(other)
                queue.append(other)
    return seen


def _route_to(links: list[list[int]], start: int, goals: set[int], used: set[int]) -> list[int] | None:
    """A shortest way from ``start`` to one of ``goals`` around ``used`` (``start`` first)."""
    if start in goals:
        return [start]
    parent = {start: -1}
    queue = [start]
    for room in queue:
        for other in links[room]:
            if other in parent or other in used:
                continue
            parent[other] = room
            if other in goals:
                way = [other]
                while parent[way[-1]] != -1:
                    way.append(parent[way[-1]])
                return way[::-1]
            queue.append(other)
    return None


def _backbone(
    links: list[list[int]],
    through: list[list[int]],
    ordinary: list[int],
    critical: list[int],
    target: int,
    dice: Dice,
) -> list[int] | None:
    """A simple route from an ordinary room through every critical copy (``through`` joins
    a copy only across its door sides), grown at both ends towards ``target`` rooms over
    ordinary rooms, so that both ends are ordinary rooms. (On the compiled core's
    ``plan_backbone`` while it runs the steps: the same route.)"""
    compiled = COMPILED.get()
    if compiled is not None:
        route: list[int] | None = compiled.plan_backbone(links, through, ordinary, critical, target, dice)
        return route
    path = [ordinary[dice.below(len(ordinary))]]
    used = set(path)
    pending = sorted(critical, key=lambda _: dice.random())
    copies = set(critical)
    while pending:
        goal = pending.pop()
        if goal in used:
            continue
        way = _route_to(through, path[-1], {goal}, used - {path[-1]})
        if way is None:
            return None
        path += way[1:]
        used.update(way)
    for _ in range(2):
        if path[-1] in copies:
            _grow(through, path, used, len(path) + 1, dice, avoid=copies)
        _grow(links, path, used, target, dice)
        path.reverse()
    return None if path[0] in copies or path[-1] in copies else path


def _grow(
    links: list[list[int]],
    path: list[int],
    used: set[int],
    target: int,
    dice: Dice,
    avoid: set[int] | None = None,
) -> None:
    """Extend ``path`` at its end towards ``target`` rooms, each step to the free
    neighbour with the fewest free neighbours (Warnsdorff's rule: it seldom strands itself)."""
    while len(path) < target:
        free = [room for room in links[path[-1]] if room not in used and (avoid is None or room not in avoid)]
        if not free:
            return
        ranked = [(len([o for o in links[room] if o not in used]), dice.random(), room) for room in free]
        step = min(ranked)[2]
        path.append(step)
        used.add(step)


def _tree(
    layout: Layout,
    path: list[int],
    by_pair: Mapping[tuple[int, int], Contact],
    plain: Sequence[Contact],
    prefab_of: dict[int, Prefab],
    door_contacts: dict[int, list[Contact]],
    dice: Dice,
) -> list[Contact] | None:
    """The backbone's contacts in path order, then the other ordinary rooms (never through
    the exit), then the other prefab copies, each hung off an ordinary room not the exit
    (``by_pair``: the layout's contacts by their rooms, ``_pairs``). (On the compiled
    core's ``plan_tree`` while it runs the steps: the same tree.)"""
    compiled = COMPILED.get()
    if compiled is not None:
        made: list[Contact] | None = compiled.plan_tree(
            layout, path, by_pair, plain, prefab_of, door_contacts, dice
        )
        return made
    if not _walkable(layout, path, by_pair, prefab_of):
        return None
    tree = [by_pair[pair] for pair in itertools.pairwise(path)]
    exit_room = path[-1]
    count = len(layout.regions)
    parent = list(range(count))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for room in path:
        parent[root(room)] = root(path[0])
    for c in plain:
        if exit_room in (c.a, c.b):
            continue
        ra, rb = root(c.a), root(c.b)
        if ra != rb:
            parent[ra] = rb
            tree.append(c)
    start = root(path[0])
    if any(root(room) != start for room in range(count) if room not in prefab_of):
        return None
    hooks = _hooks(path, prefab_of, door_contacts, dice)
    return None if hooks is None else tree + hooks


def _pairs(contacts: Sequence[Contact]) -> dict[tuple[int, int], Contact]:
    """The contact of each pair of rooms, both ways round (the last, were there two)."""
    by_pair = {}
    for c in contacts:
        by_pair[c.a, c.b] = by_pair[c.b, c.a] = c
    return by_pair


def _walkable(
    layout: Layout,
    path: Sequence[int],
    by_pair: Mapping[tuple[int, int], Contact],
    prefab_of: Mapping[int, Prefab],
) -> bool:
    """Whether every copy on ``path`` (joined by the contacts of ``by_pair``) is walked
    through: entered and left on two sides, or on one side by two door positions not next
    to each other, where the copy can stand so that the first faces the one neighbour and
    the last the other (``straddle``: the two corridors then never touch). Only the
    copies' contacts are looked up: a searched route is mostly refused here, before its
    tree is made."""
    for number in range(1, len(path) - 1):
        room = path[number]
        prefab = prefab_of.get(room)
        if prefab is None:
            continue
        before, after = by_pair[path[number - 1], room], by_pair[room, path[number + 1]]
        side = _side_of(before, room)
        if side != _side_of(after, room):
            continue
        if not _spread(prefab, side) or straddle(layout, room, prefab, side, before, after) is None:
            return False
    return True


def straddle(
    layout: Layout, room: int, prefab: Prefab, side: str, before: Contact, after: Contact
) -> tuple[int, int] | None:
    """Where a copy walked through on one ``side`` may start along that side (its floor's
    first column for N and S, first row for W and E): every start in the returned range
    puts its first door position on that side inside the stretch of line its region shares
    with the neighbour nearer the side's start, and its last door position inside the one
    shared with the other neighbour (``before`` and ``after``: the two contacts). The two
    corridors then run along different stretches and never touch (``through_doors``
    gives each its door). ``None`` where no start does that."""
    axis = 0 if side in ("N", "S") else 1
    region, size = layout.regions[room], (layout.width, layout.height)[axis]
    low, high = region[axis], region[axis + 2]
    length = prefab.inside[axis]
    offsets = prefab.door_offsets(side)
    shared = []
    for contact in (before, after):
        other = layout.regions[_other(contact, room)]
        shared.append((max(low, other[axis]), min(high, other[axis + 2])))
    near, far = sorted(shared)
    first = max(low + (1 if low == 0 else 2), near[0] + 1 - offsets[0], far[0] + 1 - offsets[-1])
    last = high - (1 if high == size - 1 else 2) - length + 1
    last = min(last, near[1] - 1 - offsets[0], far[1] - 1 - offsets[-1])
    return (first, last) if first <= last else None


def _side_of(contact: Contact, room: int) -> str:
    """The wall of ``room`` that ``contact``'s corridor leaves by."""
    return _sides(contact)[0 if contact.a == room else 1]


def _spread(prefab: Prefab, side: str) -> bool:
    """Whether ``side`` has two door positions not next to each other."""
    offsets = prefab.door_offsets(side)
    return bool(offsets) and offsets[-1] - offsets[0] >= 2


def _hooks(
    path: list[int], prefab_of: dict[int, Prefab], door_contacts: dict[int, list[Contact]], dice: Dice
) -> list[Contact] | None:
    """A contact for every copy off the path, from a door side: to an ordinary room that
    is not the exit where it has one; else (copies facing only the exit or other copies)
    to a copy already joined (through a door side of that copy too), so several copies
    may hang off one room and copies off copies. ``None`` when some copy can be joined
    to nothing."""
    on_path, exit_room = set(path), path[-1]
    hooks = []
    pending = []
    for room in sorted(prefab_of):
        if room in on_path:
            continue
        usable = [
            c
            for c in door_contacts[room]
            if _other(c, room) not in prefab_of and _other(c, room) != exit_room
        ]
        if not usable:
            pending.append(room)
            continue
        hooks.append(usable[dice.below(len(usable))])
    joined = set(on_path) | {room for room in prefab_of if room not in on_path and room not in pending}
    while pending:
        progress = []
        for room in pending:
            usable = [
                c for c in door_contacts[room] if _joins(c, room, exit_room, joined, prefab_of, door_contacts)
            ]
            if usable:
                hooks.append(usable[dice.below(len(usable))])
                progress.append(room)
        if not progress:
            return None
        joined.update(progress)
        pending = [room for room in pending if room not in progress]
    return hooks


def _joins(
    contact: Contact,
    room: int,
    exit_room: int,
    joined: set[int],
    prefab_of: dict[int, Prefab],
    door_contacts: dict[int, list[Contact]],
) -> bool:
    """Whether ``contact`` (a door contact of copy ``room``) leads to a room already
    joined: an ordinary one but the exit (a leaf: its one door is the lock that shuts
    it), or a copy through one of its door sides."""
    other = _other(contact, room)
    if other in prefab_of:
        return other in joined and contact in door_contacts[other]
    return other != exit_room


def _other(contact: Contact, room: int) -> int:
    return contact.b if contact.a == room else contact.a


def _loops(
    count: int, tree: list[Contact], plain: Sequence[Contact], path: list[int], wanted: int
) -> tuple[list[Contact], int]:
    """Spare ordinary contacts (not at the exit) that lengthen no way to the exit into a
    shortcut, the longest detours first, up to ``wanted``; and how many were spare. (On
    the compiled core's ``plan_loops`` while it runs the steps: the same loops.)"""
    compiled = COMPILED.get()
    if compiled is not None:
        chosen_loops: tuple[list[Contact], int] = compiled.plan_loops(count, tree, plain, path, wanted)
        return chosen_loops
    in_tree = _pairs(tree)
    exit_room = path[-1]
    spare = [c for c in plain if (c.a, c.b) not in in_tree and exit_room not in (c.a, c.b)]
    if wanted <= 0 or not spare:
        return [], len(spare)
    links: list[list[int]] = [[] for _ in range(count)]
    for c in tree:
        links[c.a].append(c.b)
        links[c.b].append(c.a)
    depth, parent = _rooted_links(links)

    def detour(contact: Contact) -> int:
        return _tree_distance(depth, parent, contact.a, contact.b)

    length = len(path) - 1
    from_start, from_exit = _distances(links, path[0]), _distances(links, exit_room)
    chosen: list[int] = []
    for index in sorted(range(len(spare)), key=lambda i: -detour(spare[i])):
        a, b = spare[index].a, spare[index].b
        if min(from_start[a] + from_exit[b], from_start[b] + from_exit[a]) + 1 <= length:
            continue
        chosen.append(index)
        links[a].append(b)
        links[b].append(a)
        _relax(links, from_start, (a, b))
        _relax(links, from_exit, (a, b))
        if len(chosen) == wanted:
            break
    return [spare[index] for index in sorted(chosen)], len(spare)


def _distances(links: list[list[int]], start: int) -> list[int]:
    far = [-1] * len(links)
    far[start] = 0
    queue = [start]
    for room in queue:
        for other in links[room]:
            if far[other] < 0:
                far[other] = far[room] + 1
                queue.append(other)
    return far


def _relax(links: list[list[int]], far: list[int], changed: tuple[int, ...]) -> None:
    """Lower the distances in ``far`` after links were added at ``changed``."""
    queue = list(changed)
    for room in queue:
        for other in links[room]:
            if far[room] + 1 < far[other]:
                far[other] = far[room] + 1
                queue.append(other)


def carve_designed(layout: Layout, theme: str, design: Design, dice: Dice) -> tuple[Room, ...]:
    """A room in every region, as ``rooms.carve_rooms``; a prefab copy's floor is its
    inside, exactly, somewhere in its region: a copy walked through on one side where it
    straddles its two neighbours on the path (``straddle``). (On the compiled core's
    ``carve_designed`` while it runs the steps, ``connect.COMPILED``: the same rooms from
    the same draws.)"""
    prefab_of, starts = design.prefab_of, _straddles(layout, design)
    compiled = COMPILED.get()
    if compiled is not None:
        carved: tuple[Room, ...] = compiled.carve_designed(layout, theme, prefab_of, starts, dice)
        return carved
    width, height, random = layout.width, layout.height, dice.random
    sizing = _crypt_length if theme == "crypt" else _dungeon_length
    rooms = []
    for index, region in enumerate(layout.regions):
        rx0, ry0, rx1, ry1 = region
        prefab = prefab_of.get(index)
        if prefab is not None:
            inside_w, inside_h = prefab.inside
            axis, (first, last) = starts.get(index, (-1, (0, 0)))
            x0 = dice.between(first, last) if axis == 0 else _place(rx0, rx1, width, inside_w, dice)
            y0 = dice.between(first, last) if axis == 1 else _place(ry0, ry1, height, inside_h, dice)
            rooms.append(Room(index, region, Rect(x0, y0, x0 + inside_w - 1, y0 + inside_h - 1)))
            continue
        x0, x1 = _span(rx0, rx1, width, sizing, random)
        y0, y1 = _span(ry0, ry1, height, sizing, random)
        floor = Rect(x0, y0, x1, y1)
        rooms.append(Room(index, region, floor, cavern(floor, dice) if theme == "cave" else None))
    return tuple(rooms)


def _straddles(layout: Layout, design: Design) -> dict[int, tuple[int, tuple[int, int]]]:
    """For each copy walked through on one side: (the axis along that side, 0 for x, 1 for
    y; the range its floor may start at: ``straddle``)."""
    starts = {}
    for number, room, prefab, side in _one_sided_copies(design):
        found = straddle(layout, room, prefab, side, design.tree[number - 1], design.tree[number])
        if found is not None:  # always (``_walkable``)
            starts[room] = (0 if side in ("N", "S") else 1, found)
    return starts


def _place(low: int, high: int, size: int, length: int, dice: Dice) -> int:
    first = low + (1 if low == 0 else 2)
    last = high - (1 if high == size - 1 else 2)
    return dice.between(first, last - length + 1)


def connect_designed(
    layout: Layout, rooms: Sequence[Room], design: Design, theme: str, dice: Dice
) -> Network:
    """The planned corridors: the tree's, then the loops'; a prefab copy's end of a
    corridor is one of its drawn door positions. Kept apart (``connect.route_apart``): no
    corridor touches another, so each joins only its two rooms and the level is walked as
    planned (no way shorter than the critical path, none past a lock); a loop that cannot
    be kept apart is left out (only ever making ways longer)."""
    fixed = {
        (room, side): door_tiles(prefab, rooms[room].floor, side)
        for room, prefab in design.prefab_of.items()
        for side in SIDES
    }
    pinned = through_doors(rooms, design)
    compiled = COMPILED.get()  # the same free map, made on the core
    free = None if compiled is None else compiled.free_tiles(layout, rooms)
    shaper = shaper_for(theme, layout, rooms, dice, free)
    slots: Slots = defaultdict(set)
    tree = len(design.tree)
    corridors: list[Corridor] = []
    for index, contact in enumerate(design.tree + design.loops):
        only = pinned.get(index)
        walls, loop = ({**fixed, **only} if only else fixed), index >= tree
        corridor = route_apart(
            rooms, contact, slots, dice, shaper, len(corridors), loop=loop, fixed=walls, only=only
        )
        if corridor is not None:  # a loop that cannot be kept apart is left out
            corridors.append(corridor)
    return Network(tuple(corridors), len(corridors) - tree, design.possible)


def _one_sided_copies(design: Design) -> Iterator[tuple[int, int, Prefab, str]]:
    """(number on the path, room, prefab, side) of each copy the path walks through on one
    side: entered and left by two door positions of that side, apart."""
    path, tree = design.path, design.tree
    for number in range(1, len(path) - 1):
        room = path[number]
        prefab = design.prefab_of.get(room)
        if prefab is None:
            continue
        side = _side_of(tree[number - 1], room)
        if side == _side_of(tree[number], room) and _spread(prefab, side):
            yield number, room, prefab, side


def through_doors(rooms: Sequence[Room], design: Design) -> dict[int, dict[tuple[int, str], tuple[int, ...]]]:
    """The door a path corridor must use, by corridor, where a copy on the path is entered
    and left on one side: its first door position for the neighbour nearer the side's
    start (by floor centre), its last for the other, so the two ways in are apart (never
    one door, nor two side by side: ``_walkable`` asked them two apart at least)."""
    pinned: dict[int, dict[tuple[int, str], tuple[int, ...]]] = {}
    path = design.path
    for number, room, prefab, side in _one_sided_copies(design):  # on two sides: their own
        offsets = prefab.door_offsets(side)
        floor = rooms[room].floor
        start = floor.y0 if side in ("W", "E") else floor.x0
        before, after = rooms[path[number - 1]].floor, rooms[path[number + 1]].floor
        axis = 1 if side in ("W", "E") else 0
        first_nearer = before[axis] + before[axis + 2] <= after[axis] + after[axis + 2]
        low, high = (start + offsets[0],), (start + offsets[-1],)
        pinned.setdefault(number - 1, {})[room, side] = low if first_nearer else high
        pinned.setdefault(number, {})[room, side] = high if first_nearer else low
    return pinned
