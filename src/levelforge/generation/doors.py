"""place_doors: a door wherever a corridor meets a room's wall.

Two corridors leaving one wall at the same place share its door (``connect`` reuses a
position rather than put two doors side by side), so each position gets one door, which
joins its room and the first corridor that uses it.
"""

from __future__ import annotations

from collections.abc import Sequence

from levelforge.generation.blueprint import Door, Network, Point
from levelforge.generation.connect import COMPILED


def place_doors(network: Network) -> tuple[Door, ...]:
    """The doors of every corridor, numbered in corridor order (on the compiled core's
    ``place_doors`` while it runs a designed level's steps: the same doors)."""
    compiled = COMPILED.get()
    if compiled is not None:
        placed: tuple[Door, ...] = compiled.place_doors(network)
        return placed
    doors: dict[Point, Door] = {}
    for index, a, b, door_a, door_b, *_ in network.corridors:
        if door_a not in doors:
            doors[door_a] = Door(len(doors), door_a, a, index)
        if door_b not in doors:
            doors[door_b] = Door(len(doors), door_b, b, index)
    return tuple(doors.values())


def doors_by_room(room_count: int, doors: Sequence[Door]) -> list[list[Door]]:
    """For each room, its doors."""
    by_room: list[list[Door]] = [[] for _ in range(room_count)]
    for door in doors:
        by_room[door.room].append(door)
    return by_room
