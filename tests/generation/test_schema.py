"""The published JSON Schema of the scene graph (``levelforge.scene-graph/1``): every
generated scene graph conforms, and the schema refuses broken ones."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

from levelforge.generation import generate_level
from levelforge.schemas import load_scene_graph_schema

from .strategies import THEMES, fitting_specs

SCHEMA = load_scene_graph_schema()
VALIDATOR = Draft202012Validator(SCHEMA)  # format checks off: no format_checker


def published_scene_graph(spec: dict[str, Any]) -> dict[str, Any]:
    """The scene graph as published: the bytes of the artifact, parsed back."""
    parsed: dict[str, Any] = json.loads(generate_level(spec).artifacts()["scene-graph.json"])
    return parsed


def errors(scene_graph: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(scene_graph)]


def test_the_schema_is_a_valid_draft_2020_12_schema_with_the_contract_id() -> None:
    """Given the schema shipped in the package
    When it is checked against the draft 2020-12 metaschema
    Then it is valid and names the contract's schema id."""
    Draft202012Validator.check_schema(SCHEMA)

    assert SCHEMA["title"] == "levelforge.scene-graph/1"
    assert SCHEMA["properties"]["schema"] == {"const": "levelforge.scene-graph/1"}


@settings(max_examples=30, deadline=None)
@given(fitting_specs(max_side=96))
def test_every_generated_scene_graph_conforms(spec: dict[str, Any]) -> None:
    """Given any spec that fits
    When its level is generated
    Then its published scene graph conforms to the schema."""
    assert errors(published_scene_graph(spec)) == []


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(
    ("width", "height", "rooms"),
    [(16, 16, 4), (16, 16, 1), (64, 40, 12), (160, 100, 60)],
)
def test_levels_of_every_theme_and_size_conform(theme: str, width: int, height: int, rooms: int) -> None:
    """Given a spec of each theme, from the smallest map to a large one
    When its level is generated
    Then its published scene graph conforms to the schema."""
    spec = {"seed": 4242, "width": width, "height": height, "rooms": rooms, "theme": theme, "difficulty": 7}

    assert errors(published_scene_graph(spec)) == []


def test_a_level_of_the_largest_map_conforms() -> None:
    """Given a spec of the largest map (512x512; 150 rooms keep the validation quick)
    When its level is generated
    Then its published scene graph conforms to the schema."""
    spec = {"seed": 1, "width": 512, "height": 512, "rooms": 150, "difficulty": 10, "loops": 1.0}

    assert errors(published_scene_graph(spec)) == []


def _locked(graph: dict[str, Any]) -> dict[str, Any]:
    return next(door for door in graph["doors"] if door["locked"])


def _key(graph: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in graph["items"] if item["kind"] == "key")


BREAKAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "no stats": lambda g: g.pop("stats"),
    "no critical path": lambda g: g.pop("critical_path"),
    "a stat missing": lambda g: g["stats"].pop("attempts"),
    "another schema id": lambda g: g.update(schema="levelforge.scene-graph/2"),
    "a seed as a string": lambda g: g.update(seed=str(g["seed"])),
    "a map too small": lambda g: g["size"].update(w=15),
    "a room id without r": lambda g: g["rooms"][0].update(id="room0"),
    "a room without bounds": lambda g: g["rooms"][0].pop("bounds"),
    "a room of 2 tiles wide": lambda g: g["rooms"][0]["bounds"].update(w=2),
    "a corridor id of a room": lambda g: g["corridors"][0].update(id="r0"),
    "a corridor tile of three numbers": lambda g: g["corridors"][0]["tiles"].append([1, 2, 3]),
    "a corridor tile as an object": lambda g: g["corridors"][0]["tiles"].append({"x": 1, "y": 2}),
    "a door joining an enemy": lambda g: g["doors"][0].update(joins=["r0", "e1"]),
    "a negative position": lambda g: g["doors"][0]["pos"].update(x=-1),
    "a position without y": lambda g: g["entrance"]["pos"].pop("y"),
    "a locked door without its key": lambda g: _locked(g).update(key=None),
    "an open door with a key": lambda g: g["doors"].append({**_locked(g), "locked": False}),
    "a door key that is not a key id": lambda g: _locked(g).update(key="t0"),
    "an item of an unknown kind": lambda g: _key(g).update(kind="potion"),
    "a key that opens nothing": lambda g: _key(g).pop("opens"),
    "a key with a treasure id": lambda g: _key(g).update(id="t9"),
    "an enemy level as a string": lambda g: g["enemies"][0].update(level="3"),
    "an enemy boss flag as 0": lambda g: g["enemies"][0].update(boss=0),
    "an enemy id without e": lambda g: g["enemies"][0].update(id="m0"),
    "an unknown theme": lambda g: g["spec"].update(theme="space"),
    "a critical path through a corridor": lambda g: g["critical_path"].append("c0"),
}


@pytest.fixture(scope="module")
def rich_scene_graph() -> dict[str, Any]:
    """A scene graph with locked and open doors, keys, treasure and enemies."""
    for seed in range(50):
        graph = published_scene_graph({"seed": seed, "difficulty": 6})
        kinds = {item["kind"] for item in graph["items"]}
        if {"key", "treasure"} <= kinds and graph["enemies"] and graph["stats"]["locks"]:
            return graph
    raise AssertionError("no seed gave a level with every kind of thing")


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_the_schema_refuses_a_broken_scene_graph(rich_scene_graph: dict[str, Any], breakage: str) -> None:
    """Given a conforming scene graph
    When one contract field is removed, mistyped or misnamed
    Then the schema refuses it."""
    graph = copy.deepcopy(rich_scene_graph)
    assert errors(graph) == []

    BREAKAGES[breakage](graph)

    assert errors(graph) != []


def test_the_schema_accepts_fields_added_later(rich_scene_graph: dict[str, Any]) -> None:
    """Given a conforming scene graph
    When fields the contract does not name are added (the contract allows it)
    Then it still conforms."""
    graph = copy.deepcopy(rich_scene_graph)
    graph["theme_style"] = {"walls": "mossy"}
    graph["rooms"][0]["shape"] = "cavern"
    graph["enemies"][0]["hp"] = 12

    assert errors(graph) == []
