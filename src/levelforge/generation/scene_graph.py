"""compose_scene_graph: the scene graph of CONTRACT §5 (schema ``levelforge.scene-graph/1``)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from levelforge.generation.blueprint import Blueprint, Corridor, Enemy, Item, Point, Room

SCHEMA = "levelforge.scene-graph/1"


def compose_scene_graph(spec: dict[str, Any], blueprint: Blueprint) -> dict[str, Any]:
    """The scene graph as a JSON-ready dict, fields in a fixed order."""
    locks, population = blueprint.locks, blueprint.population
    locked = sum(door.key is not None for door in blueprint.doors)
    tags = _room_tags(blueprint)
    return {
        "schema": SCHEMA,
        "seed": spec["seed"],
        "spec": dict(spec),
        "size": {"w": blueprint.layout.width, "h": blueprint.layout.height},
        "rooms": [_room(room, tags) for room in blueprint.rooms],
        "corridors": [_corridor(corridor) for corridor in blueprint.network.corridors],
        "doors": [
            {
                "id": door.id,
                "pos": _pos(door.pos),
                "joins": [f"r{door.room}", f"c{door.corridor}"],
                "locked": door.key is not None,
                "key": None if door.key is None else f"k{door.key}",
            }
            for door in blueprint.doors
        ],
        "items": [_item(item) for item in locks.keys + population.treasures],
        "enemies": [_enemy(enemy) for enemy in population.enemies],
        "entrance": {"room": f"r{locks.entrance.room}", "pos": _pos(locks.entrance.pos)},
        "exit": {"room": f"r{locks.exit.room}", "pos": _pos(locks.exit.pos)},
        "critical_path": [f"r{room}" for room in locks.critical_path],
        "stats": {
            "rooms": len(blueprint.rooms),
            "doors": len(blueprint.doors),
            "locks": locked,
            "enemies": len(population.enemies),
            "loops": blueprint.network.loops,
            "critical_path_rooms": len(locks.critical_path),
            "critical_path_tiles": critical_path_tiles(blueprint),
            "attempts": blueprint.attempt,
        },
    }


def _room_tags(blueprint: Blueprint) -> dict[int, list[str]]:
    locks = blueprint.locks
    tags: dict[int, list[str]] = {room.index: [] for room in blueprint.rooms}
    tags[locks.entrance.room].append("entrance")
    tags[locks.exit.room].append("exit")
    on_path = set(locks.critical_path)
    for room in blueprint.rooms:
        tags[room.index].append("critical" if room.index in on_path else "side")
    for locked in sorted({door.room for door in blueprint.doors if door.key is not None}):
        tags[locked].append("locked")
    for enemy in blueprint.population.enemies:
        if enemy.boss:
            tags[enemy.room].append("boss")
    return tags


def _room(room: Room, tags: dict[int, list[str]]) -> dict[str, Any]:
    floor = room.floor
    bounds = {"x": floor.x0, "y": floor.y0, "w": floor.w, "h": floor.h}
    return {"id": room.id, "bounds": bounds, "tags": tags[room.index]}


def _corridor(corridor: Corridor) -> dict[str, Any]:
    return {
        "id": corridor.id,
        "connects": [f"r{corridor.a}", f"r{corridor.b}"],
        "tiles": [[x, y] for x, y in corridor.tiles],
        "loop": corridor.loop,
    }


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


def _enemy(enemy: Enemy) -> dict[str, Any]:
    return {
        "id": enemy.id,
        "type": enemy.type,
        "level": enemy.level,
        "room": f"r{enemy.room}",
        "pos": _pos(enemy.pos),
        "boss": enemy.boss,
    }


def _pos(pos: Point) -> dict[str, int]:
    return {"x": pos[0], "y": pos[1]}


def critical_path_tiles(blueprint: Blueprint) -> int:
    """Tiles walked from the entrance to the exit along the critical path: straight
    (Manhattan) across each room from where one enters to where one leaves, and every
    tile of each corridor between, doors included."""
    locks = blueprint.locks
    by_pair: dict[tuple[int, int], Corridor] = {}
    for corridor in blueprint.network.corridors:
        by_pair.setdefault((corridor.a, corridor.b), corridor)
        by_pair.setdefault((corridor.b, corridor.a), corridor)
    here, tiles = locks.entrance.pos, 1
    path = locks.critical_path
    for room, following in pairwise(path):
        corridor = by_pair[(room, following)]
        leave, enter = (
            (corridor.door_a, corridor.door_b) if corridor.a == room else (corridor.door_b, corridor.door_a)
        )
        tiles += _steps(here, leave) + len(corridor.tiles) + 1
        here = enter
    return tiles + _steps(here, locks.exit.pos)


def _steps(a: Point, b: Point) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])
