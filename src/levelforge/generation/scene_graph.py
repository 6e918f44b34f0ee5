"""compose_scene_graph: the scene graph of CONTRACT §5 (schema ``levelforge.scene-graph/1``)."""

from __future__ import annotations

from typing import Any

from levelforge.generation.blueprint import Blueprint, Item, Point, Room

SCHEMA = "levelforge.scene-graph/1"


def compose_scene_graph(spec: dict[str, Any], blueprint: Blueprint) -> dict[str, Any]:
    """The scene graph as a JSON-ready dict, fields in a fixed order."""
    locks, population = blueprint.locks, blueprint.population
    keys = [door.key for door in blueprint.doors]
    locked = len(keys) - keys.count(None)
    tags = _room_tags(blueprint)
    rooms = zip(blueprint.rooms, tags, locks.distance, strict=True)
    return {
        "schema": SCHEMA,
        "seed": spec["seed"],
        "spec": dict(spec),
        "size": {"w": blueprint.layout.width, "h": blueprint.layout.height},
        "rooms": [_room(room, room_tags, distance) for room, room_tags, distance in rooms],
        "corridors": [
            {
                "id": f"c{index}",
                "connects": [f"r{a}", f"r{b}"],
                "tiles": [[x, y] for x, y in tiles],
                "loop": loop,
            }
            for index, a, b, _, _, tiles, loop, _ in blueprint.network.corridors
        ],
        "doors": [
            {
                "id": f"d{index}",
                "pos": {"x": x, "y": y},
                "joins": [f"r{room}", f"c{corridor}"],
                "locked": key is not None,
                "key": None if key is None else f"k{key}",
            }
            for index, (x, y), room, corridor, key in blueprint.doors
        ],
        "items": [_item(item) for item in locks.keys + population.treasures],
        "enemies": [
            {
                "id": f"e{index}",
                "type": kind,
                "level": level,
                "room": f"r{room}",
                "pos": {"x": x, "y": y},
                "boss": boss,
            }
            for index, kind, level, room, (x, y), boss in population.enemies
        ],
        "entrance": {"room": f"r{locks.entrance.room}", "pos": _pos(locks.entrance.pos)},
        "exit": {"room": f"r{locks.exit.room}", "pos": _pos(locks.exit.pos)},
        "critical_path": [f"r{room}" for room in locks.critical_path],
        "critical_path_corridors": [f"c{corridor}" for corridor in locks.critical_corridors],
        "stats": {
            "rooms": len(blueprint.rooms),
            "doors": len(blueprint.doors),
            "locks": locked,
            "enemies": len(population.enemies),
            "treasures": len(population.treasures),
            "loops": blueprint.network.loops,
            "loops_possible": blueprint.network.possible,
            "critical_path_rooms": len(locks.critical_path),
            "critical_path_tiles": critical_path_tiles(blueprint),
            "attempts": blueprint.attempt,
        },
    }


def _room_tags(blueprint: Blueprint) -> list[list[str]]:
    """Each room's tags: entrance, exit, critical or side, locked, boss, prefab:NAME."""
    locks = blueprint.locks
    on_path = set(locks.critical_path)
    tags = [["critical" if room.index in on_path else "side"] for room in blueprint.rooms]
    tags[locks.exit.room].insert(0, "exit")
    tags[locks.entrance.room].insert(0, "entrance")
    for locked in sorted({door.room for door in blueprint.doors if door.key is not None}):
        tags[locked].append("locked")
    for enemy in blueprint.population.enemies:
        if enemy.boss:
            tags[enemy.room].append("boss")
    for room, name in blueprint.prefab_names.items():
        tags[room].append(f"prefab:{name}")
    return tags


def _room(room: Room, tags: list[str], distance: int) -> dict[str, Any]:
    """A room; ``shape`` is ``rect`` (the floor fills ``bounds``) or ``cavern`` (its floor
    is ``spans``: for each row of ``bounds`` from the top, the first and last x of floor),
    ``area`` its floor tiles, ``distance`` the corridors from the entrance to it."""
    x0, y0, x1, y1 = room.floor
    record: dict[str, Any] = {
        "id": f"r{room.index}",
        "bounds": {"x": x0, "y": y0, "w": x1 - x0 + 1, "h": y1 - y0 + 1},
        "tags": tags,
        "shape": "rect" if room.spans is None else "cavern",
        "area": room.area,
        "distance": distance,
    }
    if room.spans is not None:
        record["spans"] = [[first, last] for first, last in room.spans]
    return record


def _item(item: Item) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "room": f"r{item.room}",
        "pos": _pos(item.pos),
    }
    if item.kind == "key":
        record["opens"] = [f"d{door}" for door in item.opens]
    return record


def _pos(pos: Point) -> dict[str, int]:
    return {"x": pos[0], "y": pos[1]}


def critical_path_tiles(blueprint: Blueprint) -> int:
    """Tiles walked from the entrance to the exit along the critical path, the entrance's
    tile included: across each room from the tile inside the door one enters by to the
    tile inside the door one leaves by (Manhattan, exact in rectangles and caverns alike),
    and along the way of each corridor between, doors included."""
    locks, rooms = blueprint.locks, blueprint.rooms
    corridors = blueprint.network.corridors
    here, tiles = locks.entrance.pos, 1
    for room, index in zip(locks.critical_path, locks.critical_corridors, strict=False):
        corridor = corridors[index]
        leave, enter = (
            (corridor.door_a, corridor.door_b) if corridor.a == room else (corridor.door_b, corridor.door_a)
        )
        tiles += _steps(here, _inside(rooms[room], leave)) + 1 + corridor.route + 1
        here = _inside(rooms[corridor.b if corridor.a == room else corridor.a], enter)
        tiles += 1
    return tiles + _steps(here, locks.exit.pos)


def _inside(room: Room, door: Point) -> Point:
    """The floor tile just inside a door of ``room``."""
    x, y = door
    floor = room.floor
    if x < floor.x0:
        return x + 1, y
    if x > floor.x1:
        return x - 1, y
    return (x, y + 1) if y < floor.y0 else (x, y - 1)


def _steps(a: Point, b: Point) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])
