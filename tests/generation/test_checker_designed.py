"""The checker's designed-level rules (CONTRACT §4.1) can fail: it finds a missed
constraint and a prefab copy not as drawn, put into a valid level's artifacts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from levelforge.generation import generate_level

from .checker import check_by_rule
from .designs import EXAMPLE


@pytest.fixture(scope="module")
def example() -> tuple[dict[str, Any], dict[str, Any], str]:
    level = generate_level(EXAMPLE)
    return level.spec, level.scene_graph, level.minimap


def shrine(graph: dict[str, Any]) -> dict[str, Any]:
    return next(room for room in graph["rooms"] if "prefab:shrine" in room["tags"])


def set_tile(minimap: str, x: int, y: int, char: str) -> str:
    rows = minimap.split("\n")
    rows[y] = rows[y][:x] + char + rows[y][x + 1 :]
    return "\n".join(rows)


def problems(spec: dict[str, Any], graph: dict[str, Any], minimap: str, rule: str) -> list[str]:
    return check_by_rule(spec, graph, minimap)[rule]


def test_the_untouched_example_passes_every_rule(example: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    spec, graph, minimap = example
    assert {rule: found for rule, found in check_by_rule(spec, graph, minimap).items() if found} == {}


@pytest.mark.parametrize(
    ("constraint", "bounds"),
    [
        ("critical_path_rooms", lambda n: {"min": n + 1}),
        ("locks", lambda n: {"max": n - 1}),
        ("enemies", lambda n: {"min": n + 1}),
        ("treasures", lambda n: {"max": n - 1}),
    ],
)
def test_a_count_out_of_the_asked_range_is_found(
    example: tuple[dict[str, Any], dict[str, Any], str], constraint: str, bounds: Any
) -> None:
    """Given the example's level checked against a spec asking its count one past it
    Then the constraint rule names the count."""
    spec, graph, minimap = example
    asked = copy.deepcopy(spec)
    asked["constraints"][constraint] = bounds(graph["stats"][constraint])
    graph = {**graph, "spec": asked}

    assert any(p.startswith(f"{constraint}:") for p in problems(asked, graph, minimap, "constraints"))


def test_a_treasure_missing_from_the_minimap_is_found(
    example: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    """Given a treasure's tile turned to floor on the minimap
    Then the count from the minimap disagrees with the scene graph and is reported."""
    spec, graph, minimap = example
    treasure = next(item for item in graph["items"] if item["kind"] == "treasure")
    emptied = set_tile(minimap, treasure["pos"]["x"], treasure["pos"]["y"], ".")

    assert any("treasures:" in p for p in problems(spec, graph, emptied, "constraints"))


def test_enemies_weakening_along_the_path_break_pacing(
    example: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    """Given the strongest common enemy of the path's last room holding some made weak
    Then pacing: rising is reported broken."""
    spec, graph, minimap = example
    graph = copy.deepcopy(graph)
    path = graph["critical_path"]
    held = [e for e in graph["enemies"] if e["room"] in path[1:] and not e["boss"]]
    last = max(held, key=lambda e: path.index(e["room"]))
    for enemy in graph["enemies"]:
        if enemy["room"] == last["room"]:
            enemy["level"] = 0

    assert any(p.startswith("pacing:") for p in problems(spec, graph, minimap, "constraints"))


def test_a_boss_away_from_the_exit_breaks_pacing(example: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    spec, graph, minimap = example
    graph = copy.deepcopy(graph)
    boss = next(e for e in graph["enemies"] if e["boss"])
    boss["room"] = graph["entrance"]["room"]

    assert any("boss" in p for p in problems(spec, graph, minimap, "constraints"))


def test_a_prefab_inside_not_as_drawn_is_found(example: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    """Given the shrine's treasure (drawn at the middle) shown as floor
    Then the prefab rule reports the cell."""
    spec, graph, minimap = example
    bounds = shrine(graph)["bounds"]
    changed = set_tile(minimap, bounds["x"] + 1, bounds["y"] + 1, ".")

    assert any("where '$' is drawn" in p for p in problems(spec, graph, changed, "prefabs"))


def test_a_door_where_the_drawing_has_wall_is_found(
    example: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    """Given a door of the shrine moved onto a wall position of its drawing
    Then the prefab rule reports both the cell and the door."""
    spec, graph, minimap = copy.deepcopy(example[0]), copy.deepcopy(example[1]), example[2]
    room = shrine(graph)
    door = next(d for d in graph["doors"] if d["joins"][0] == room["id"])
    bottom = room["bounds"]["y"] + room["bounds"]["h"]
    door["pos"] = {"x": room["bounds"]["x"] + 1, "y": bottom}
    moved = set_tile(minimap, door["pos"]["x"], bottom, "+")

    found = problems(spec, graph, moved, "prefabs")
    assert any("where '#' is drawn" in p for p in found)
    assert any("not at a drawn door position" in p for p in found)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda spec: spec["prefabs"][0].update(placement="critical"), "off the critical path"),
        (lambda spec: spec["prefabs"][0].update(count=2), "1 copies, not 2"),
        (
            lambda spec: spec["prefabs"][0].update(map=["##+##", "#...#", "+...#", "#.$.#", "#####"]),
            "is drawn",
        ),
    ],
)
def test_a_copy_against_another_drawing_or_placement_is_found(
    example: tuple[dict[str, Any], dict[str, Any], str], change: Any, expected: str
) -> None:
    """Given the example's level checked against a spec whose shrine is placed critical,
    asked twice, or drawn otherwise
    Then the prefab rule says so."""
    spec, graph, minimap = copy.deepcopy(example[0]), example[1], example[2]
    change(spec)

    assert any(expected in p for p in problems(spec, {**graph, "spec": spec}, minimap, "prefabs"))


def test_a_copy_that_is_the_entrance_is_found(example: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    spec, graph, minimap = example
    graph = copy.deepcopy(graph)
    graph["entrance"]["room"] = shrine(graph)["id"]

    assert any("entrance or the exit" in p for p in problems(spec, graph, minimap, "prefabs"))


def test_corridors_joined_beside_a_path_room_are_walked_past_it(
    example: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    """Given the example's level with a way of corridor tiles dug between the corridor
    into the second room of the critical path and the corridor out of it
    Then walked on its tiles the exit is nearer than the critical path says, and the walk
    rule reports it (the room graph alone, unchanged, would not)."""
    spec, graph, minimap = example
    assert problems(spec, graph, minimap, "walk") == []
    path, via = graph["critical_path"], graph["critical_path_corridors"]
    assert len(path) >= 3
    tiles = {c["id"]: [tuple(t) for t in c["tiles"]] for c in graph["corridors"]}
    footprint = set()
    for room in graph["rooms"]:
        b = room["bounds"]
        columns, rows = range(b["x"] - 1, b["x"] + b["w"] + 1), range(b["y"] - 1, b["y"] + b["h"] + 1)
        footprint |= {(x, y) for x in columns for y in rows}
    start, goals = tiles[via[0]][-1], set(tiles[via[1]])
    came: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
    queue, found = [start], None
    for tile in queue:
        if tile in goals:
            found = tile
            break
        x, y = tile
        for near in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            inside = 0 < near[0] < graph["size"]["w"] - 1 and 0 < near[1] < graph["size"]["h"] - 1
            if inside and near not in came and near not in footprint:
                came[near] = tile
                queue.append(near)
    assert found is not None
    dug = minimap
    while found is not None:
        dug = set_tile(dug, found[0], found[1], ".")
        found = came[found]

    assert problems(spec, graph, dug, "walk") == [
        f"walked on its tiles the exit is {len(path) - 2} rooms on, not {len(path) - 1}"
    ]
