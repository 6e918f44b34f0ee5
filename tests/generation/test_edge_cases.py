"""Explicit edge cases: one room, the tight fits, thin maps, the largest map, every theme."""

from __future__ import annotations

from typing import Any

import pytest

from levelforge.generation import generate_level

from .checker import check_level


def assert_valid(spec: dict[str, Any]) -> dict[str, Any]:
    level = generate_level(spec)
    assert check_level(level.spec, level.scene_graph, level.minimap) == []
    assert level.summary["rooms"] == level.spec["rooms"]
    return level.scene_graph


@pytest.mark.parametrize("seed", [0, 1, 2, 2**53 - 1])
def test_a_one_room_level_has_no_enemies(seed: int) -> None:
    """Given a spec of one room
    When its level is generated
    Then entrance and exit share the only room, and there is no enemy (nor lock)."""
    graph = assert_valid({"seed": seed, "rooms": 1})

    assert graph["enemies"] == []
    assert graph["entrance"]["room"] == graph["exit"]["room"] == "r0"
    assert graph["stats"]["locks"] == 0


@pytest.mark.parametrize(
    ("width", "height", "rooms"),
    [
        (16, 16, 4),
        (16, 28, 7),
        (16, 512, 128),
        (512, 16, 128),
        (17, 18, 4),
        (18, 18, 5),
        (64, 40, 40),
        (23, 16, 5),
    ],
)
@pytest.mark.parametrize("seed", [7, 8])
def test_tight_and_thin_fits_give_valid_levels(width: int, height: int, rooms: int, seed: int) -> None:
    """Given a spec at (or near) the fit limit, thin maps included
    When its level is generated
    Then it passes the checker with exactly the rooms asked for."""
    assert_valid({"seed": seed, "width": width, "height": height, "rooms": rooms})


@pytest.mark.slow
def test_the_largest_level_is_valid() -> None:
    """Given 512x512 with 2000 rooms
    When its level is generated
    Then it passes the checker."""
    assert_valid({"seed": 2025, "width": 512, "height": 512, "rooms": 2000, "difficulty": 10})


@pytest.mark.parametrize("theme", ["dungeon", "crypt", "cave"])
def test_every_theme_gives_a_valid_level(theme: str) -> None:
    """Given each theme
    When a level is generated
    Then it is valid and its spec records the theme."""
    graph = assert_valid({"seed": 11, "theme": theme, "difficulty": 9})

    assert graph["spec"]["theme"] == theme


def test_four_rooms_or_more_put_a_lock_and_a_boss_before_the_exit() -> None:
    """Given the default spec
    When its level is generated
    Then the exit room is locked, guarded by a boss, and no enemy is in the entrance room."""
    graph = assert_valid({"seed": 42})

    exit_room = next(room for room in graph["rooms"] if room["id"] == graph["exit"]["room"])
    assert {"exit", "locked", "boss"} <= set(exit_room["tags"])
    assert graph["stats"]["locks"] >= 1
    assert all(enemy["room"] != graph["entrance"]["room"] for enemy in graph["enemies"])


def test_a_missing_seed_is_drawn_and_recorded() -> None:
    """Given a spec without a seed
    When its level is generated
    Then the spec records a seed, and that seed reproduces the level."""
    level = generate_level({"rooms": 3})

    assert isinstance(level.spec["seed"], int)
    assert generate_level(level.spec).artifacts() == level.artifacts()
