"""The designer's marks of a level (CONTRACT §4.1), as the exports draw them: the critical
path (its rooms in order, entrance to exit) and the prefab rooms (tagged ``prefab:NAME``).

The exports mark a level whose spec asks for design (``constraints`` or ``prefabs``:
``spec.designed``); any other level's exports stay as they were, byte for byte and as fast.

``design_of`` reads them from a scene graph. Designed levels are made by the pure
pipeline (the compiled core makes only the others), so the exports always have the scene
graph as a dict when they draw marks; the frames the compiled core's artifacts use
(``svg_frame``, ``map_head``) take a design all the same, so that a core that made
designed levels would pass its own.
"""

from __future__ import annotations

from typing import Any, NamedTuple

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


def _bounds(bounds: dict[str, int]) -> Bounds:
    return Bounds(bounds["x"], bounds["y"], bounds["w"], bounds["h"])
