"""The Tiled JSON export, read back by an independent parser (pytiled-parser)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytiled_parser
from hypothesis import given, settings
from pytiled_parser import ObjectLayer, TiledMap, TileLayer
from pytiled_parser.tiled_object import Polyline, Rectangle

from levelforge.generation import encode_json, generate_level
from levelforge.generation.export import EXPORTS
from levelforge.generation.export.tiled import tiled_map

from .strategies import THEMES, fitting_specs

TILE = 16
KIND_OF_CHAR = {
    "#": "wall",
    "+": "door",
    "L": "locked_door",
    **dict.fromkeys(".@>k$eB", "floor"),
}


def export(level_spec: dict[str, Any]) -> tuple[dict[str, Any], str, bytes]:
    level = generate_level(level_spec)
    _, tiled_json = EXPORTS["tiled.json"]
    return level.scene_graph, level.minimap, tiled_json(level.scene_graph, level.minimap)


def parse(data: bytes) -> TiledMap:
    """The map as pytiled-parser reads it from a file."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "level.json"
        path.write_bytes(data)
        return pytiled_parser.parse_map(path)


def layer(tiled: TiledMap, name: str) -> Any:
    return next(found for found in tiled.layers if found.name == name)


def expected_objects(graph: dict[str, Any]) -> list[tuple[str, str, int, int, dict[str, Any]]]:
    """(class, name, x, y, properties) of every object the map should hold."""
    expected = [
        (
            "door",
            door["id"],
            door["pos"]["x"],
            door["pos"]["y"],
            {"locked": door["locked"], "key": door["key"] or "", "joins": ",".join(door["joins"])},
        )
        for door in graph["doors"]
    ]
    for item in graph["items"]:
        properties = {"room": item["room"]}
        if item["kind"] == "key":
            properties["opens"] = ",".join(item["opens"])
        expected.append((item["kind"], item["id"], item["pos"]["x"], item["pos"]["y"], properties))
    for enemy in graph["enemies"]:
        properties = {key: enemy[key] for key in ("type", "level", "boss", "room")}
        expected.append(("enemy", enemy["id"], enemy["pos"]["x"], enemy["pos"]["y"], properties))
    for name in ("entrance", "exit"):
        place = graph[name]
        expected.append((name, name, place["pos"]["x"], place["pos"]["y"], {"room": place["room"]}))
    return expected


def assert_map_matches(graph: dict[str, Any], minimap: str, tiled: TiledMap) -> None:
    width, height = graph["size"]["w"], graph["size"]["h"]
    assert (tiled.map_size.width, tiled.map_size.height) == (width, height)
    assert (tiled.tile_size.width, tiled.tile_size.height) == (TILE, TILE)
    assert (tiled.orientation, tiled.render_order, tiled.infinite) == ("orthogonal", "right-down", False)

    tileset = tiled.tilesets[1]
    kind_of_gid = {1 + tile_id: tile.class_ for tile_id, tile in (tileset.tiles or {}).items()}
    tiles = layer(tiled, "tiles")
    assert isinstance(tiles, TileLayer)
    assert tiles.data is not None
    rows = minimap.split("\n")[:-1]
    assert len(tiles.data) == height
    for y, (row, gids) in enumerate(zip(rows, tiles.data, strict=True)):
        assert len(gids) == width, f"row {y}"
        seen = [kind_of_gid[gid] if gid else None for gid in gids]
        assert seen == [KIND_OF_CHAR.get(char) for char in row], f"row {y}"

    entities = layer(tiled, "entities")
    assert isinstance(entities, ObjectLayer)
    found = []
    for obj in entities.tiled_objects:
        assert (obj.size.width, obj.size.height) == (TILE, TILE)
        tile_x, tile_y = obj.coordinates.x / TILE, obj.coordinates.y / TILE
        found.append((obj.class_, obj.name, tile_x, tile_y, dict(obj.properties or {})))
    assert found == expected_objects(graph)
    names = [found.name for found in tiled.layers]
    if "constraints" in graph["spec"] or "prefabs" in graph["spec"]:
        assert names == ["tiles", "entities", "design"]
        assert_design_matches(graph, layer(tiled, "design"))
    else:
        assert names == ["tiles", "entities"]
    ids = [obj.id for each in names[1:] for obj in layer(tiled, each).tiled_objects]
    assert ids == list(range(1, len(ids) + 1))
    assert tiled.next_object_id == len(ids) + 1


def room_centre_pixels(room: dict[str, Any]) -> tuple[float, float]:
    bounds = room["bounds"]
    return (bounds["x"] + bounds["w"] / 2) * TILE, (bounds["y"] + bounds["h"] / 2) * TILE


def assert_design_matches(graph: dict[str, Any], design: Any) -> None:
    """The design layer: the critical path as a polyline through its rooms' centres, in
    order, then one rectangle over the floor of each room tagged ``prefab:NAME``."""
    assert isinstance(design, ObjectLayer)
    rooms = {room["id"]: room for room in graph["rooms"]}
    path, *prefabs = design.tiled_objects
    assert isinstance(path, Polyline)
    assert (path.name, path.class_) == ("critical_path", "critical_path")
    points = [(path.coordinates.x + p.x, path.coordinates.y + p.y) for p in path.points]
    assert points == [room_centre_pixels(rooms[room_id]) for room_id in graph["critical_path"]]
    assert dict(path.properties or {}) == {"rooms": ",".join(graph["critical_path"])}
    expected = [
        (room["id"], tag.removeprefix("prefab:"), room["bounds"])
        for room in graph["rooms"]
        for tag in room["tags"]
        if tag.startswith("prefab:")
    ]
    found = []
    for obj in prefabs:
        assert isinstance(obj, Rectangle)
        assert obj.class_ == "prefab"
        bounds = {
            "x": obj.coordinates.x / TILE,
            "y": obj.coordinates.y / TILE,
            "w": obj.size.width / TILE,
            "h": obj.size.height / TILE,
        }
        properties = dict(obj.properties or {})
        assert properties["critical"] == (obj.name in graph["critical_path"])
        found.append((obj.name, properties["prefab"], bounds))
    assert found == expected


SHRINE = ["##+##", "#...#", "+.$.#", "#...#", "#####"]


def with_prefab_tags(graph: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """A copy of ``graph`` as a level with prefabs is (CONTRACT §4.1): its spec holds
    ``prefabs`` and its rooms ``tags`` (id → prefab name) are tagged ``prefab:NAME``."""
    tagged = json.loads(json.dumps(graph))
    names = sorted(set(tags.values()))
    tagged["spec"]["prefabs"] = [
        {"name": name, "map": SHRINE, "count": 1, "placement": "any"} for name in names
    ]
    for room in tagged["rooms"]:
        if room["id"] in tags:
            room["tags"].append(f"prefab:{tags[room['id']]}")
    return tagged


def test_a_level_without_design_has_no_design_layer() -> None:
    """Given a level whose spec has neither ``constraints`` nor ``prefabs``
    When its tiled.json is written
    Then it has its two layers only, as before designer controls existed."""
    _, _, data = export({"seed": 12, "width": 60, "height": 40, "rooms": 12})

    document = json.loads(data)

    assert [lay["name"] for lay in document["layers"]] == ["tiles", "entities"]
    assert document["nextlayerid"] == 3


def test_constraints_alone_give_a_design_layer_with_the_critical_path() -> None:
    """Given a level whose spec holds ``constraints`` (and no prefabs)
    When its tiled.json is written and read back
    Then its design layer holds the critical path alone, through its rooms' centres."""
    level = generate_level({"seed": 12, "width": 60, "height": 40, "rooms": 12})
    graph = json.loads(json.dumps(level.scene_graph))
    graph["spec"]["constraints"] = {"critical_path_rooms": {"min": 3}}
    _, tiled_json = EXPORTS["tiled.json"]

    data = tiled_json(graph, level.minimap)

    tiled = parse(data)
    assert_map_matches(graph, level.minimap, tiled)
    assert [obj.name for obj in layer(tiled, "design").tiled_objects] == ["critical_path"]
    assert data == encode_json(tiled_map(graph, level.minimap))


def test_prefab_rooms_and_the_critical_path_are_objects_of_the_design_layer() -> None:
    """Given a level with prefabs whose scene graph tags a room off the critical path
    ``prefab:shrine`` and one on it ``prefab:altar``
    When its tiled.json is written and read by pytiled-parser
    Then the design layer holds the critical path's polyline through its rooms' centres
    and a ``prefab`` rectangle over each tagged room's floor, with the prefab's name and
    whether it is on the path, ids following the entities'; both writers agree."""
    level = generate_level({"seed": 31, "width": 60, "height": 40, "rooms": 12})
    path = level.scene_graph["critical_path"]
    side = next(room["id"] for room in level.scene_graph["rooms"] if room["id"] not in path)
    graph = with_prefab_tags(level.scene_graph, {side: "shrine", path[1]: "altar"})
    _, tiled_json = EXPORTS["tiled.json"]

    data = tiled_json(graph, level.minimap)

    tiled = parse(data)
    assert_map_matches(graph, level.minimap, tiled)
    prefabs = {obj.name: dict(obj.properties or {}) for obj in layer(tiled, "design").tiled_objects[1:]}
    assert prefabs == {
        side: {"prefab": "shrine", "critical": False},
        path[1]: {"prefab": "altar", "critical": True},
    }
    assert data == encode_json(tiled_map(graph, level.minimap))


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(
    ("width", "height", "rooms"),
    [(16, 16, 4), (16, 16, 1), (64, 40, 12), (17, 90, 20), (160, 100, 60)],
)
def test_pytiled_parser_reads_the_level_tile_for_tile_and_object_for_object(
    theme: str, width: int, height: int, rooms: int
) -> None:
    """Given a level of each theme and size
    When its tiled.json is read by pytiled-parser from a file
    Then the map has the level's size, every tile is the minimap's, and every door, key,
    treasure, enemy, entrance and exit is an object on its tile with its properties."""
    spec = {"seed": 99, "width": width, "height": height, "rooms": rooms, "theme": theme, "difficulty": 8}
    graph, minimap, data = export(spec)

    assert_map_matches(graph, minimap, parse(data))


@settings(max_examples=15, deadline=None)
@given(fitting_specs(max_side=80))
def test_every_fitting_spec_exports_a_map_that_matches_its_level(spec: dict[str, Any]) -> None:
    """Given any spec that fits
    When its level's tiled.json is read by pytiled-parser
    Then tiles and objects match the minimap and the scene graph."""
    graph, minimap, data = export(spec)

    assert_map_matches(graph, minimap, parse(data))
    assert data == encode_json(tiled_map(graph, minimap))


def test_the_artifact_is_the_encoded_map_in_the_current_tiled_format() -> None:
    """Given a level
    When its tiled.json is made
    Then it is exactly encode_json(tiled_map(...)), in Tiled's JSON map format, with typed
    properties and an embedded tileset of one tile per kind."""
    graph, minimap, data = export({"seed": 5, "difficulty": 9})

    assert data == encode_json(tiled_map(graph, minimap))
    document = json.loads(data)
    assert document["type"] == "map"
    assert isinstance(document["version"], str)
    assert isinstance(document["tiledversion"], str)
    assert [lay["type"] for lay in document["layers"]] == ["tilelayer", "objectgroup"]
    assert document["nextlayerid"] == 3
    (tileset,) = document["tilesets"]
    assert tileset["firstgid"] == 1
    assert [tile["type"] for tile in tileset["tiles"]] == ["wall", "floor", "door", "locked_door"]
    assert tileset["tilecount"] == tileset["columns"] == 4
    for obj in document["layers"][1]["objects"]:
        for prop in obj["properties"]:
            assert set(prop) == {"name", "type", "value"}
            assert prop["type"] in {"bool", "int", "string"}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(
    ("width", "height", "rooms", "seed"),
    [(16, 16, 1, 0), (16, 16, 4, 1), (60, 40, 12, 2), (200, 200, 150, 3), (512, 24, 100, 4)],
)
def test_the_fast_writer_gives_exactly_the_encoded_map(
    theme: str, width: int, height: int, rooms: int, seed: int
) -> None:
    """Given a level of each theme and size
    When tiled.json is written straight from the scene graph and the minimap
    Then it is byte for byte the compact encoding of tiled_map(...)."""
    spec = {"seed": seed, "width": width, "height": height, "rooms": rooms, "theme": theme}
    graph, minimap, data = export(spec)

    assert data == encode_json(tiled_map(graph, minimap))


def test_the_same_level_gives_the_same_bytes() -> None:
    """Given one spec
    When tiled.json is made twice, from two generations
    Then the bytes are identical."""
    spec = {"seed": 77, "width": 90, "height": 70, "rooms": 30, "theme": "crypt"}

    assert export(spec)[2] == export(spec)[2]


@pytest.mark.parametrize(
    "broken",
    [
        lambda minimap: minimap[:-1],
        lambda minimap: minimap.replace(".", "?", 1),
        lambda minimap: minimap + minimap.split("\n")[0] + "\n",
    ],
    ids=["short", "unknown char", "extra row"],
)
def test_a_minimap_that_does_not_fit_the_scene_graph_is_refused(broken: Any) -> None:
    """Given a level
    When its minimap is damaged (a character short, an unknown character, a row too many)
    Then the export raises ValueError rather than writing a wrong map."""
    level = generate_level({"seed": 3})
    _, tiled_json = EXPORTS["tiled.json"]

    with pytest.raises(ValueError, match="minimap"):
        tiled_json(level.scene_graph, broken(level.minimap))
    with pytest.raises(ValueError, match="minimap"):
        tiled_map(level.scene_graph, broken(level.minimap))
