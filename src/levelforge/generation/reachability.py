"""Reachability with keys and locks on the room graph, and the critical path's rules.

Rooms are joined by corridors; a corridor can be walked when both its doors are open,
and a locked door opens once its key is held; a key is held once its room is reached.
The tiles may join more than this graph does (corridors meeting on a line), never less,
so what is reachable here is reachable in the level. A designed level is also walked on
its tiles (``check_walk``): where its corridors touch, the joins they make must leave its
critical path the one shortest way and its locks in the way. Used by ``validate``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from levelforge.generation.blueprint import Blueprint, Point
from levelforge.generation.graph import distances, room_links

Edges = list[list[tuple[int, tuple[int | None, int | None]]]]
"""For each room: (neighbour, keys of the corridor's two doors)."""


def check_reachability(blueprint: Blueprint, edges: Edges | None = None) -> Iterator[str]:
    """The lock rules on the room graph (or on ``edges``: see ``check_walk``)."""
    edges = _edges(blueprint) if edges is None else edges
    entrance = blueprint.locks.entrance.room
    key_rooms: dict[int, list[int]] = {}
    for key in blueprint.locks.keys:
        key_rooms.setdefault(key.room, []).append(key.index)
    reached = _reach(edges, entrance, key_rooms)
    if len(reached) != len(blueprint.rooms):
        yield f"{len(blueprint.rooms) - len(reached)} rooms unreachable"
    if blueprint.locks.exit.room not in reached:
        yield "exit unreachable"
    for key in blueprint.locks.keys:
        if key.room not in _reach(edges, entrance, key_rooms, closed=key.index):
            yield f"key {key.id} is behind its own lock"
    if blueprint.locks.keys and blueprint.locks.exit.room in _reach(edges, entrance, {}):
        yield "no lock between the entrance and the exit"


def check_route(blueprint: Blueprint, *, designed: bool = False) -> Iterator[str]:
    """Corridors unbroken from door to door; the critical path a shortest way to a
    farthest room; with four rooms or more, a locked room on it whose key lies off it.
    A ``designed`` level's path is a shortest way to its exit, wherever the exit is, and
    its locks are as many as asked, so those two rules of placement are not held."""
    yield from _broken_corridors(blueprint)
    locks, corridors = blueprint.locks, blueprint.network.corridors
    path = locks.critical_path
    far = distances(room_links(len(blueprint.rooms), corridors), locks.entrance.room)
    farthest = far[locks.exit.room] if designed else max(far)
    if list(locks.distance) != far or far[locks.exit.room] != farthest or len(path) != farthest + 1:
        yield "the exit is not a farthest room, or the critical path not a shortest way to it"
    for room, following, index in zip(path, path[1:], locks.critical_corridors, strict=False):
        if {corridors[index].a, corridors[index].b} != {room, following}:
            yield f"critical path corridor c{index} does not join r{room} and r{following}"
    if len(blueprint.rooms) >= 4 and not designed and not _locked_on_path_with_key_aside(blueprint):
        yield "no locked room on the critical path with its key off the path"


def check_walk(blueprint: Blueprint) -> Iterator[str]:
    """A designed level walked on its tiles as planned. Its corridors are kept apart
    (``connect.route_apart``), but one of its tree may have had to touch another; then
    each room of those corridors is a step from each other, and with those joins the
    critical path must stay the one shortest way from the entrance to the exit (every
    room on a shortest way is on it), and the lock rules must still hold."""
    groups = _touching(blueprint)
    if groups is None:
        return
    edges = _joined_edges(blueprint, groups)
    path, locks = blueprint.locks.critical_path, blueprint.locks
    links = [[(neighbour, 0) for neighbour, _ in room] for room in edges]
    start, end = distances(links, locks.entrance.room), distances(links, locks.exit.room)
    length = len(path) - 1
    shortest = {room for room, (a, b) in enumerate(zip(start, end, strict=True)) if a + b == length}
    if start[locks.exit.room] != length or shortest != set(path):
        yield "touching corridors make a way to the exit as short as the critical path or shorter"
        return
    yield from check_reachability(blueprint, edges)


def _touching(blueprint: Blueprint) -> list[int] | None:
    """The group of each corridor (corridors that touch, on or beside each other's tiles,
    in one group), or ``None`` when none touch."""
    width, corridors = blueprint.layout.width, blueprint.network.corridors
    group = list(range(len(corridors)))

    def root(number: int) -> int:
        while group[number] != number:
            group[number] = group[group[number]]
            number = group[number]
        return number

    owner: dict[int, int] = {}
    touched = False
    for corridor in corridors:
        number = corridor.index
        cells = [y * width + x for x, y in corridor.tiles]
        for cell in cells:
            for near in (cell, cell - 1, cell + 1, cell - width, cell + width):
                other = owner.get(near, number)
                if other != number:
                    group[root(other)] = root(number)
                    touched = True
        owner.update(dict.fromkeys(cells, number))
    return [root(number) for number in range(len(corridors))] if touched else None


def _joined_edges(blueprint: Blueprint, groups: list[int]) -> Edges:
    """``_edges`` of the level as walked: every room of a group of touching corridors
    joined to every other room of it, through the doors each has onto the group."""
    keys: dict[Point, int | None] = {door.pos: door.key for door in blueprint.doors}
    ends: dict[int, list[tuple[int, int | None]]] = {}
    for corridor in blueprint.network.corridors:
        ends.setdefault(groups[corridor.index], []).extend(
            ((corridor.a, keys[corridor.door_a]), (corridor.b, keys[corridor.door_b]))
        )
    edges: Edges = [[] for _ in blueprint.rooms]
    for doors in ends.values():
        for (room, key), (other, other_key) in itertools.permutations(doors, 2):
            if room != other:
                edges[room].append((other, (key, other_key)))
    return edges


def _broken_corridors(blueprint: Blueprint) -> Iterator[str]:
    """Corridors whose way, from door to door, has two tiles in a row that do not touch:
    a step between them that is not one of the four unit steps."""
    for corridor in blueprint.network.corridors:
        way = (corridor.door_a, *corridor.tiles[: corridor.route], corridor.door_b)
        if not {(x1 - x0, y1 - y0) for (x0, y0), (x1, y1) in itertools.pairwise(way)} <= _UNIT_STEPS:
            yield f"corridor {corridor.id} is broken"


_UNIT_STEPS = frozenset({(1, 0), (-1, 0), (0, 1), (0, -1)})


def _locked_on_path_with_key_aside(blueprint: Blueprint) -> bool:
    on_path = set(blueprint.locks.critical_path)
    locked = {door.key: door.room for door in blueprint.doors if door.key is not None}
    return any(locked.get(key.index) in on_path and key.room not in on_path for key in blueprint.locks.keys)


def _edges(blueprint: Blueprint) -> Edges:
    keys: dict[Point, int | None] = {door.pos: door.key for door in blueprint.doors}
    edges: Edges = [[] for _ in blueprint.rooms]
    for corridor in blueprint.network.corridors:
        locks = (keys[corridor.door_a], keys[corridor.door_b])
        edges[corridor.a].append((corridor.b, locks))
        edges[corridor.b].append((corridor.a, locks))
    return edges


def _reach(edges: Edges, start: int, key_rooms: dict[int, list[int]], closed: int | None = None) -> set[int]:
    """Rooms reachable from ``start``, picking up keys on the way; the lock of key
    ``closed`` never opens."""
    reached, held = {start}, set()
    waiting: dict[int, list[tuple[int, tuple[int | None, int | None]]]] = {}
    queue = [start]  # read while it grows: a breadth-first order without a deque
    for room in queue:
        links = edges[room]
        if room in key_rooms:
            links = list(links)
            for key in key_rooms[room]:
                if key != closed:
                    held.add(key)
                    links += waiting.pop(key, ())
        for neighbour, locks in links:
            if neighbour in reached:
                continue
            lock_a, lock_b = locks
            shut = lock_a if lock_a is not None and lock_a not in held else None
            if shut is None and lock_b is not None and lock_b not in held:
                shut = lock_b
            if shut is None:
                reached.add(neighbour)
                queue.append(neighbour)
            elif shut != closed:
                waiting.setdefault(shut, []).append((neighbour, locks))
    return reached
