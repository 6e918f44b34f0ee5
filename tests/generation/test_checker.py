"""The independent checker can fail: it finds faults put into valid artifacts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from levelforge.generation import generate_level

from .checker import check_level

SPEC = {
    "seed": 42,
    "width": 64,
    "height": 40,
    "rooms": 12,
    "difficulty": 3,
    "theme": "dungeon",
    "loops": 0.15,
}


@pytest.fixture(scope="module")
def artifacts() -> tuple[dict[str, Any], str]:
    level = generate_level(SPEC)
    return level.scene_graph, level.minimap


def set_tile(minimap: str, x: int, y: int, char: str) -> str:
    rows = minimap.split("\n")
    rows[y] = rows[y][:x] + char + rows[y][x + 1 :]
    return "\n".join(rows)


def test_the_checker_passes_the_untouched_level(artifacts: tuple[dict[str, Any], str]) -> None:
    """Given a generated level
    When it is checked untouched
    Then there is no problem."""
    graph, minimap = artifacts
    assert check_level(SPEC, graph, minimap) == []


def test_a_hole_in_a_room_wall_is_found(artifacts: tuple[dict[str, Any], str]) -> None:
    """Given a level whose first room wall gets a floor tile
    When it is checked
    Then the checker reports the open wall."""
    graph, minimap = artifacts
    bounds = graph["rooms"][0]["bounds"]
    broken = set_tile(minimap, bounds["x"] - 1, bounds["y"] + 1, ".")

    assert any("open at" in p for p in check_level(SPEC, graph, broken))


def test_a_key_behind_its_own_lock_is_found(artifacts: tuple[dict[str, Any], str]) -> None:
    """Given a level whose first key is moved into the room it unlocks
    When it is checked
    Then the checker reports the key behind its own lock."""
    graph, minimap = copy.deepcopy(artifacts[0]), artifacts[1]
    key = next(item for item in graph["items"] if item["kind"] == "key")
    locked = next(door for door in graph["doors"] if door["id"] == key["opens"][0])
    room = next(r for r in graph["rooms"] if r["id"] == locked["joins"][0])
    free = next(
        (x, y)
        for y in range(room["bounds"]["y"], room["bounds"]["y"] + room["bounds"]["h"])
        for x in range(room["bounds"]["x"], room["bounds"]["x"] + room["bounds"]["w"])
        if minimap.split("\n")[y][x] == "."
    )
    minimap = set_tile(minimap, key["pos"]["x"], key["pos"]["y"], ".")
    minimap = set_tile(minimap, *free, "k")
    key["pos"], key["room"] = {"x": free[0], "y": free[1]}, room["id"]

    assert any("behind its own lock" in p for p in check_level(SPEC, graph, minimap))


def test_an_enemy_in_the_entrance_room_is_found(artifacts: tuple[dict[str, Any], str]) -> None:
    """Given a level with an enemy moved onto the entrance tile's room
    When it is checked
    Then the checker reports it."""
    graph, minimap = copy.deepcopy(artifacts[0]), artifacts[1]
    enemy = next(e for e in graph["enemies"] if not e["boss"])
    enemy["room"] = graph["entrance"]["room"]

    assert any("entrance room" in p for p in check_level(SPEC, graph, minimap))


def test_a_wrong_size_or_char_is_found(artifacts: tuple[dict[str, Any], str]) -> None:
    """Given a minimap with a line cut short, or a char outside the legend
    When it is checked
    Then the checker reports it."""
    graph, minimap = artifacts

    assert check_level(SPEC, graph, minimap.replace("\n", "X\n", 1)) != []
    assert check_level(SPEC, graph, set_tile(minimap, 0, 0, "?")) != []
    assert check_level({**SPEC, "rooms": 11}, graph, minimap) != []
