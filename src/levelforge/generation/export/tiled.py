"""tiled_map: the level as a Tiled JSON map (orthogonal, Tiled 1.10 JSON format).

Two layers: ``tiles``, a tile layer whose gids follow the minimap (0 for rock, then one
tile per kind of tile: wall, floor, door, locked door; the tiles under entities are floor),
and ``entities``, an object layer with one rectangle object per door, key, treasure, enemy,
entrance and exit, on the pixels of its tile, with its facts as typed custom properties.
A level whose spec asks for design (``constraints`` or ``prefabs``, CONTRACT §4.1) has a
third, ``design``: an object layer with the critical path, a polyline object through the
centres of its rooms from the entrance's to the exit's (its ``rooms`` property their ids
in order), then one rectangle object per prefab room over its floor (named by the room's
id, class ``prefab``, its ``prefab`` property the prefab's name, ``critical`` whether it is
on the critical path).

The tileset is embedded and names an image, ``levelforge-tiles.png`` (four 16x16 tiles in
a row, in gid order), that the service does not ship. Both Tiled and pytiled-parser load a
map whose tileset image is missing (Tiled shows the tiles as missing until the image is
supplied, pytiled-parser only records the path); a tileset without an image would instead
be an image-collection tileset, which Tiled also loads but engines support less well.
Each tile also carries its kind as its type and a ``walkable`` property, so a game can map
tiles to its own art without any image.

Pure: a function of the scene graph and minimap; same input, same output.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

from levelforge.generation.export.design import Design, design_for

TILE_SIZE = 16
TILESET_IMAGE = "levelforge-tiles.png"
TILED_JSON_VERSION = "1.10"
TILED_VERSION = "1.10.2"
TILE_KINDS: tuple[tuple[str, bool], ...] = (
    ("wall", False),
    ("floor", True),
    ("door", True),
    ("locked_door", False),
)
"""(kind, walkable) of each tile, in gid order from 1; gid 0 is rock (no tile)."""

MINIMAP_GIDS: dict[str, int] = {
    " ": 0,
    "#": 1,
    ".": 2,
    "@": 2,
    ">": 2,
    "k": 2,
    "$": 2,
    "e": 2,
    "B": 2,
    "+": 3,
    "L": 4,
}
"""The gid of each minimap character: entities stand on floor."""

_LEGEND = "".join(MINIMAP_GIDS).encode() + b"\n"
_TO_GID = bytes.maketrans(_LEGEND, bytes([*MINIMAP_GIDS.values(), 0]))
_TO_DIGIT = bytes.maketrans(_LEGEND, "".join(str(gid) for gid in MINIMAP_GIDS.values()).encode() + b"\n")
Property = dict[str, Any]


def tiled_map(scene_graph: dict[str, Any], minimap: str) -> dict[str, Any]:
    """The Tiled JSON map of a level, as a JSON-ready dict."""
    width, height = scene_graph["size"]["w"], scene_graph["size"]["h"]
    design = design_for(scene_graph)
    objects = entity_objects(scene_graph)
    marks = None if design is None else design_objects(design, len(objects))
    return _compose(scene_graph, tile_gids(minimap, width, height), objects, marks)


def tiled_json(scene_graph: dict[str, Any], minimap: str) -> bytes:
    """``tiled_map(scene_graph, minimap)`` as compact JSON (``separators=(",", ":")``,
    ``ensure_ascii=False``), written straight from the scene graph and the minimap: a
    template for the map, the tileset encoded once, the tiles translated from the minimap
    as bytes, one template a kind of object. Several times faster than building the map's
    dicts and encoding them, and the same bytes (``tests/generation`` compares them)."""
    width, height = scene_graph["size"]["w"], scene_graph["size"]["h"]
    digits = _minimap_bytes(minimap, width, height).translate(_TO_DIGIT, b"\n")
    data = bytearray(2 * len(digits) - 1)
    data[0::2] = digits
    data[1::2] = b"," * (len(digits) - 1)
    design, entities = design_for(scene_graph), _object_count(scene_graph)
    head = map_head(scene_graph, entities, design)
    written = b"".join((head.encode(), data, _MIDDLE, entity_objects_json(scene_graph).encode(), _TAIL))
    return written if design is None else with_design_layer(written, design, entities)


def with_design_layer(map_json: bytes, design: Design, entities: int) -> bytes:
    """A map of two layers (``entities`` objects), as written up to ``_TAIL``, with its
    ``design`` layer added after them."""
    if not map_json.endswith(_TAIL):
        raise ValueError("not a map as tiled_json writes it")
    layer = design_layer_json(design, entities)
    return b"".join((map_json[: -len(_LAYERS_END)], b",", layer.encode(), _LAYERS_END))


def design_layer_json(design: Design, entities: int) -> str:
    """The design layer of ``design_objects(design, entities)`` as compact JSON, one
    template a kind of object (the same bytes as encoding the layer's dicts, several times
    faster)."""
    text, parts = encode_basestring, []
    if design.path:
        half = TILE_SIZE // 2
        centres = [(TILE_SIZE * b.x + half * b.w, TILE_SIZE * b.y + half * b.h) for _, b in design.path]
        x0, y0 = centres[0]
        polyline = ",".join([f'{{"x":{x - x0},"y":{y - y0}}}' for x, y in centres])
        rooms = text(",".join(room for room, _ in design.path))
        parts.append(_PATH % (entities + 1, x0, y0, rooms, polyline))
    on_path = {room for room, _ in design.path}
    for room, prefab, (x, y, w, h) in design.prefabs:
        number, critical = entities + len(parts) + 1, _BOOLS[room in on_path]
        size = (x * TILE_SIZE, y * TILE_SIZE, w * TILE_SIZE, h * TILE_SIZE)
        parts.append(_PREFAB % (number, text(room), *size, text(prefab), critical))
    return f"{_DESIGN_LAYER}{','.join(parts)}]}}"


def design_objects(design: Design, entities: int) -> list[dict[str, Any]]:
    """The design layer's objects, ids from ``entities + 1``: the critical path's polyline,
    then the prefab rooms."""
    objects: list[dict[str, Any]] = []
    if design.path:
        centres = [
            (TILE_SIZE * b.x + TILE_SIZE * b.w // 2, TILE_SIZE * b.y + TILE_SIZE * b.h // 2)
            for _, b in design.path
        ]
        x0, y0 = centres[0]
        path = _object(entities + 1, "critical_path", "critical_path", {"x": 0, "y": 0}, [])
        path.update(x=x0, y=y0, width=0, height=0)
        path["polyline"] = [{"x": x - x0, "y": y - y0} for x, y in centres]
        path["properties"] = [_string("rooms", ",".join(room for room, _ in design.path))]
        objects.append(path)
    on_path = {room for room, _ in design.path}
    for prefab in design.prefabs:
        bounds = prefab.bounds
        properties = [_string("prefab", prefab.prefab), _bool("critical", prefab.room in on_path)]
        room = _object(
            entities + len(objects) + 1, prefab.room, "prefab", {"x": bounds.x, "y": bounds.y}, properties
        )
        room.update(width=bounds.w * TILE_SIZE, height=bounds.h * TILE_SIZE)
        objects.append(room)
    return objects


def _design_layer(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": 3,
        "name": "design",
        "type": "objectgroup",
        "x": 0,
        "y": 0,
        "opacity": 1,
        "visible": True,
        "draworder": "index",
        "objects": objects,
    }


def design_object_count(design: Design) -> int:
    return (1 if design.path else 0) + len(design.prefabs)


def map_head(scene_graph: dict[str, Any], objects: int, design: Design | None = None) -> str:
    """The JSON map up to its tiles' data, for a level of ``objects`` entity objects (and
    a design layer of ``design``'s marks, when there is one). Reads only the scene graph's
    ``schema``, ``seed``, ``spec`` and ``size`` (the compiled core passes just those)."""
    width, height = scene_graph["size"]["w"], scene_graph["size"]["h"]
    spec, text = scene_graph["spec"], encode_basestring
    layers, marks = (2, 0) if design is None else (3, design_object_count(design))
    return _HEAD % (
        width,
        height,
        layers + 1,
        objects + marks + 1,
        text(scene_graph["schema"]),
        text(str(scene_graph["seed"])),
        spec["rooms"],
        spec["difficulty"],
        text(spec["theme"]),
        float.__repr__(spec["loops"]),
        width,
        height,
    )


def tile_gids(minimap: str, width: int, height: int) -> list[int]:
    """The gids of the minimap's tiles, row by row (no per-tile Python loop)."""
    return list(_minimap_bytes(minimap, width, height).translate(_TO_GID, b"\n"))


def _minimap_bytes(minimap: str, width: int, height: int) -> bytes:
    encoded = minimap.encode()
    if len(encoded) != (width + 1) * height or encoded.translate(None, _LEGEND):
        raise ValueError(f"the minimap is not {height} lines of {width} minimap legend characters")
    return encoded


def _compose(
    scene_graph: dict[str, Any],
    data: list[int],
    objects: list[dict[str, Any]],
    design: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    width, height = scene_graph["size"]["w"], scene_graph["size"]["h"]
    composed = {
        "type": "map",
        "version": TILED_JSON_VERSION,
        "tiledversion": TILED_VERSION,
        "orientation": "orthogonal",
        "renderorder": "right-down",
        "width": width,
        "height": height,
        "tilewidth": TILE_SIZE,
        "tileheight": TILE_SIZE,
        "infinite": False,
        "compressionlevel": -1,
        "nextlayerid": 3 if design is None else 4,
        "nextobjectid": _object_count(scene_graph) + len(design or ()) + 1,
        "properties": _map_properties(scene_graph),
        "tilesets": [_tileset()],
        "layers": [
            {
                "id": 1,
                "name": "tiles",
                "type": "tilelayer",
                "x": 0,
                "y": 0,
                "width": width,
                "height": height,
                "opacity": 1,
                "visible": True,
                "data": data,
            },
            {
                "id": 2,
                "name": "entities",
                "type": "objectgroup",
                "x": 0,
                "y": 0,
                "opacity": 1,
                "visible": True,
                "draworder": "topdown",
                "objects": objects,
            },
        ],
    }
    if design is not None:
        composed["layers"].append(_design_layer(design))
    return composed


def entity_objects(scene_graph: dict[str, Any]) -> list[dict[str, Any]]:
    """One object per door, item, enemy, entrance and exit, ids from 1 in that order."""
    records: list[tuple[str, str, dict[str, int], list[Property]]] = []
    for door in scene_graph["doors"]:
        records.append((door["id"], "door", door["pos"], _door_properties(door)))
    for item in scene_graph["items"]:
        records.append((item["id"], item["kind"], item["pos"], _item_properties(item)))
    for enemy in scene_graph["enemies"]:
        records.append((enemy["id"], "enemy", enemy["pos"], _enemy_properties(enemy)))
    for name in ("entrance", "exit"):
        place = scene_graph[name]
        records.append((name, name, place["pos"], [_string("room", place["room"])]))
    return [_object(number, *record) for number, record in enumerate(records, start=1)]


def _object(
    number: int, name: str, kind: str, pos: dict[str, int], properties: list[Property]
) -> dict[str, Any]:
    return {
        "id": number,
        "name": name,
        "type": kind,
        "x": pos["x"] * TILE_SIZE,
        "y": pos["y"] * TILE_SIZE,
        "width": TILE_SIZE,
        "height": TILE_SIZE,
        "rotation": 0,
        "visible": True,
        "properties": properties,
    }


def _object_count(scene_graph: dict[str, Any]) -> int:
    return len(scene_graph["doors"]) + len(scene_graph["items"]) + len(scene_graph["enemies"]) + 2


def entity_objects_json(scene_graph: dict[str, Any]) -> str:
    """``entity_objects`` as compact JSON text, comma-separated, one template a kind."""
    text, parts = encode_basestring, []
    doors, items, enemies = scene_graph["doors"], scene_graph["items"], scene_graph["enemies"]
    for number, door in enumerate(doors, start=1):
        pos, key, joins = door["pos"], text(door["key"] or ""), text(",".join(door["joins"]))
        x, y, locked = pos["x"] * TILE_SIZE, pos["y"] * TILE_SIZE, _BOOLS[door["locked"]]
        parts.append(_DOOR % (number, text(door["id"]), x, y, locked, key, joins))
    for number, item in enumerate(items, start=len(doors) + 1):
        pos, name, kind = item["pos"], text(item["id"]), text(item["kind"])
        opens = _OPENS % text(",".join(item["opens"])) if "opens" in item else ""
        fields = (pos["x"] * TILE_SIZE, pos["y"] * TILE_SIZE, text(item["room"]), opens)
        parts.append(_ITEM % (number, name, kind, *fields))
    for number, enemy in enumerate(enemies, start=len(doors) + len(items) + 1):
        pos, kind, level, room = enemy["pos"], text(enemy["type"]), enemy["level"], text(enemy["room"])
        x, y, boss = pos["x"] * TILE_SIZE, pos["y"] * TILE_SIZE, _BOOLS[enemy["boss"]]
        parts.append(_ENEMY % (number, text(enemy["id"]), x, y, kind, level, boss, room))
    for number, name in enumerate(("entrance", "exit"), start=len(doors) + len(items) + len(enemies) + 1):
        place = scene_graph[name]
        x, y = place["pos"]["x"] * TILE_SIZE, place["pos"]["y"] * TILE_SIZE
        parts.append(_PLACE % (number, name, name, x, y, text(place["room"])))
    return ",".join(parts)


def _door_properties(door: dict[str, Any]) -> list[Property]:
    return [
        _bool("locked", door["locked"]),
        _string("key", door["key"] or ""),
        _string("joins", ",".join(door["joins"])),
    ]


def _item_properties(item: dict[str, Any]) -> list[Property]:
    properties = [_string("room", item["room"])]
    if "opens" in item:
        properties.append(_string("opens", ",".join(item["opens"])))
    return properties


def _enemy_properties(enemy: dict[str, Any]) -> list[Property]:
    return [
        _string("type", enemy["type"]),
        _int("level", enemy["level"]),
        _bool("boss", enemy["boss"]),
        _string("room", enemy["room"]),
    ]


def _map_properties(scene_graph: dict[str, Any]) -> list[Property]:
    """The spec, for reference. The seed is a string: it can exceed Tiled's int range."""
    spec = scene_graph["spec"]
    return [
        _string("schema", scene_graph["schema"]),
        _string("seed", str(scene_graph["seed"])),
        _int("rooms", spec["rooms"]),
        _int("difficulty", spec["difficulty"]),
        _string("theme", spec["theme"]),
        {"name": "loops", "type": "float", "value": spec["loops"]},
    ]


def _tileset() -> dict[str, Any]:
    return {
        "firstgid": 1,
        "name": "levelforge",
        "tilewidth": TILE_SIZE,
        "tileheight": TILE_SIZE,
        "tilecount": len(TILE_KINDS),
        "columns": len(TILE_KINDS),
        "margin": 0,
        "spacing": 0,
        "image": TILESET_IMAGE,
        "imagewidth": TILE_SIZE * len(TILE_KINDS),
        "imageheight": TILE_SIZE,
        "tiles": [
            {"id": tile_id, "type": kind, "properties": [_bool("walkable", walkable)]}
            for tile_id, (kind, walkable) in enumerate(TILE_KINDS)
        ],
    }


def _bool(name: str, value: bool) -> Property:
    return {"name": name, "type": "bool", "value": value}


def _int(name: str, value: int) -> Property:
    return {"name": name, "type": "int", "value": value}


def _string(name: str, value: str) -> Property:
    return {"name": name, "type": "string", "value": value}


_BOOLS = {True: "true", False: "false"}
_HEAD = (
    f'{{"type":"map","version":"{TILED_JSON_VERSION}","tiledversion":"{TILED_VERSION}",'
    f'"orientation":"orthogonal","renderorder":"right-down","width":%d,"height":%d,'
    f'"tilewidth":{TILE_SIZE},"tileheight":{TILE_SIZE},"infinite":false,"compressionlevel":-1,'
    '"nextlayerid":%d,"nextobjectid":%d,"properties":[{"name":"schema","type":"string","value":%s},'
    '{"name":"seed","type":"string","value":%s},{"name":"rooms","type":"int","value":%d},'
    '{"name":"difficulty","type":"int","value":%d},{"name":"theme","type":"string","value":%s},'
    '{"name":"loops","type":"float","value":%s}],"tilesets":['
    + json.dumps(_tileset(), separators=(",", ":"), ensure_ascii=False).replace("%", "%%")
    + '],"layers":[{"id":1,"name":"tiles","type":"tilelayer","x":0,"y":0,"width":%d,"height":%d,'
    '"opacity":1,"visible":true,"data":['
)
_MIDDLE = (
    b']},{"id":2,"name":"entities","type":"objectgroup","x":0,"y":0,"opacity":1,"visible":true,'
    b'"draworder":"topdown","objects":['
)
_TAIL = b"]}]}"
_LAYERS_END = b"]}"
_FRAME = f'"width":{TILE_SIZE},"height":{TILE_SIZE},"rotation":0,"visible":true,"properties":['
_DOOR = (
    '{"id":%d,"name":%s,"type":"door","x":%d,"y":%d,' + _FRAME + '{"name":"locked","type":"bool","value":%s},'
    '{"name":"key","type":"string","value":%s},{"name":"joins","type":"string","value":%s}]}'
)
_ROOM = '{"name":"room","type":"string","value":%s}'
_ITEM = '{"id":%d,"name":%s,"type":%s,"x":%d,"y":%d,' + _FRAME + _ROOM + "%s]}"
_OPENS = ',{"name":"opens","type":"string","value":%s}'
_ENEMY = (
    '{"id":%d,"name":%s,"type":"enemy","x":%d,"y":%d,' + _FRAME + '{"name":"type","type":"string",'
    '"value":%s},{"name":"level","type":"int","value":%d},{"name":"boss","type":"bool","value":%s},'
    + _ROOM
    + "]}"
)
_PLACE = '{"id":%d,"name":"%s","type":"%s","x":%d,"y":%d,' + _FRAME + _ROOM + "]}"
_DESIGN_LAYER = (
    '{"id":3,"name":"design","type":"objectgroup","x":0,"y":0,"opacity":1,"visible":true,'
    '"draworder":"index","objects":['
)
_SHOWN = '"rotation":0,"visible":true,"properties":['
_PATH = (
    '{"id":%d,"name":"critical_path","type":"critical_path","x":%d,"y":%d,"width":0,"height":0,'
    + _SHOWN
    + '{"name":"rooms","type":"string","value":%s}],"polyline":[%s]}'
)
_PREFAB = (
    '{"id":%d,"name":%s,"type":"prefab","x":%d,"y":%d,"width":%d,"height":%d,'
    + _SHOWN
    + '{"name":"prefab","type":"string","value":%s},{"name":"critical","type":"bool","value":%s}]}'
)
