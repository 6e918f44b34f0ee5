"""An independent checker of published levels (CONTRACT §5 and issue 3's quality rules).

It reads only the artifacts: the minimap text and the scene-graph dict. It shares no code
with ``levelforge.generation``: reachability is a flood fill over minimap tiles, with
locked doors opening once their key's tile has been reached; a room's floor is the
walkable tiles inside its ``bounds``.

The rules it holds every level to, beyond §5:

- **Rooms**: the floor of a room is its walkable tiles inside ``bounds``; the bounds are
  exactly the floor's bounding rectangle, the floor holds a 3x3 all-floor square, and
  ``area`` counts it. ``shape: rect`` rooms fill their bounds. Nothing inside the bounds
  or on the ring around them is walkable but the floor and the doors.
- **Dead ends**: corridor tiles (walkable, outside every room's bounds and ring) are
  pruned while one has at most one walkable neighbour; none may be pruned.
- **Critical path**: in the room graph (rooms joined by ``corridors[].connects``) the exit
  is a room farthest from the entrance, ``critical_path`` a shortest way to it, each step
  along ``critical_path_corridors``; every room's ``distance`` is its corridor count from
  the entrance; ``stats.critical_path_tiles`` lies between the shortest walk (every door
  open) and the length of the way through the path's rooms and corridors. A designed
  level is also walked on its tiles (``_check_walk``: touching corridor tiles join every
  room with a door onto them): the critical path is its one shortest way to the exit.
- **Locks**: with 4 rooms or more, some locked door stands on the critical path (a door of
  a path room onto a path corridor) and its key lies in a room off the path; every key is
  reachable with its own lock shut.
- **Enemies**: none in the entrance room; exactly one boss when the exit room is not the
  entrance room, in the exit room, at least as strong as any other; for rooms at distances
  ``d1 < d2``, no enemy at ``d1`` is more than one level above any enemy at ``d2``; a room
  of area ``A`` at difficulty ``D`` holds ``floor(A·D/250)`` or one more common enemies,
  fewer only when half its free floor is taken.
- **Treasure**: never in a room on the critical path; in every side room with one corridor.
- **Loops**: ``stats.loops`` is the number of independent cycles of the room graph
  (corridors - rooms + 1): ``round(loops x rooms)``, or ``stats.loops_possible`` (the
  pairs of neighbouring rooms the layout leaves unjoined) when that is fewer.
- **Designed levels** (CONTRACT §4.1, a spec with ``constraints`` or ``prefabs``): every
  constraint met, counted from the minimap and the room graph (``_check_constraints``),
  every prefab copy as drawn (``_check_prefabs``). The rules above that a designer's
  request overrides give way to it: the exit is wherever the asked path ends (not a
  farthest room), locks are as many as asked (the locked-door-on-the-path rule is not
  held), loops are at most as many as asked (a loop that would shorten the critical path
  is left out); an asked enemy or treasure count replaces the per-room counts and the
  treasure rules; prefab copies hold what is drawn, whatever the theme or the rules of
  enemy counts and treasure.
- **Themes**: ``dungeon`` rooms are rectangles and its corridors turn at most twice;
  ``crypt`` rooms are rectangles of at most 9 tiles a side; in a ``cave`` every room of at
  least 5x4 tiles is a cavern.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable
from typing import Any

LEGEND = frozenset(" #.+L@>k$eB")
WALKABLE = frozenset(".+L@>k$eB")
DOOR_CHARS = frozenset("+L")
STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1))
TILES_PER_ENEMY_AT_DIFFICULTY_1 = 250
CRYPT_MAX_SIDE = 9

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
        self.floors = {room["id"]: self._floor(room) for room in scene_graph["rooms"]}
        self.all_floor: set[Tile] = set().union(*self.floors.values())
        self.footprint: dict[Tile, str] = {}
        self.overlaps: list[str] = []
        for room in scene_graph["rooms"]:
            for tile in _bounds_tiles(room) + _ring_tiles(room):
                if tile in self.footprint:
                    self.overlaps.append(f"rooms {self.footprint[tile]} and {room['id']} overlap at {tile}")
                self.footprint[tile] = room["id"]
        self.links = room_graph(scene_graph)
        self._open: set[int] | None = None

    def char(self, tile: Tile) -> str:
        x, y = tile
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.rows[y][x]
        return " "

    def walkable(self, tile: Tile) -> bool:
        return self.char(tile) in WALKABLE

    def _floor(self, room: dict[str, Any]) -> set[Tile]:
        return {tile for tile in _bounds_tiles(room) if self.char(tile) in WALKABLE - DOOR_CHARS}

    def corridor_tiles(self) -> set[Tile]:
        return {
            (x, y)
            for y, row in enumerate(self.rows)
            for x, char in enumerate(row)
            if char in WALKABLE and (x, y) not in self.footprint
        }

    def number(self, tile: Tile) -> int:
        """The flat number of a tile (see ``walk``)."""
        return tile[1] * (self.width + 1) + tile[0]

    def flood(
        self, closed_key: str | None = None, *, use_keys: bool = True, all_open: bool = False
    ) -> set[int]:
        """Numbers of the tiles reachable from the entrance. A locked door opens once the
        tile of a key that opens it is reached (never for ``closed_key``; never without
        ``use_keys``; always with ``all_open``)."""
        return set(self.walk(closed_key, use_keys=use_keys, all_open=all_open))

    def walk(
        self, closed_key: str | None = None, *, use_keys: bool = True, all_open: bool = False
    ) -> dict[int, int]:
        """Like ``flood``, with each tile's distance in steps from the entrance (exact when
        ``all_open``). Runs on flat tile numbers ``y * (width + 1) + x`` for speed: the
        extra column is never walkable, so no step wraps from one row into the next."""
        width = self.width + 1
        open_tiles = self._open_tiles()
        locked = (
            {}
            if all_open
            else {y * width + x: door["key"] for (x, y), door in self.doors.items() if door["locked"]}
        )
        keys: dict[int, str] = {}
        if use_keys:
            keys = {y * width + x: key["id"] for (x, y), key in self.keys.items() if key["id"] != closed_key}
        start_x, start_y = _tile(self.graph["entrance"]["pos"])
        start = start_y * width + start_x
        seen, held = {start: 0}, set()
        blocked: dict[str, list[tuple[int, int]]] = {}
        queue = deque([start])
        while queue:
            tile = queue.popleft()
            step = seen[tile] + 1
            if tile in keys:
                held.add(keys[tile])
                for nxt, distance in blocked.pop(keys[tile], []):
                    if nxt not in seen:
                        seen[nxt] = distance
                        queue.append(nxt)
            for nxt in (tile + 1, tile - 1, tile + width, tile - width):
                if nxt in seen or nxt not in open_tiles:
                    continue
                lock = locked.get(nxt)
                if lock is not None and lock not in held:
                    blocked.setdefault(lock, []).append((nxt, step))
                    continue
                seen[nxt] = step
                queue.append(nxt)
        return seen

    def _open_tiles(self) -> set[int]:
        """Walkable tiles as flat numbers (see ``walk``)."""
        if self._open is None:
            width = self.width + 1
            self._open = set()
            for y, row in enumerate(self.rows):
                self._open.update(y * width + x for x, char in enumerate(row) if char in WALKABLE)
        return self._open

    def _opens(self, tile: Tile, held: set[str]) -> bool:
        door = self.doors.get(tile)
        return door is not None and door["key"] in held


def room_graph(graph: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """For each room id, its (neighbour, corridor id) pairs."""
    links: dict[str, list[tuple[str, str]]] = {room["id"]: [] for room in graph["rooms"]}
    for corridor in graph["corridors"]:
        a, b = corridor["connects"]
        links[a].append((b, corridor["id"]))
        links[b].append((a, corridor["id"]))
    return links


def room_distances(links: dict[str, list[tuple[str, str]]], start: str) -> dict[str, int]:
    far = {start: 0}
    queue = deque([start])
    while queue:
        room = queue.popleft()
        for other, _ in links[room]:
            if other not in far:
                far[other] = far[room] + 1
                queue.append(other)
    return far


def _tile(pos: dict[str, int]) -> Tile:
    return pos["x"], pos["y"]


def _bounds_tiles(room: dict[str, Any]) -> list[Tile]:
    b = room["bounds"]
    return [(x, y) for y in range(b["y"], b["y"] + b["h"]) for x in range(b["x"], b["x"] + b["w"])]


def _ring_tiles(room: dict[str, Any]) -> list[Tile]:
    b = room["bounds"]
    x0, y0, x1, y1 = b["x"] - 1, b["y"] - 1, b["x"] + b["w"], b["y"] + b["h"]
    return [(x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1) if x in (x0, x1) or y in (y0, y1)]


def check_level(spec: dict[str, Any], scene_graph: dict[str, Any], minimap: str) -> list[str]:
    """Every problem found; an empty list for a valid level."""
    return [problem for found in check_by_rule(spec, scene_graph, minimap).values() for problem in found]


def check_by_rule(spec: dict[str, Any], scene_graph: dict[str, Any], minimap: str) -> dict[str, list[str]]:
    """The problems found by each rule (``minimap_shape``, ``walls``, ``rooms``, …), in
    order; when the minimap's shape is wrong no other rule runs."""
    problems = check_minimap_shape(spec, minimap)
    if problems:
        return {"minimap_shape": problems}
    level = Level(scene_graph, minimap)
    found = {"minimap_shape": problems}
    for check in CHECKS:
        found[check.__name__.removeprefix("_check_")] = check(spec, level)
    return found


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
    """A tile is '#' exactly when it is not walkable and touches (8-adjacent) a walkable one.

    Rows are bit masks (bit x for column x), so the eight neighbours of every tile of a row
    are a few shifts and ors of three rows."""
    full = (1 << level.width) - 1
    walk = [_mask(row, WALKABLE) for row in level.rows]
    walls = [_mask(row, frozenset("#")) for row in level.rows]
    spread = [m | (m << 1) | (m >> 1) for m in walk]
    problems = []
    for y, row in enumerate(level.rows):
        near = spread[y] | (spread[y - 1] if y else 0) | (spread[y + 1] if y + 1 < len(spread) else 0)
        wrong = ((near & ~walk[y]) ^ walls[y]) & full
        while wrong and len(problems) < 20:
            x = (wrong & -wrong).bit_length() - 1
            problems.append(f"tile {x},{y} is {row[x]!r} but touches walkable: {bool(near >> x & 1)}")
            wrong &= wrong - 1
    return problems


def _mask(row: str, chars: frozenset[str]) -> int:
    """Bit x set where ``row[x]`` is one of ``chars``."""
    return int("".join("1" if char in chars else "0" for char in reversed(row)) or "0", 2)


def _check_rooms(spec: dict[str, Any], level: Level) -> list[str]:
    problems = list(level.overlaps)
    if len(level.rooms) != spec["rooms"] or len(level.graph["rooms"]) != spec["rooms"]:
        problems.append(f"{len(level.graph['rooms'])} rooms instead of {spec['rooms']}")
    for room in level.graph["rooms"]:
        problems.extend(_room_problems(level, room))
    for corridor in level.graph["corridors"]:
        for x, y in corridor["tiles"]:
            if (x, y) in level.footprint or level.char((x, y)) in DOOR_CHARS | {" ", "#"}:
                problems.append(f"corridor {corridor['id']} tile {x},{y} is not a corridor floor")
    return problems


def _room_problems(level: Level, room: dict[str, Any]) -> list[str]:
    """Bounds tight around a floor with a 3x3 square; only floor and doors walkable in the
    bounds and on the ring; ``area`` and ``shape`` true."""
    b, floor, rid = room["bounds"], level.floors[room["id"]], room["id"]
    if b["w"] < 3 or b["h"] < 3 or not floor:
        return [f"room {rid} is smaller than 3x3"]
    problems = []
    xs, ys = {x for x, _ in floor}, {y for _, y in floor}
    if (min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1) != (b["x"], b["y"], b["w"], b["h"]):
        problems.append(f"bounds of {rid} are not its floor's bounding rectangle")
    if not any(all((x + dx, y + dy) in floor for dx in range(3) for dy in range(3)) for x, y in floor):
        problems.append(f"room {rid} has no 3x3 floor")
    if room.get("area", len(floor)) != len(floor):
        problems.append(f"area of {rid} is {room.get('area')}, not {len(floor)}")
    if room.get("shape", "rect") == "rect" and len(floor) != b["w"] * b["h"]:
        problems.append(f"rectangular room {rid} does not fill its bounds")
    if "spans" in room:
        spanned = {
            (x, y) for y, (first, last) in enumerate(room["spans"], b["y"]) for x in range(first, last + 1)
        }
        if spanned != floor:
            problems.append(f"spans of {rid} differ from its floor")
    problems += [
        f"wall of {rid} open at {tile}: {level.char(tile)!r}"
        for tile in _ring_tiles(room)
        if level.char(tile) not in DOOR_CHARS | {"#", " "}
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
        opened_by = {key["id"] for key in level.keys.values() if door["id"] in key["opens"]}
        if door["locked"] != (door["key"] is not None) or not set(door["joins"]) <= ids:
            problems.append(f"door {door['id']} has inconsistent fields")
        if opened_by != ({door["key"]} if door["locked"] else set()):
            problems.append(f"door {door['id']} has inconsistent fields")
        across = level.walkable((x - 1, y)) and level.walkable((x + 1, y))
        across_v = level.walkable((x, y - 1)) and level.walkable((x, y + 1))
        walls = level.char((x, y - 1)) == "#" and level.char((x, y + 1)) == "#"
        walls_v = level.char((x - 1, y)) == "#" and level.char((x + 1, y)) == "#"
        if not ((across and walls) or (across_v and walls_v)):
            problems.append(f"door {door['id']} at {x},{y} is not between two walls")
        if level.footprint.get((x, y)) not in door["joins"] or (x, y) in level.all_floor:
            problems.append(f"door {door['id']} is not in the wall of the room it joins")
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
        if tile not in level.floors[thing["room"]]:
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
    entrance = graph["entrance"]["room"]
    for enemy in graph["enemies"]:
        if enemy["room"] == entrance or _tile(enemy["pos"]) in level.floors[entrance]:
            problems.append(f"enemy {enemy['id']} in the entrance room")
    return problems


def _check_reachability(spec: dict[str, Any], level: Level) -> list[str]:
    problems = []
    reached = level.flood()
    for room in level.graph["rooms"]:
        if not all(level.number(tile) in reached for tile in level.floors[room["id"]]):
            problems.append(f"room {room['id']} is not (wholly) reachable")
    exit_tile = level.number(_tile(level.graph["exit"]["pos"]))
    if exit_tile not in reached:
        problems.append("exit unreachable")
    for tile, key in level.keys.items():
        if level.number(tile) not in level.flood(closed_key=key["id"]):
            problems.append(f"key {key['id']} is behind its own lock")
    no_locks_asked = designed(spec) and not any(door["locked"] for door in level.graph["doors"])
    if spec["rooms"] >= 4 and not no_locks_asked and exit_tile in level.flood(use_keys=False):
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
        "loops": len(graph["corridors"]) - len(graph["rooms"]) + 1,
        "treasures": sum(item["kind"] == "treasure" for item in graph["items"]),
    }
    problems = [f"stats.{k} is {stats.get(k)}, not {v}" for k, v in expected.items() if stats.get(k) != v]
    wanted = round(spec["loops"] * spec["rooms"])
    if designed(spec):
        if stats["loops"] > wanted:
            problems.append(f"{stats['loops']} loops, more than {wanted}")
    elif stats["loops"] != min(wanted, stats.get("loops_possible", wanted)):
        problems.append(f"{stats['loops']} loops, not {wanted} or as many as the layout allows")
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


def dead_end_tiles(level: Level) -> int:
    """Corridor tiles pruned while one has at most one walkable neighbour."""
    corridor = level.corridor_tiles()
    walkable = corridor | set(level.doors) | level.all_floor

    def degree(tile: Tile) -> int:
        return sum((tile[0] + dx, tile[1] + dy) in walkable for dx, dy in STEPS)

    pending = [tile for tile in corridor if degree(tile) <= 1]
    pruned = 0
    while pending:
        tile = pending.pop()
        if tile not in walkable:
            continue
        walkable.discard(tile)
        pruned += 1
        for dx, dy in STEPS:
            other = (tile[0] + dx, tile[1] + dy)
            if other in corridor and other in walkable and degree(other) <= 1:
                pending.append(other)
    return pruned


def _check_dead_ends(_: dict[str, Any], level: Level) -> list[str]:
    count = dead_end_tiles(level)
    return [f"{count} dead-end corridor tiles"] if count else []


def _check_critical_path(spec: dict[str, Any], level: Level) -> list[str]:
    graph = level.graph
    path, via = graph["critical_path"], graph.get("critical_path_corridors", [])
    far = room_distances(level.links, graph["entrance"]["room"])
    problems = []
    if len(far) != len(level.rooms):
        problems.append("the room graph is not connected")
    if not designed(spec) and far.get(graph["exit"]["room"]) != max(far.values()):
        problems.append("the exit is not a room farthest from the entrance")
    if len(path) != far.get(graph["exit"]["room"], -2) + 1 or len(via) != len(path) - 1:
        problems.append("the critical path is not a shortest way to the exit")
    corridors = {c["id"]: c for c in graph["corridors"]}
    for room, following, corridor in zip(path, path[1:], via, strict=False):
        if corridor not in corridors or set(corridors[corridor]["connects"]) != {room, following}:
            problems.append(f"critical path step {room} -> {following} is not along {corridor}")
    for room in graph["rooms"]:
        if "distance" in room and room["distance"] != far.get(room["id"]):
            problems.append(f"distance of {room['id']} is {room['distance']}, not {far.get(room['id'])}")
    problems.extend(_check_path_tiles(level, corridors))
    return problems


def _check_walk(spec: dict[str, Any], level: Level) -> list[str]:
    """A designed level walked on its tiles, not on its room graph: corridor tiles that
    touch are one way, joining every room whose door opens onto it. The rooms of the
    shortest room-to-room way from the entrance to the exit are then the critical path's,
    and no other way is as short (every room on a shortest way is on the path): what
    ``critical_path_rooms`` and ``placement: "critical"`` promise a player."""
    if not designed(spec):
        return []
    graph, walked = level.graph, _walked_links(level)
    path = graph["critical_path"]
    start = room_distances(walked, graph["entrance"]["room"])
    end = room_distances(walked, graph["exit"]["room"])
    length = len(path) - 1
    if start.get(graph["exit"]["room"]) != length:
        return [f"walked on its tiles the exit is {start.get(graph['exit']['room'])} rooms on, not {length}"]
    aside = sorted(r for r in level.rooms if r not in path and start.get(r, -9) + end.get(r, -9) == length)
    return [f"room {room} lies on a way to the exit as short as the critical path" for room in aside]


def _walked_links(level: Level) -> dict[str, list[tuple[str, str]]]:
    """``room_graph`` as the tiles join the rooms: each stretch of touching corridor tiles
    joins every room with a door onto it to every other."""
    part = _stretches(level.corridor_tiles())
    rooms_of: dict[int, set[str]] = {}
    for (x, y), door in level.doors.items():
        for near in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if near in part:
                rooms_of.setdefault(part[near], set()).add(door["joins"][0])
    walked: dict[str, list[tuple[str, str]]] = {room: [] for room in level.rooms}
    for rooms in rooms_of.values():
        for room, other in itertools.permutations(sorted(rooms), 2):
            walked[room].append((other, ""))
    return walked


def _stretches(tiles: set[Tile]) -> dict[Tile, int]:
    """The number of each tile's stretch: tiles that touch (side by side) share one."""
    part: dict[Tile, int] = {}
    for tile in tiles:
        if tile in part:
            continue
        part[tile] = len(part)
        stack = [tile]
        while stack:
            x, y = stack.pop()
            for near in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if near in tiles and near not in part:
                    part[near] = part[tile]
                    stack.append(near)
    return part


def _check_path_tiles(level: Level, corridors: dict[str, dict[str, Any]]) -> list[str]:
    """Between the shortest walk and the way through the path's rooms and whole corridors."""
    graph = level.graph
    shortest = level.walk(all_open=True).get(level.number(_tile(graph["exit"]["pos"])), -1) + 1
    doors = {door["id"]: door for door in graph["doors"]}
    by_corridor: dict[str, list[dict[str, Any]]] = {}
    for door in doors.values():
        by_corridor.setdefault(door["joins"][1], []).append(door)
    here, longest = _tile(graph["entrance"]["pos"]), 1
    for room, following, corridor in zip(
        graph["critical_path"],
        graph["critical_path"][1:],
        graph.get("critical_path_corridors", []),
        strict=False,
    ):
        ends = _corridor_doors(level, corridors[corridor], room, following)
        if ends is None:
            return [f"corridor {corridor} has no doors into {room} and {following}"]
        leave, enter = ends
        longest += _steps(here, leave) + 2 + len(corridors[corridor]["tiles"]) + 1
        here = enter
    longest += _steps(here, _tile(graph["exit"]["pos"])) + 2
    stat = graph["stats"]["critical_path_tiles"]
    if not shortest <= stat <= longest:
        return [f"critical_path_tiles {stat} is not within {shortest} … {longest}"]
    return []


def _corridor_doors(
    level: Level, corridor: dict[str, Any], room: str, following: str
) -> tuple[Tile, Tile] | None:
    """The doors at the two ends of a corridor: of ``room`` and of ``following``, each
    next to one of the corridor's tiles."""
    ends: dict[str, Tile] = {}
    for x, y in corridor["tiles"]:
        for dx, dy in STEPS:
            tile = (x + dx, y + dy)
            owner = level.footprint.get(tile)
            if tile in level.doors and owner in (room, following):
                ends.setdefault(owner, tile)
    if room not in ends or following not in ends:
        return None
    return ends[room], ends[following]


def _steps(a: Tile, b: Tile) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def _check_locks(spec: dict[str, Any], level: Level) -> list[str]:
    """With 4 rooms or more: a locked door of a path room onto a path corridor, whose key
    lies off the path."""
    if spec["rooms"] < 4 or designed(spec):
        return []
    graph = level.graph
    path, via = set(graph["critical_path"]), set(graph.get("critical_path_corridors", []))
    key_room = {item["id"]: item["room"] for item in graph["items"] if item["kind"] == "key"}
    for door in graph["doors"]:
        room, corridor = door["joins"]
        aside = door["locked"] and room in path and key_room.get(door["key"]) not in path
        if aside and (corridor in via or _opens_onto_path_corridor(level, door, via)):
            return []
    return ["no locked door on the critical path with its key off the path"]


def _opens_onto_path_corridor(level: Level, door: dict[str, Any], via: set[str]) -> bool:
    """Whether the tile outside ``door`` belongs to a corridor of the path (doors shared
    by two corridors name only the first)."""
    x, y = door["pos"]["x"], door["pos"]["y"]
    outside = {(x + dx, y + dy) for dx, dy in STEPS}
    return any(
        outside & {tuple(t) for t in corridor["tiles"]}
        for corridor in level.graph["corridors"]
        if corridor["id"] in via
    )


def _check_enemies(spec: dict[str, Any], level: Level) -> list[str]:
    graph = level.graph
    far = room_distances(level.links, graph["entrance"]["room"])
    bosses = [e for e in graph["enemies"] if e["boss"]]
    common = [e for e in graph["enemies"] if not e["boss"]]
    problems = []
    wants_boss = graph["exit"]["room"] != graph["entrance"]["room"]
    boss_room = graph["exit"]["room"]
    drawn_boss = [p for p in spec.get("prefabs", ()) if any("B" in row for row in p["map"])]
    if drawn_boss:  # the boss is the one drawn, in its prefab's copy
        boss_room = next(
            (r["id"] for r in graph["rooms"] if f"prefab:{drawn_boss[0]['name']}" in r["tags"]), ""
        )
    if "enemies" in spec.get("constraints", {}) and not bosses:
        wants_boss = False  # a count asked may leave no room for a boss
    if len(bosses) != wants_boss or any(b["room"] != boss_room for b in bosses):
        problems.append(f"{len(bosses)} bosses, not one in the exit room (or the prefab drawing it)")
    if bosses and common and bosses[0]["level"] < max(e["level"] for e in common):
        problems.append("the boss is weaker than another enemy")
    by_distance: dict[int, list[int]] = {}
    for enemy in common:
        by_distance.setdefault(far.get(enemy["room"], 0), []).append(enemy["level"])
    strongest_nearer = 0
    for distance in sorted(by_distance):
        if strongest_nearer > min(by_distance[distance]) + 1:
            problems.append(f"enemies at distance {distance} are weaker than nearer ones")
        strongest_nearer = max(strongest_nearer, *by_distance[distance])
    if "enemies" not in spec.get("constraints", {}):
        problems.extend(_enemy_count_problems(spec, level, common))
    return problems


def _enemy_count_problems(spec: dict[str, Any], level: Level, common: list[dict[str, Any]]) -> list[str]:
    graph = level.graph
    per_room: dict[str, int] = {}
    for enemy in common:
        per_room[enemy["room"]] = per_room.get(enemy["room"], 0) + 1
    taken: dict[str, int] = {}
    placed_first = [graph["entrance"], graph["exit"]]
    placed_first += [i for i in graph["items"] if i["kind"] == "key"]
    placed_first += [e for e in graph["enemies"] if e["boss"]]
    for thing in placed_first:
        taken[thing["room"]] = taken.get(thing["room"], 0) + 1
    problems = []
    for room in graph["rooms"]:
        if room["id"] == graph["entrance"]["room"] or prefab_name(room) is not None:
            continue
        area = len(level.floors[room["id"]])
        expected = area * spec["difficulty"] / TILES_PER_ENEMY_AT_DIFFICULTY_1
        count = per_room.get(room["id"], 0)
        lowest = min(math.floor(expected), (area - taken.get(room["id"], 0) - 1) // 2)
        if not lowest <= count <= math.ceil(expected):
            problems.append(f"{count} enemies in {room['id']} (area {area}), expected about {expected:.1f}")
    return problems


def _check_treasure(spec: dict[str, Any], level: Level) -> list[str]:
    """Treasure off the critical path, in every dead-end side room; prefab copies hold what
    is drawn (see ``_check_prefabs``), and a treasure count asked overrides both rules."""
    if "treasures" in spec.get("constraints", {}):
        return []
    graph = level.graph
    path = set(graph["critical_path"])
    drawn = {room["id"] for room in graph["rooms"] if prefab_name(room) is not None}
    holding = {item["room"] for item in graph["items"] if item["kind"] == "treasure"}
    problems = [f"treasure on the critical path in {room}" for room in sorted(holding & path - drawn)]
    for room, links in level.links.items():
        if room not in path and len(links) == 1 and room not in holding and room not in drawn:
            problems.append(f"dead-end side room {room} holds no treasure")
    return problems


def _check_theme(spec: dict[str, Any], level: Level) -> list[str]:
    """Rooms and corridors of the theme; prefab copies are as drawn, whatever the theme."""
    theme = spec["theme"]
    rooms = [room for room in level.graph["rooms"] if prefab_name(room) is None]
    shapes = {
        room["id"]: len(level.floors[room["id"]]) == room["bounds"]["w"] * room["bounds"]["h"]
        for room in rooms
    }
    if theme == "dungeon":
        problems = [f"dungeon room {rid} is not a rectangle" for rid, full in shapes.items() if not full]
        return problems + [
            f"dungeon corridor {c['id']} turns {turns} times"
            for c in level.graph["corridors"]
            if (turns := _turns(c["tiles"])) > 2
        ]
    if theme == "crypt":
        return [
            f"crypt room {room['id']} is not a small rectangle"
            for room in rooms
            if not shapes[room["id"]] or max(room["bounds"]["w"], room["bounds"]["h"]) > CRYPT_MAX_SIDE
        ]
    return [
        f"cave room {room['id']} is a plain rectangle"
        for room in rooms
        if shapes[room["id"]] and room["bounds"]["w"] >= 5 and room["bounds"]["h"] >= 4
    ]


def _turns(tiles: list[list[int]]) -> int:
    directions = [(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(tiles)]
    return sum(d1 != d2 for d1, d2 in itertools.pairwise(directions))


def designed(spec: dict[str, Any]) -> bool:
    """A spec with constraints or prefabs (CONTRACT §4.1)."""
    return bool(spec.get("constraints") or spec.get("prefabs"))


def prefab_name(room: dict[str, Any]) -> str | None:
    """The prefab a room is a copy of (its ``prefab:NAME`` tag), or ``None``."""
    names = [tag.removeprefix("prefab:") for tag in room["tags"] if tag.startswith("prefab:")]
    return names[0] if names else None


def measured(level: Level) -> dict[str, int]:
    """The counts constraints range over, from the artifacts alone: the critical path's
    length recomputed on the room graph (a shortest route, locked doors passed), and
    locks, enemies and treasure counted on the minimap."""
    graph = level.graph
    far = room_distances(level.links, graph["entrance"]["room"])
    text = "".join(level.rows)
    return {
        "critical_path_rooms": far.get(graph["exit"]["room"], -2) + 1,
        "locks": text.count("L"),
        "enemies": text.count("e") + text.count("B"),
        "treasures": text.count("$"),
    }


def _check_constraints(spec: dict[str, Any], level: Level) -> list[str]:
    """Every constraint of CONTRACT §4.1 met, counted independently of the stats; the
    stats and the scene graph agreeing with the counts."""
    graph, constraints = level.graph, spec.get("constraints", {})
    found = measured(level)
    problems = []
    agreeing = {
        "locks": sum(door["locked"] for door in graph["doors"]),
        "enemies": len(graph["enemies"]),
        "treasures": sum(item["kind"] == "treasure" for item in graph["items"]),
        "critical_path_rooms": len(graph["critical_path"]),
    }
    for name, count in found.items():
        if agreeing[name] != count or graph["stats"].get(name) != count:
            problems.append(f"{name}: {count} counted, the scene graph says {agreeing[name]}")
        bounds = constraints.get(name)
        if bounds is not None and not bounds.get("min", 0) <= count <= bounds.get("max", count):
            problems.append(f"{name}: {count}, not within {bounds}")
    if constraints.get("pacing") == "rising":
        problems.extend(_pacing_problems(level))
    return problems


def _pacing_problems(level: Level) -> list[str]:
    """Along the critical path the strongest enemy of each room holding any never falls;
    a boss stands in the exit room."""
    graph = level.graph
    strongest: dict[str, int] = {}
    for enemy in graph["enemies"]:
        strongest[enemy["room"]] = max(strongest.get(enemy["room"], 0), enemy["level"])
    problems, highest = [], 0
    for room in graph["critical_path"]:
        if room in strongest:
            if strongest[room] < highest:
                problems.append(
                    f"pacing: enemies of {room} (level {strongest[room]}) weaker than before ({highest})"
                )
            highest = max(highest, strongest[room])
    problems += [
        f"pacing: the boss {e['id']} is not in the exit room"
        for e in graph["enemies"]
        if e["boss"] and e["room"] != graph["exit"]["room"]
    ]
    return problems


def _check_prefabs(spec: dict[str, Any], level: Level) -> list[str]:
    """Every copy of every prefab, tagged ``prefab:NAME``, inside exactly as drawn cell by
    cell, its border walls where drawn ``#`` and walls or doors where drawn ``+`` (one
    door at least), every door of the room at a drawn ``+``; never the entrance or the
    exit; ``critical`` copies on the critical path, ``side`` ones off it."""
    graph = level.graph
    drawn = {prefab["name"]: prefab for prefab in spec.get("prefabs", ())}
    copies = {name: 0 for name in drawn}
    path = set(graph["critical_path"])
    problems = []
    for room in graph["rooms"]:
        name = prefab_name(room)
        if name is None:
            continue
        if name not in drawn:
            problems.append(f"{room['id']} is tagged as an unknown prefab {name}")
            continue
        copies[name] += 1
        prefab, rid = drawn[name], room["id"]
        problems += _drawn_problems(level, room, prefab["map"])
        if rid in (graph["entrance"]["room"], graph["exit"]["room"]):
            problems.append(f"prefab copy {rid} is the entrance or the exit room")
        if prefab["placement"] == "critical" and rid not in path:
            problems.append(f"critical prefab copy {rid} is off the critical path")
        if prefab["placement"] == "side" and rid in path:
            problems.append(f"side prefab copy {rid} is on the critical path")
    problems += [
        f"prefab {name}: {copies[name]} copies, not {prefab['count']}"
        for name, prefab in drawn.items()
        if copies[name] != prefab["count"]
    ]
    return problems


def _drawn_problems(level: Level, room: dict[str, Any], rows: list[str]) -> list[str]:
    """A copy against its drawing: inside and border cell by cell, and its doors."""
    bounds, rid = room["bounds"], room["id"]
    if (bounds["w"], bounds["h"]) != (len(rows[0]) - 2, len(rows) - 2) or room.get("shape") != "rect":
        return [f"prefab copy {rid} is {bounds['w']}x{bounds['h']}, not its drawing's inside"]
    x0, y0 = bounds["x"] - 1, bounds["y"] - 1
    problems, used = [], 0
    for dy, row in enumerate(rows):
        for dx, char in enumerate(row):
            tile = (x0 + dx, y0 + dy)
            seen = level.char(tile)
            if char == "+":
                used += seen == "+"
                ok = seen in "+#"
            else:
                ok = seen == char
            if not ok:
                problems.append(f"prefab copy {rid} shows {seen!r} at {tile} where {char!r} is drawn")
    doors = [d for d in level.graph["doors"] if d["joins"][0] == rid]
    for door in doors:
        dx, dy = door["pos"]["x"] - x0, door["pos"]["y"] - y0
        if not (0 <= dy < len(rows) and 0 <= dx < len(rows[0]) and rows[dy][dx] == "+"):
            problems.append(f"door {door['id']} of prefab copy {rid} is not at a drawn door position")
    if not used:
        problems.append(f"prefab copy {rid} has no open door")
    return problems


Check = Callable[[dict[str, Any], Level], list[str]]
CHECKS: tuple[Check, ...] = (
    _check_walls,
    _check_rooms,
    _check_doors,
    _check_things,
    _check_reachability,
    _check_stats,
    _check_dead_ends,
    _check_critical_path,
    _check_walk,
    _check_locks,
    _check_enemies,
    _check_treasure,
    _check_theme,
    _check_constraints,
    _check_prefabs,
)
"""The rules, in the order they run; each is named by its function without ``_check_``."""
