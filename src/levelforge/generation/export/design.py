"""The designer's marks of a level (CONTRACT §4.1), as the exports draw them: the critical
path (its rooms in order, entrance to exit) and the prefab rooms (tagged ``prefab:NAME``).

The exports mark a level whose spec asks for design (``constraints`` or ``prefabs``:
``spec.designed``); any other level's exports stay as they were, byte for byte and as fast.

``design_of`` reads them from a scene graph (the pure pipeline's exports), ``design_from``
from the blueprint it is composed of (a designed level the compiled core writes: its
exports' frames, ``svg_frame`` and ``map_head``, and the tiled map's design layer take
these marks, the same as the scene graph's).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from levelforge.generation.blueprint import Blueprint
from levelforge.generation.spec import designed

PREFAB_TAG = "prefab:"


class Bounds(NamedTuple):
    """A room's floor rectangle, in tiles."""

    x: int
    y: int
    w: int
    h: int


class PrefabRoom(NamedTuple):
    room: str
    prefab: str
    bounds: Bounds


class Design(NamedTuple):
    """The critical path's rooms in order, ``(id, bounds)``, and the prefab rooms in room
    order."""

    path: list[tuple[str, Bounds]]
    prefabs: list[PrefabRoom]


def design_for(scene_graph: dict[str, Any]) -> Design | None:
    """The marks the exports draw for a scene graph: ``None`` unless its spec asks for
    design."""
    return design_of(scene_graph) if designed(scene_graph["spec"]) else None


def design_of(scene_graph: dict[str, Any]) -> Design:
    """The marks of a scene graph dict."""
    rooms = {room["id"]: room for room in scene_graph["rooms"]}
    path = [(room_id, _bounds(rooms[room_id]["bounds"])) for room_id in scene_graph.get("critical_path", [])]
    prefabs = [
        PrefabRoom(room["id"], tag[len(PREFAB_TAG) :], _bounds(room["bounds"]))
        for room in scene_graph["rooms"]
        for tag in room.get("tags", ())
        if tag.startswith(PREFAB_TAG)
    ]
    return Design(path, prefabs)


def design_from(blueprint: Blueprint) -> Design:
    """The marks of the scene graph ``blueprint`` is composed into (``design_of`` of it)."""
    floors = [room.floor for room in blueprint.rooms]

    def bounds(room: int) -> Bounds:
        x0, y0, x1, y1 = floors[room]
        return Bounds(x0, y0, x1 - x0 + 1, y1 - y0 + 1)

    path = [(f"r{room}", bounds(room)) for room in blueprint.locks.critical_path]
    names = sorted(blueprint.prefab_names.items())
    prefabs = [PrefabRoom(f"r{room}", name, bounds(room)) for room, name in names]
    return Design(path, prefabs)


def _bounds(bounds: dict[str, int]) -> Bounds:
    return Bounds(bounds["x"], bounds["y"], bounds["w"], bounds["h"])
