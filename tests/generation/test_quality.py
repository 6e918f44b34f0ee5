"""Issue 3's quality rules that hold across levels rather than in each one (the per-level
rules are the independent checker's: see ``checker.py``)."""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from levelforge.generation import encode_json, generate_level

from .checker import check_level, room_distances, room_graph

BASE = {"width": 96, "height": 64, "rooms": 24, "loops": 0.2}
SEEDS = range(8)


def levels(**spec: Any) -> list[dict[str, Any]]:
    graphs = []
    for seed in SEEDS:
        level = generate_level({**BASE, **spec, "seed": seed})
        assert check_level(level.spec, level.scene_graph, level.minimap) == []
        graphs.append(level.scene_graph)
    return graphs


def locked_rooms(graph: dict[str, Any]) -> int:
    return sum(item["kind"] == "key" for item in graph["items"])


def test_harder_levels_have_more_locks_and_more_enemies() -> None:
    """Given the same seeds at difficulty 1 and at difficulty 10
    When their levels are generated
    Then the hard ones have more locked rooms and more enemies on average."""
    easy, hard = levels(difficulty=1), levels(difficulty=10)

    assert statistics.mean(map(locked_rooms, hard)) > statistics.mean(map(locked_rooms, easy)) + 1
    assert statistics.mean(len(g["enemies"]) for g in hard) > 3 * statistics.mean(
        len(g["enemies"]) for g in easy
    )


def test_themes_change_the_level_not_just_the_names() -> None:
    """Given the same seeds in each theme
    When their levels are generated
    Then dungeons have straight corridors and rectangles, crypts smaller rooms, winding
    corridors and more locks, caves caverns and ragged corridors."""
    by_theme = {theme: levels(theme=theme, difficulty=5) for theme in ("dungeon", "crypt", "cave")}

    def area(graphs: list[dict[str, Any]]) -> float:
        return statistics.mean(room["area"] for g in graphs for room in g["rooms"])

    def tiles_per_corridor(graphs: list[dict[str, Any]]) -> float:
        return statistics.mean(len(c["tiles"]) for g in graphs for c in g["corridors"])

    dungeon, crypt, cave = by_theme["dungeon"], by_theme["crypt"], by_theme["cave"]
    assert area(crypt) < area(dungeon) / 2
    assert tiles_per_corridor(crypt) > tiles_per_corridor(dungeon)
    assert statistics.mean(map(locked_rooms, crypt)) > statistics.mean(map(locked_rooms, dungeon))
    assert all(room["shape"] == "rect" for g in dungeon + crypt for room in g["rooms"])
    assert statistics.mean(sum(r["shape"] == "cavern" for r in g["rooms"]) for g in cave) > 5
    assert {e["type"] for g in crypt for e in g["enemies"]}.isdisjoint({"goblin", "orc", "bat", "spider"})


def test_loops_shorten_long_detours() -> None:
    """Given levels with loops
    When each loop corridor is taken away
    Then the rooms it joins are on average more than three corridors apart: loops go
    where they save long detours, not between near rooms."""
    detours = []
    for graph in levels(loops=0.15):
        for corridor in (c for c in graph["corridors"] if c["loop"]):
            rest = {**graph, "corridors": [c for c in graph["corridors"] if c is not corridor]}
            a, b = corridor["connects"]
            detours.append(room_distances(room_graph(rest), a)[b])

    assert detours
    assert statistics.mean(detours) > 3


@pytest.mark.parametrize("theme", ["dungeon", "crypt", "cave"])
def test_the_scene_graph_artifact_is_exactly_encode_json_of_the_scene_graph(theme: str) -> None:
    """Given a level
    When its artifacts are taken
    Then the scene-graph bytes are exactly ``encode_json`` of the scene graph (the fast
    encoder used for it changes nothing)."""
    level = generate_level({**BASE, "seed": 5, "theme": theme})

    assert level.artifacts()["scene-graph.json"] == encode_json(level.scene_graph)
