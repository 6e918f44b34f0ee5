"""A designed level's corridors keep apart (``connect.route_apart``), on the pure pipeline
and on the compiled core alike: where the way along the line would touch a corridor made
before, other doors or a way around; where there is none, a loop is left out."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from levelforge.generation import pipeline
from levelforge.generation.blueprint import Corridor, Layout, Rect, Room
from levelforge.generation.connect import COMPILED, Contact, Slots, fewest_turns, route_apart
from levelforge.generation.corridors import shaper_for
from levelforge.generation.seeding import Dice

from .test_compiled import needs_core

LAYOUT = Layout(30, 20, (Rect(0, 0, 12, 19), Rect(12, 0, 29, 9), Rect(12, 9, 29, 19)))
"""A tall region on the left, two on the right across the line x = 12."""
ROOMS = (
    Room(0, LAYOUT.regions[0], Rect(2, 2, 10, 4)),  # small, at the top: its east wall is rows 2-4
    Room(1, LAYOUT.regions[1], Rect(14, 6, 27, 7)),  # below it
    Room(2, LAYOUT.regions[2], Rect(14, 14, 27, 17)),  # further below
)
TO_1, TO_2 = Contact(0, 1, True, 12), Contact(0, 2, True, 12)


@contextmanager
def core(compiled: bool) -> Iterator[None]:
    """``route_apart`` on the compiled core (``connect.COMPILED``) or in pure Python."""
    token = COMPILED.set(pipeline._core if compiled else None)
    try:
        yield
    finally:
        COMPILED.reset(token)


def touching(one: Corridor, other: Corridor) -> bool:
    near = {(x + dx, y + dy) for x, y in one.tiles for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))}
    return not near.isdisjoint(other.tiles)


def unbroken(corridor: Corridor) -> bool:
    way = (corridor.door_a, *corridor.tiles[: corridor.route], corridor.door_b)
    return all(abs(x1 - x0) + abs(y1 - y0) == 1 for (x0, y0), (x1, y1) in itertools.pairwise(way))


def laid(contacts: list[tuple[Contact, bool]], theme: str = "dungeon") -> list[Corridor | None]:
    dice = Dice(random.Random(7))
    shaper, slots = shaper_for(theme, LAYOUT, ROOMS, dice), Slots(set)
    return [
        route_apart(ROOMS, contact, slots, dice, shaper, index, loop=loop, fixed=None, only=None)
        for index, (contact, loop) in enumerate(contacts)
    ]


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_core)])
def test_a_corridor_whose_line_way_would_touch_goes_round(compiled: bool) -> None:
    """Given a small room whose two neighbours both lie below it across one line, so that
    both corridors would run down that line from its east wall
    When they are routed apart, the second after the first
    Then the first runs along the line; the second leaves by another wall, goes round it
    untouched, turning at most twice (a dungeon), and joins its rooms door to door."""
    with core(compiled):
        first, second = laid([(TO_1, False), (TO_2, False)])
    assert first is not None and second is not None
    assert first.door_a == (11, 4) and first.tiles == ((12, 4), (12, 5), (12, 6))
    assert not touching(first, second)
    assert unbroken(second) and second.route == len(second.tiles)
    assert second.door_a[1] == ROOMS[0].floor.y1 + 1  # the south wall
    target = ROOMS[2].floor
    assert second.door_b[1] == target.y0 - 1 or second.door_b[0] == target.x0 - 1  # its north or west wall
    steps = [(x1 - x0, y1 - y0) for (x0, y0), (x1, y1) in itertools.pairwise(second.tiles)]
    assert sum(one != other for one, other in itertools.pairwise(steps)) <= 2


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_core)])
def test_the_pure_and_compiled_ways_are_the_same(compiled: bool) -> None:
    """Given the same contacts, themes and dice
    Then the compiled core lays the very corridors the pure pipeline does."""
    for theme in ("dungeon", "crypt", "cave"):
        with core(False):
            pure = laid([(TO_1, False), (TO_2, False), (TO_2, True)], theme)
        with core(compiled):
            assert laid([(TO_1, False), (TO_2, False), (TO_2, True)], theme) == pure


def test_a_loop_with_no_way_apart_is_left_out() -> None:
    """Given both corridors laid, and a loop between the same two rooms again
    Then no way keeps it off them (every free door of the small room is beside one) and
    it is left out (None); a tree corridor there would be laid touching instead."""
    contacts = [(TO_1, False), (TO_2, False)]
    blocked = [(Contact(0, 1, True, 12), True)] * 6
    made = laid(contacts + blocked)
    assert made[0] is not None and made[1] is not None
    assert None in made[2:]
    for one, other in itertools.combinations([c for c in made if c is not None], 2):
        assert not touching(one, other)



@needs_core
def test_the_compiled_fewest_turns_search_is_the_pure_one() -> None:
    """Given 300 random maps of free and blocked tiles (a blocked border), a box on them,
    and random start and goal cells in it
    Then the compiled core's search gives the very (turns, way) the pure one does, a way
    found or not."""
    compiled = pipeline._core
    assert compiled is not None
    found = 0
    for number in range(300):
        rng = random.Random(number)
        width, height = rng.randint(8, 30), rng.randint(8, 30)
        free = bytearray(
            int(0 < x < width - 1 and 0 < y < height - 1 and rng.random() < 0.7)
            for y in range(height)
            for x in range(width)
        )
        x0, y0 = rng.randint(0, 3), rng.randint(0, 3)
        box = (x0, y0, width - 1 - rng.randint(0, 3), height - 1 - rng.randint(0, 3))
        cells = [y * width + x for y in range(y0, box[3] + 1) for x in range(x0, box[2] + 1)]
        inside = [cell for cell in cells if free[cell]]
        if len(inside) < 2:
            continue
        starts = rng.sample(inside, rng.randint(1, min(4, len(inside))))
        goals = set(rng.sample(inside, rng.randint(1, min(4, len(inside)))))
        pure = fewest_turns(free, width, starts, goals, box)
        assert compiled.fewest_turns(free, width, starts, goals, box) == pure, number
        found += pure is not None
    assert found > 100


def test_a_way_round_takes_the_themes_shape_and_keeps_apart() -> None:
    """Given the same two corridors in a crypt and in a cave, on five dice each
    When the second goes round
    Then it is shaped as the theme shapes corridors (side steps in a crypt: more turns
    than the fewest; pairs widening a cave: tiles beyond its way), its way unbroken from
    door to door, and it still touches neither the first nor anything beside it."""
    turns: dict[str, list[int]] = {"crypt": [], "cave": []}
    widened = []
    for theme, seed in itertools.product(turns, range(5)):
        dice = Dice(random.Random(seed))
        shaper, slots = shaper_for(theme, LAYOUT, ROOMS, dice), Slots(set)
        first, second = (
            route_apart(ROOMS, contact, slots, dice, shaper, index, loop=False, fixed=None, only=None)
            for index, contact in enumerate([TO_1, TO_2])
        )
        assert first is not None and second is not None
        assert not touching(first, second) and unbroken(second)
        way = second.tiles[: second.route]
        steps = [(x1 - x0, y1 - y0) for (x0, y0), (x1, y1) in itertools.pairwise(way)]
        turns[theme].append(sum(one != other for one, other in itertools.pairwise(steps)))
        widened.append(len(second.tiles) > second.route)
    assert max(turns["crypt"]) > min(turns["crypt"]) >= 1
    assert any(widened) and not any(widened[:5])  # the crypt's never widen, a cave's do
