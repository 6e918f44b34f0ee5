"""The independent checker can fail: it finds faults put into valid artifacts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from levelforge.generation import generate_level

from .checker import Level, check_level

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


def test_a_dead_end_corridor_tile_is_found(artifacts: tuple[dict[str, Any], str]) -> None:
    """Given a level with one floor tile dug from a corridor into the rock beside it
    When it is checked
    Then the checker counts a dead-end corridor tile."""
    graph, minimap = artifacts
    level = Level(graph, minimap)
    rows = minimap.split("\n")
    dig = next(
        (x + dx, y + dy)
        for x, y in sorted(level.corridor_tiles())
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))
        if rows[y + dy][x + dx] == "#"
        and (x + dx, y + dy) not in level.footprint
        and sum(rows[y + dy + ey][x + dx + ex] in ".+L" for ex, ey in ((1, 0), (-1, 0), (0, 1), (0, -1))) == 1
    )

    problems = check_level(SPEC, graph, set_tile(minimap, *dig, "."))

    assert any("dead-end" in p for p in problems)


def test_an_exit_short_of_the_farthest_room_is_found(artifacts: tuple[dict[str, Any], str]) -> None:
    """Given a level whose critical path stops one room early (the exit moved there)
    When it is checked
    Then the checker reports that the exit is not a farthest room."""
    graph = copy.deepcopy(artifacts[0])
    graph["critical_path"] = graph["critical_path"][:-1]
    graph["critical_path_corridors"] = graph["critical_path_corridors"][:-1]
    graph["exit"]["room"] = graph["critical_path"][-1]

    assert any("not a room farthest" in p for p in check_level(SPEC, graph, artifacts[1]))


def test_keys_on_the_critical_path_are_found(artifacts: tuple[dict[str, Any], str]) -> None:
    """Given a level whose keys are all said to lie in the entrance room (on the path)
    When it is checked
    Then the checker reports no lock on the path with its key off the path."""
    graph = copy.deepcopy(artifacts[0])
    for item in graph["items"]:
        if item["kind"] == "key":
            item["room"] = graph["entrance"]["room"]

    assert any("key off the path" in p for p in check_level(SPEC, graph, artifacts[1]))


def test_a_missing_boss_and_falling_enemy_levels_are_found(artifacts: tuple[dict[str, Any], str]) -> None:
    """Given a level whose boss is demoted and whose nearest enemy is made level 10
    When it is checked
    Then the checker reports the missing boss and the enemies weaker farther in."""
    graph, minimap = copy.deepcopy(artifacts[0]), artifacts[1]
    boss = next(e for e in graph["enemies"] if e["boss"])
    boss["boss"] = False
    minimap = set_tile(minimap, boss["pos"]["x"], boss["pos"]["y"], "e")
    distance = {room["id"]: room["distance"] for room in graph["rooms"]}
    nearest = min((e for e in graph["enemies"] if e is not boss), key=lambda e: distance[e["room"]])
    nearest["level"] = 10

    problems = check_level(SPEC, graph, minimap)

    assert any("bosses" in p for p in problems)
    assert any("weaker than nearer" in p for p in problems)


def test_treasure_on_the_critical_path_and_wrong_loops_are_found(
    artifacts: tuple[dict[str, Any], str],
) -> None:
    """Given a level claiming a treasure in the exit room and one loop too many
    When it is checked
    Then the checker reports both."""
    graph = copy.deepcopy(artifacts[0])
    treasure = next(i for i in graph["items"] if i["kind"] == "treasure")
    treasure["room"] = graph["exit"]["room"]
    graph["stats"]["loops"] += 1

    problems = check_level(SPEC, graph, artifacts[1])

    assert any("treasure on the critical path" in p for p in problems)
    assert any("stats.loops" in p for p in problems)


def test_loose_cavern_bounds_and_a_theme_mismatch_are_found() -> None:
    """Given a cave level whose first cavern's bounds are one tile too wide, and the same
    level checked as a dungeon
    When they are checked
    Then the checker reports the loose bounds, and caverns in a dungeon."""
    spec = {**SPEC, "theme": "cave", "width": 96, "height": 64, "rooms": 20}
    level = generate_level(spec)
    graph = copy.deepcopy(level.scene_graph)
    cavern = next(room for room in graph["rooms"] if room["shape"] == "cavern")
    cavern["bounds"]["w"] += 1

    assert any("bounding rectangle" in p for p in check_level(spec, graph, level.minimap))
    as_dungeon = {**spec, "theme": "dungeon"}
    graph = {**level.scene_graph, "spec": as_dungeon}
    assert any("not a rectangle" in p for p in check_level(as_dungeon, graph, level.minimap))
