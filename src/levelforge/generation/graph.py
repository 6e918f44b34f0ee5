"""The room graph: rooms linked by corridors, and the searches the steps need on it.

Distances are counted in corridors (hops between rooms), as the scene graph's
``corridors[].connects`` draw the level.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from levelforge.generation.blueprint import Corridor

Links = list[list[tuple[int, int]]]
"""For each room, its (neighbouring room, corridor index) pairs."""


def room_links(room_count: int, corridors: Sequence[Corridor]) -> Links:
    links: Links = [[] for _ in range(room_count)]
    for corridor in corridors:
        links[corridor.a].append((corridor.b, corridor.index))
        links[corridor.b].append((corridor.a, corridor.index))
    return links


def search(links: Links, start: int, avoid: Collection[int] = ()) -> dict[int, tuple[int, int]]:
    """Breadth-first from ``start`` around the rooms in ``avoid``: room → (parent, corridor),
    in the order reached (so the last key is a farthest room). The start maps to ``(-1, -1)``.
    (The queue is the list of rooms reached, read while it grows: cheaper than a deque.)"""
    parents = {start: (-1, -1)}
    seen = {start, *avoid}
    reached = [start]
    for room in reached:
        for neighbour, corridor in links[room]:
            if neighbour not in seen:
                seen.add(neighbour)
                parents[neighbour] = (room, corridor)
                reached.append(neighbour)
    return parents


def distances(links: Links, start: int) -> list[int]:
    """Corridors from ``start`` to every room (-1 where unreachable)."""
    far = [-1] * len(links)
    far[start] = 0
    reached = [start]
    for room in reached:
        step = far[room] + 1
        for neighbour, _ in links[room]:
            if far[neighbour] < 0:
                far[neighbour] = step
                reached.append(neighbour)
    return far


def path_to(parents: dict[int, tuple[int, int]], goal: int) -> list[tuple[int, int]]:
    """The (room, corridor taken into it) pairs from the search's start to ``goal``."""
    path: list[tuple[int, int]] = []
    room = goal
    while room != -1:
        parent, corridor = parents[room]
        path.append((room, corridor))
        room = parent
    path.reverse()
    return path
