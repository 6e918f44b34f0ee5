"""An independent checker of published levels (CONTRACT §5), for the tests.

It reads only the artifacts: the minimap text and the scene-graph dict. It shares no code
with ``levelforge.generation.validate``: reachability is a flood fill over minimap tiles,
with locked doors opening once their key's tile has been reached.
"""

from __future__ import annotations

from collections import deque
from typing import Any

LEGEND = frozenset(" #.+L@>k$eB")
WALKABLE = frozenset(".+L@>k$eB")
DOOR_CHARS = frozenset("+L")
STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1))

Tile = tuple[int, int]


class Level:
    """The minimap as a grid, with the scene graph's objects indexed by tile."""

    def __init__(self, scene_graph: dict[str, Any], minimap: str) -> None:
        self.graph = scene_graph
        self.width, self.height = scene_graph["size"]["w"], scene_graph["size"]["h"]
        self.rows = minimap.split("\n")[:-1]
        self.rooms = {room["id"]: room for room in scene_graph["rooms"]}
        self.doors = {_tile(door["pos"]): door for door in scene_graph["doors"]}
        self.keys = {_tile(item["pos"]): item for item in scene_graph["items"] if item["kind"] == "key"}

    def char(self, tile: Tile) -> str:
        x, y = tile
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.rows[y][x]
        return " "

    def walkable(self, tile: Tile) -> bool:
        return self.char(tile) in WALKABLE

    def flood(self, closed_key: str | None = None, *, use_keys: bool = True) -> set[Tile]:
        """Tiles reachable from the entrance. A locked door opens once the tile of a key
        that opens it is reached (never for ``closed_key``; never without ``use_keys``)."""
        start = _tile(self.graph["entrance"]["pos"])
        seen, held = {start}, set()
        blocked: dict[str, list[Tile]] = {}
        queue = deque([start])
        while queue:
            tile = queue.popleft()
            opened: list[Tile] = []
            key = self.keys.get(tile)
            if key is not None and use_keys and key["id"] != closed_key:
                held.add(key["id"])
                for door_id in key["opens"]:
                    opened.extend(blocked.pop(door_id, []))
            x, y = tile
            for nxt in [(x + dx, y + dy) for dx, dy in STEPS] + opened:
                if nxt in seen or not self.walkable(nxt):
                    continue
                if self.char(nxt) == "L" and not self._opens(nxt, held):
                    blocked.setdefault(self.doors[nxt]["id"], []).append(nxt)
                    continue
                seen.add(nxt)
                queue.append(nxt)
        return seen

    def _opens(self, tile: Tile, held: set[str]) -> bool:
        door = self.doors.get(tile)
        return door is not None and door["key"] in held


def _tile(pos: dict[str, int]) -> Tile:
    return pos["x"], pos["y"]


def _floor_tiles(room: dict[str, Any]) -> list[Tile]:
    b = room["bounds"]
    return [(x, y) for y in range(b["y"], b["y"] + b["h"]) for x in range(b["x"], b["x"] + b["w"])]


def _ring_tiles(room: dict[str, Any]) -> list[Tile]:
    b = room["bounds"]
    x0, y0, x1, y1 = b["x"] - 1, b["y"] - 1, b["x"] + b["w"], b["y"] + b["h"]
    return [(x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1) if x in (x0, x1) or y in (y0, y1)]


def check_level(spec: dict[str, Any], scene_graph: dict[str, Any], minimap: str) -> list[str]:
    """Every problem found; an empty list for a valid level."""
    problems = check_minimap_shape(spec, minimap)
    if problems:
        return problems
    level = Level(scene_graph, minimap)
    for check in (_check_walls, _check_rooms, _check_doors, _check_things, _check_reachability, _check_stats):
        problems.extend(check(spec, level))
    return problems


def check_minimap_shape(spec: dict[str, Any], minimap: str) -> list[str]:
    problems = []
    if not minimap.endswith("\n"):
        problems.append("minimap does not end with a newline")
    lines = minimap.split("\n")[:-1]
    if len(lines) != spec["height"]:
        problems.append(f"{len(lines)} lines instead of {spec['height']}")
    for number, line in enumerate(lines):
        if len(line) != spec["width"]:
            problems.append(f"line {number} has {len(line)} chars instead of {spec['width']}")
        if set(line) - LEGEND:
            problems.append(f"line {number} has chars outside the legend: {set(line) - LEGEND}")
    return problems


def _check_walls(_: dict[str, Any], level: Level) -> list[str]:
    """A tile is '#' exactly when it is not walkable and touches (8-adjacent) a walkable one."""
    problems = []
    for y in range(level.height):
        for x in range(level.width):
            char = level.char((x, y))
            if char in WALKABLE:
                continue
            touches = any(
                level.walkable((x + dx, y + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy
            )
            if touches != (char == "#"):
                problems.append(f"tile {x},{y} is {char!r} but touches walkable: {touches}")
    return problems


def _check_rooms(spec: dict[str, Any], level: Level) -> list[str]:
    problems = []
    if len(level.rooms) != spec["rooms"] or len(level.graph["rooms"]) != spec["rooms"]:
        problems.append(f"{len(level.graph['rooms'])} rooms instead of {spec['rooms']}")
    owner: dict[Tile, str] = {}
    for room in level.graph["rooms"]:
        b = room["bounds"]
        if b["w"] < 3 or b["h"] < 3:
            problems.append(f"room {room['id']} is smaller than 3x3")
        for tile in _floor_tiles(room) + _ring_tiles(room):
            if tile in owner:
                problems.append(f"rooms {owner[tile]} and {room['id']} overlap at {tile}")
            owner[tile] = room["id"]
        problems.extend(_room_tile_problems(level, room))
    for corridor in level.graph["corridors"]:
        for x, y in corridor["tiles"]:
            if (x, y) in owner or level.char((x, y)) in DOOR_CHARS | {" ", "#"}:
                problems.append(f"corridor {corridor['id']} tile {x},{y} is not a corridor floor")
    return problems


def _room_tile_problems(level: Level, room: dict[str, Any]) -> list[str]:
    """The floor is walkable (never a door); the ring around it is wall or door."""
    problems = [
        f"floor of {room['id']} at {tile} is {level.char(tile)!r}"
        for tile in _floor_tiles(room)
        if level.char(tile) not in WALKABLE - DOOR_CHARS
    ]
    problems += [
        f"wall of {room['id']} open at {tile}: {level.char(tile)!r}"
        for tile in _ring_tiles(room)
        if level.char(tile) not in DOOR_CHARS | {"#"}
    ]
    return problems


def _check_doors(_: dict[str, Any], level: Level) -> list[str]:
    problems = []
    on_map = {(x, y) for y, row in enumerate(level.rows) for x, c in enumerate(row) if c in DOOR_CHARS}
    if on_map != set(level.doors):
        problems.append("door tiles on the minimap differ from the scene graph's doors")
    ids = set(level.rooms) | {c["id"] for c in level.graph["corridors"]}
    for (x, y), door in level.doors.items():
        if level.char((x, y)) != ("L" if door["locked"] else "+"):
            problems.append(f"door {door['id']} drawn as {level.char((x, y))!r}")
        if door["locked"] != (door["key"] is not None) or not set(door["joins"]) <= ids:
            problems.append(f"door {door['id']} has inconsistent fields")
        across = level.walkable((x - 1, y)) and level.walkable((x + 1, y))
        across_v = level.walkable((x, y - 1)) and level.walkable((x, y + 1))
        walls = level.char((x, y - 1)) == "#" and level.char((x, y + 1)) == "#"
        walls_v = level.char((x - 1, y)) == "#" and level.char((x + 1, y)) == "#"
        if not ((across and walls) or (across_v and walls_v)):
            problems.append(f"door {door['id']} at {x},{y} is not between two walls")
    return problems


def _check_things(_: dict[str, Any], level: Level) -> list[str]:
    """Entrance, exit, keys, treasure and enemies: on their room's floor, a tile each,
    drawn with their own char; no enemy in the entrance room."""
    graph = level.graph
    things = [("@", graph["entrance"]), (">", graph["exit"])]
    things += [("k" if i["kind"] == "key" else "$", i) for i in graph["items"]]
    things += [("B" if e["boss"] else "e", e) for e in graph["enemies"]]
    problems, taken = [], set()
    for char, thing in things:
        tile = _tile(thing["pos"])
        if level.char(tile) != char:
            problems.append(f"{char} at {tile} drawn as {level.char(tile)!r}")
        if tile not in _floor_tiles(level.rooms[thing["room"]]):
            problems.append(f"{char} at {tile} is not on the floor of {thing['room']}")
        if tile in taken:
            problems.append(f"two things share {tile}")
        taken.add(tile)
    counts = {char: 0 for char in "@>k$eB"}
    for char, _ in things:
        counts[char] += 1
    for char, expected in counts.items():
        drawn = sum(row.count(char) for row in level.rows)
        if drawn != expected:
            problems.append(f"{drawn} {char!r} on the minimap, {expected} in the scene graph")
    entrance = level.rooms[graph["entrance"]["room"]]
    for enemy in graph["enemies"]:
        if enemy["room"] == entrance["id"] or _tile(enemy["pos"]) in _floor_tiles(entrance):
            problems.append(f"enemy {enemy['id']} in the entrance room")
    return problems


def _check_reachability(spec: dict[str, Any], level: Level) -> list[str]:
    problems = []
    reached = level.flood()
    for room in level.graph["rooms"]:
        if not set(_floor_tiles(room)) <= reached:
            problems.append(f"room {room['id']} is not (wholly) reachable")
    if _tile(level.graph["exit"]["pos"]) not in reached:
        problems.append("exit unreachable")
    for tile, key in level.keys.items():
        if tile not in level.flood(closed_key=key["id"]):
            problems.append(f"key {key['id']} is behind its own lock")
    if spec["rooms"] >= 4 and _tile(level.graph["exit"]["pos"]) in level.flood(use_keys=False):
        problems.append("no locked door between the entrance and the exit")
    return problems


def _check_stats(spec: dict[str, Any], level: Level) -> list[str]:
    graph, stats = level.graph, level.graph["stats"]
    expected = {
        "rooms": len(graph["rooms"]),
        "doors": len(graph["doors"]),
        "locks": sum(door["locked"] for door in graph["doors"]),
        "enemies": len(graph["enemies"]),
        "critical_path_rooms": len(graph["critical_path"]),
    }
    problems = [f"stats.{k} is {stats[k]}, not {v}" for k, v in expected.items() if stats[k] != v]
    path = graph["critical_path"]
    if path[0] != graph["entrance"]["room"] or path[-1] != graph["exit"]["room"]:
        problems.append("critical path does not run from the entrance to the exit")
    if graph["schema"] != "levelforge.scene-graph/1" or graph["spec"] != spec:
        problems.append("schema or spec differs")
    if graph["seed"] != spec["seed"] or graph["size"] != {"w": spec["width"], "h": spec["height"]}:
        problems.append("seed or size differs")
    if stats["attempts"] < 1 or stats["loops"] < 0:
        problems.append("attempts or loops out of range")
    return problems
