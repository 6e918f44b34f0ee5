"""The designer's marks the exports draw (critical path, prefab rooms): read from the scene
graph's bytes (the compiled core's way) exactly as from the parsed scene graph."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levelforge.generation import encode_json, generate_level, run_pipeline
from levelforge.generation.export.design import Bounds, Design, PrefabRoom, design_of, design_of_json
from levelforge.generation.pipeline import Level
from levelforge.generation.spec import parse_spec

from .strategies import fitting_specs

needs_core = pytest.mark.skipif(
    os.environ.get("LEVELFORGE_PURE_PYTHON") == "1",
    reason="LEVELFORGE_PURE_PYTHON=1: the compiled core is off",
)


def tagged(graph: dict[str, Any], every: int) -> dict[str, Any]:
    """A copy of ``graph`` with every ``every``-th room tagged ``prefab:p<index>``."""
    copy = json.loads(json.dumps(graph))
    for index, room in enumerate(copy["rooms"]):
        if index % every == 0:
            room["tags"].append(f"prefab:p{index}")
    return copy


def test_the_marks_of_a_scene_graph_are_its_path_and_its_tagged_rooms() -> None:
    """Given a level whose second room is tagged ``prefab:shrine``
    When its marks are read
    Then the path is the critical path's rooms with their bounds, in order, and the prefab
    rooms are the tagged ones."""
    graph = generate_level({"seed": 4, "width": 60, "height": 40, "rooms": 12}).scene_graph
    graph["rooms"][1]["tags"].append("prefab:shrine")
    rooms = {room["id"]: room["bounds"] for room in graph["rooms"]}

    design = design_of(graph)

    assert [room for room, _ in design.path] == graph["critical_path"]
    assert [bounds._asdict() for _, bounds in design.path] == [rooms[r] for r in graph["critical_path"]]
    assert design.prefabs == [PrefabRoom("r1", "shrine", Bounds(**rooms["r1"]))]


@settings(max_examples=40, deadline=None)
@given(fitting_specs(max_side=120), st.integers(1, 5))
def test_reading_the_bytes_gives_what_parsing_them_gives(spec: dict[str, Any], every: int) -> None:
    """Given any level, as generated and with some rooms tagged as prefabs
    When the marks are read from its compact JSON bytes
    Then they are those of the parsed scene graph (prefabs skipped only when asked)."""
    graph = generate_level(spec).scene_graph
    for candidate in (graph, tagged(graph, every)):
        data = encode_json(candidate)

        assert design_of_json(data) == design_of(candidate)
    assert design_of_json(encode_json(graph), prefabs=False) == design_of(graph)


def test_bytes_written_another_way_are_parsed_instead() -> None:
    """Given a scene graph written with indentation and its rooms' keys reordered
    When its marks are read from those bytes
    Then the reader falls back to parsing and gives the same marks."""
    graph = tagged(generate_level({"seed": 9}).scene_graph, 3)
    graph["rooms"] = [dict(reversed(list(room.items()))) for room in graph["rooms"]]

    for data in (json.dumps(graph, indent=2).encode(), encode_json(graph)):
        assert design_of_json(data) == design_of(graph)


def test_a_one_room_level_has_a_path_of_one_room() -> None:
    """Given a one-room level
    When its marks are read from its bytes
    Then the path is that room alone and there are no prefab rooms."""
    level = generate_level({"seed": 1, "width": 16, "height": 16, "rooms": 1})

    design = design_of_json(encode_json(level.scene_graph))

    assert design == Design([("r0", Bounds(**level.scene_graph["rooms"][0]["bounds"]))], [])


def artifacts(spec: dict[str, Any], *, pure: bool) -> dict[str, bytes]:
    steps = run_pipeline(spec, pure=pure)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            level: Level = done.value
            return level.artifacts()


@needs_core
@pytest.mark.parametrize(("width", "height", "rooms"), [(16, 16, 1), (60, 40, 12), (200, 120, 150)])
def test_a_designed_level_is_marked_alike_by_both_pipelines(width: int, height: int, rooms: int) -> None:
    """Given a normalised spec that holds ``constraints``
    When its level is made by the compiled core and by the pure pipeline
    Then every artifact is byte-identical, and both exports carry the critical path."""
    spec = parse_spec({"seed": 5, "width": width, "height": height, "rooms": rooms})
    spec["constraints"] = {"critical_path_rooms": {"min": 1}}

    compiled, pure = artifacts(spec, pure=False), artifacts(spec, pure=True)

    assert compiled == pure
    assert b'class="critical-path"' in compiled["preview.svg"]
    assert json.loads(compiled["tiled.json"])["layers"][2]["objects"][0]["name"] == "critical_path"
