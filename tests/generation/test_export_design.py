"""The designer's marks the exports draw (CONTRACT §4.1): the critical path and the
prefab rooms of a designed level, read from its scene graph; none for any other level."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from levelforge.errors import SpecError
from levelforge.generation import encode_json, generate_level
from levelforge.generation.export import EXPORTS
from levelforge.generation.export.design import Bounds, Design, PrefabRoom, design_for, design_of
from levelforge.generation.export.tiled import tiled_map
from levelforge.generation.spec import parse_spec
from tests.generation.designs import EXAMPLE

SVG = "{http://www.w3.org/2000/svg}"
ISSUE_SPEC = EXAMPLE  # the issue's curl example (tests/generation/designs.py)


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


def test_only_a_designed_spec_is_marked() -> None:
    """Given a level's scene graph without designer fields, then with each of them
    When the exports ask for its marks
    Then there are none without them, and the same marks with either."""
    graph = generate_level({"seed": 4}).scene_graph

    assert design_for(graph) is None
    for field, value in (("constraints", {"locks": {"min": 1}}), ("prefabs", [{"name": "x"}])):
        designed = json.loads(json.dumps(graph))
        designed["spec"][field] = value
        assert design_for(designed) == design_of(graph)


def test_a_one_room_level_has_a_path_of_one_room() -> None:
    """Given a one-room level
    When its marks are read
    Then the path is that room alone and there are no prefab rooms."""
    graph = generate_level({"seed": 1, "width": 16, "height": 16, "rooms": 1}).scene_graph

    assert design_of(graph) == Design([("r0", Bounds(**graph["rooms"][0]["bounds"]))], [])


@pytest.mark.parametrize("pure", [False, True], ids=["default", "pure"])
def test_the_issues_example_is_marked_in_both_exports(pure: bool) -> None:
    """Given the issue's example spec (constraints and a shrine off the critical path)
    When its level is generated (with the compiled core available, and pure)
    Then preview.svg draws the critical path through its rooms and outlines the shrine's
    room, tiled.json's design layer holds both, and both exports are the same bytes
    either way."""
    level = generate_level(ISSUE_SPEC, pure=pure)
    graph = level.scene_graph
    (shrine,) = [room for room in graph["rooms"] if "prefab:shrine" in room["tags"]]
    artifacts = level.artifacts()

    root = ET.fromstring(artifacts["preview.svg"])
    (outline,) = [rect for rect in root.iter(SVG + "rect") if rect.get("data-prefab")]
    assert (outline.get("data-room"), outline.get("data-prefab")) == (shrine["id"], "shrine")
    (line,) = [path for path in root.iter(SVG + "path") if path.get("class") == "critical-path"]
    assert len(line.get("d", "").split("L")) == len(graph["critical_path"]) >= 6
    layer = json.loads(artifacts["tiled.json"])["layers"][2]
    assert [(obj["type"], obj["name"]) for obj in layer["objects"]] == [
        ("critical_path", "critical_path"),
        ("prefab", shrine["id"]),
    ]
    assert artifacts["tiled.json"] == encode_json(tiled_map(graph, level.minimap))
    other = generate_level(ISSUE_SPEC, pure=not pure).artifacts()
    for name in EXPORTS:
        assert artifacts[name] == other[name], name


ROOT = Path(__file__).parents[2]


def test_the_readmes_designed_level_is_the_examples() -> None:
    """Given the README's "Designing levels" section and its picture in docs/
    When the issue's example spec is generated, and the refused spec it quotes checked
    Then the section's curl body is that spec, its minimap is the level's minimap,
    docs/designed-level.svg is the level's preview.svg, byte for byte, and the refusal
    it quotes is the one the spec gets."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Designing levels", 1)[1].split("\n## ", 1)[0]
    body, minimap = re.findall(r"-d '(\{.*?\})'\n```\n\n```\n(.*?)```", section, flags=re.S)[0]
    level = generate_level(ISSUE_SPEC)

    assert json.loads(body) == ISSUE_SPEC
    assert minimap == level.minimap
    assert (ROOT / "docs" / "designed-level.svg").read_bytes() == level.artifacts()["preview.svg"]
    assert "](docs/designed-level.svg)" in section
    refused, message = re.findall(r"`(\{.*?\})` gets `(.*?)`", " ".join(section.split()))[0]
    with pytest.raises(SpecError) as error:
        parse_spec(json.loads(refused))
    assert str(error.value) == message
