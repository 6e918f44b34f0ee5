"""Reachability with keys and locks, over rooms and corridors joined by doors.

Corridors that touch form one space. A locked door is passable once its key is held; a
key is held once its room is reached. Used by ``validate``.
"""

from __future__ import annotations

from collections.abc import Iterator

from levelforge.generation.blueprint import Blueprint, Point

Graph = list[list[tuple[int, int | None]]]
"""Nodes are rooms (0 to n-1) and then corridor spaces; edges carry the lock's key."""

_NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def check_reachability(blueprint: Blueprint) -> Iterator[str]:
    graph = _graph(blueprint)
    entrance = blueprint.locks.entrance.room
    key_rooms: dict[int, list[int]] = {}
    for key in blueprint.locks.keys:
        key_rooms.setdefault(key.room, []).append(key.index)
    reached = _reach(graph, entrance, key_rooms)
    for room in blueprint.rooms:
        if room.index not in reached:
            yield f"room {room.id} unreachable"
    if blueprint.locks.exit.room not in reached:
        yield "exit unreachable"
    for key in blueprint.locks.keys:
        if key.room not in _reach(graph, entrance, key_rooms, closed=key.index):
            yield f"key {key.id} is behind its own lock"
    if blueprint.locks.keys and blueprint.locks.exit.room in _reach(graph, entrance, {}):
        yield "no lock between the entrance and the exit"


def _graph(blueprint: Blueprint) -> Graph:
    """Rooms and corridor spaces (corridors that share or touch tiles), joined by doors."""
    corridors = blueprint.network.corridors
    parent = list(range(len(corridors)))
    owner: dict[Point, int] = {}
    for corridor in corridors:
        for tile in corridor.tiles:
            first = owner.setdefault(tile, corridor.index)
            if first != corridor.index:
                parent[_root(parent, first)] = _root(parent, corridor.index)
    for (x, y), node in owner.items():
        for other in (owner.get((x + 1, y)), owner.get((x, y + 1))):
            if other is not None and other != node:
                parent[_root(parent, node)] = _root(parent, other)
    rooms = len(blueprint.rooms)
    roots = sorted({_root(parent, node) for node in parent})
    spaces = {root: rooms + number for number, root in enumerate(roots)}
    graph: Graph = [[] for _ in range(rooms + len(spaces))]
    for door in blueprint.doors:
        x, y = door.pos
        for dx, dy in _NEIGHBOURS:
            outside = owner.get((x + dx, y + dy))
            if outside is not None:
                space = spaces[_root(parent, outside)]
                graph[door.room].append((space, door.key))
                graph[space].append((door.room, door.key))
    return graph


def _root(parent: list[int], node: int) -> int:
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


def _reach(graph: Graph, start: int, key_rooms: dict[int, list[int]], closed: int | None = None) -> set[int]:
    """Nodes reachable from ``start``, picking up keys on the way; the lock of key
    ``closed`` never opens."""
    reached, held = {start}, set()
    waiting: dict[int, list[int]] = {}
    stack = [start]
    while stack:
        node = stack.pop()
        opened: list[int] = []
        for key in key_rooms.get(node, ()):
            if key != closed:
                held.add(key)
                opened.extend(waiting.pop(key, ()))
        edges: list[tuple[int, int | None]] = [*graph[node], *((n, None) for n in opened)]
        for neighbour, lock in edges:
            if neighbour in reached:
                continue
            if lock is None or lock in held:
                reached.add(neighbour)
                stack.append(neighbour)
            elif lock != closed:
                waiting.setdefault(lock, []).append(neighbour)
    return reached
