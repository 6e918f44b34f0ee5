"""The designer's marks of a level (CONTRACT §4.1), as the exports draw them: the critical
path (its rooms in order, entrance to exit) and the prefab rooms (tagged ``prefab:NAME``).

The exports mark a level whose spec asks for design (``constraints`` or ``prefabs``,
``is_designed``); any other level's exports stay as they were, byte for byte and as fast
(reading the marks costs a tenth of a small level's whole time on the compiled core).

``design_of`` reads them from a scene graph dict (the pure pipeline); ``design_of_json``
from the scene graph's compact JSON bytes as the compiled core writes them, without
parsing the whole document (parsing it would cost half again the time of a small level):
the critical path's ids are a slice near the end, the rooms' bounds a split of the rooms'
array. Anything the byte reading does not recognise falls back to parsing, so the result
is always ``design_of(json.loads(data))`` (``tests/generation`` compares them).
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

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


def is_designed(spec: dict[str, Any]) -> bool:
    """Whether a (normalised) spec asks for design: ``constraints`` or ``prefabs``."""
    return "constraints" in spec or "prefabs" in spec


def design_for(scene_graph: dict[str, Any]) -> Design | None:
    """The marks the exports draw for a scene graph: ``None`` unless its spec asks for
    design."""
    return design_of(scene_graph) if is_designed(scene_graph["spec"]) else None


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


_PATH = b'"critical_path":['
_ROOM_SPLIT = b'{"id":"r'
_ROOM_BOUNDS = re.compile(rb'(\d+)","bounds":\{"x":(\d+),"y":(\d+),"w":(\d+),"h":(\d+)\}')
_ROOM_HEAD = re.compile(rb'(\d+)","bounds":\{"x":(\d+),"y":(\d+),"w":(\d+),"h":(\d+)\},"tags":\[([^\]]*)\]')


def design_of_json(data: bytes, *, prefabs: bool = True) -> Design:
    """The marks of a scene graph's compact JSON, whose rooms come first of its objects
    with ids (``r0``, ``r1``, … in order, each starting ``{"id", "bounds", "tags"``):
    ``design_of`` of it parsed, at a fraction of the cost. ``prefabs=False`` skips looking
    for prefab rooms (for a spec without any)."""
    found = _read_json(data, prefabs)
    return found if found is not None else design_of(json.loads(data))


def _read_json(data: bytes, prefabs: bool) -> Design | None:
    at = data.rfind(_PATH)
    close = data.find(b"]", at)
    if at < 0 or close < 0:
        return None
    ids = data[at + len(_PATH) : close]
    if not (ids.startswith(b'"r') and ids.endswith(b'"')):
        return None
    numbers = ids[2:-1].split(b'","r')
    if not b"".join(numbers).isdigit():
        return None
    indices = [int(number) for number in numbers]
    chunks = data.split(_ROOM_SPLIT, -1 if prefabs else max(indices) + 1)
    path = []
    for index, number in zip(indices, numbers, strict=True):
        head = _ROOM_BOUNDS.match(chunks[index + 1]) if index + 1 < len(chunks) else None
        if head is None or head[1] != number:
            return None
        path.append(("r" + number.decode(), Bounds(int(head[2]), int(head[3]), int(head[4]), int(head[5]))))
    if not prefabs:
        return Design(path, [])
    return _with_prefabs(path, chunks[1:])


def _with_prefabs(path: list[tuple[str, Bounds]], chunks: list[bytes]) -> Design | None:
    prefabs = []
    tag = b'"' + PREFAB_TAG.encode()
    for index, chunk in enumerate(chunks):
        head = _ROOM_HEAD.match(chunk)  # every chunk is a room's: no other id starts with "r"
        if head is None or int(head[1]) != index:
            return None
        if tag not in head[6]:
            continue
        bounds = Bounds(int(head[2]), int(head[3]), int(head[4]), int(head[5]))
        for name in json.loads(b"[" + head[6] + b"]"):
            if name.startswith(PREFAB_TAG):
                prefabs.append(PrefabRoom(f"r{index}", name[len(PREFAB_TAG) :], bounds))
    return Design(path, prefabs)
