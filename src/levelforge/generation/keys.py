"""place_keys: the entrance, the exit, the route between them, and locks with their keys.

A lock closes *every* door of one room with one key, so the room cannot be entered any
other way. The exit room is always locked when there are four rooms or more, which puts a
lock on every way from the entrance to the exit. Every key lies in a room reachable from
the entrance without passing any lock, so no key is ever behind its own lock (or any
other), and once the keys are found every room is reachable.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

from levelforge.generation.blueprint import Door, Item, Locks, Marker, Network, Point, Room
from levelforge.generation.doors import doors_by_room
from levelforge.generation.graph import path_to, room_links, search
from levelforge.generation.rooms import pick_free_tile

MIN_ROOMS_FOR_LOCKS = 4


def place_keys(
    rooms: Sequence[Room],
    network: Network,
    doors: Sequence[Door],
    difficulty: int,
    rng: random.Random,
) -> Locks:
    """Choose entrance and exit, lock rooms on the way, and hide their keys."""
    links = room_links(len(rooms), network.corridors)
    entrance = rng.randrange(len(rooms))
    parents = search(links, entrance)
    exit_room = next(reversed(parents))  # the last room reached: one of the farthest
    taken: dict[int, set[Point]] = {room.index: set() for room in rooms}
    entrance_pos = pick_free_tile(rooms[entrance].floor, taken[entrance], rng)
    exit_pos = pick_free_tile(rooms[exit_room].floor, taken[exit_room], rng)
    locked = _lock_rooms(len(rooms), entrance, exit_room, difficulty, rng)
    free = [room for room in search(links, entrance, avoid=set(locked)) if room != entrance]
    by_room = doors_by_room(len(rooms), doors)
    new_doors = list(doors)
    keys = []
    for number, room in enumerate(locked):
        home = rng.choice(free) if free else entrance
        opens = tuple(door.index for door in by_room[room])
        for index in opens:
            new_doors[index] = dataclasses.replace(new_doors[index], key=number)
        pos = pick_free_tile(rooms[home].floor, taken[home], rng)
        keys.append(Item(number, "key", home, pos, opens))
    return Locks(
        entrance=Marker(entrance, entrance_pos),
        exit=Marker(exit_room, exit_pos),
        critical_path=tuple(room for room, _ in path_to(parents, exit_room)),
        doors=tuple(new_doors),
        keys=tuple(keys),
    )


def _lock_rooms(count: int, entrance: int, exit_room: int, difficulty: int, rng: random.Random) -> list[int]:
    """The exit room, then a few more rooms on bigger and harder levels."""
    if count < MIN_ROOMS_FOR_LOCKS:
        return []
    extra = min((count - MIN_ROOMS_FOR_LOCKS) // 8, difficulty // 3, 3)
    others = [room for room in range(count) if room not in (entrance, exit_room)]
    return [exit_room, *rng.sample(others, extra)]


def describe_locks(locks: Locks) -> str:
    locked = sum(door.key is not None for door in locks.doors)
    return (
        f"Locked {locked} doors with {len(locks.keys)} keys; "
        f"entrance {_room_id(locks.entrance.room)}, exit {_room_id(locks.exit.room)}, "
        f"critical path of {len(locks.critical_path)} rooms"
    )


def _room_id(index: int) -> str:
    return f"r{index}"
