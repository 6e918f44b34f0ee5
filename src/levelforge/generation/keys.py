"""place_keys: the entrance, the exit, the route between them, and locks with their keys.

The exit is the room farthest from the entrance (in corridors), and the entrance is itself
a room at the far end of the level (found by a double sweep), so the critical path, a
shortest way between them, is long. With four rooms or more some room is always off it.

A lock closes *every* door of one room with one key, so the room cannot be entered any
other way. The exit room is always locked when there are four rooms or more; harder
levels (and crypts) lock more rooms along the critical path. Locks are opened in order
along the path: the key of each lies in a side room (off the critical path) reachable
from the entrance with that lock and every later one closed, preferably one that the lock
before it opened. So no key is ever behind its own lock, and once the keys are found every
room is reachable.
"""

from __future__ import annotations

from collections.abc import Sequence

from levelforge.generation.blueprint import Door, Item, Locks, Marker, Network, Point, Room
from levelforge.generation.doors import doors_by_room
from levelforge.generation.graph import Links, distances, path_to, room_links, search
from levelforge.generation.rooms import pick_free_tile
from levelforge.generation.seeding import Dice

MIN_ROOMS_FOR_LOCKS = 4


def place_keys(
    rooms: Sequence[Room],
    network: Network,
    doors: Sequence[Door],
    difficulty: int,
    theme: str,
    dice: Dice,
) -> Locks:
    """Choose entrance and exit, lock rooms on the way, and hide their keys."""
    links = room_links(len(rooms), network.corridors)
    entrance, parents = _ends(links, dice)
    path = path_to(parents, next(reversed(parents)))
    critical = tuple(room for room, _ in path)
    taken: dict[int, set[Point]] = {}
    entrance_pos = pick_free_tile(rooms[entrance], taken.setdefault(entrance, set()), dice)
    exit_pos = pick_free_tile(rooms[critical[-1]], taken.setdefault(critical[-1], set()), dice)
    by_room = doors_by_room(len(rooms), doors)
    new_doors = list(doors)
    keys = []
    for number, (locked, home) in enumerate(_locks(links, critical, difficulty, theme, dice)):
        opens = tuple(door.index for door in by_room[locked])
        for index in opens:
            door = new_doors[index]
            new_doors[index] = Door(index, door.pos, door.room, door.corridor, number)
        pos = pick_free_tile(rooms[home], taken.setdefault(home, set()), dice)
        keys.append(Item(number, "key", home, pos, opens))
    return Locks(
        entrance=Marker(entrance, entrance_pos),
        exit=Marker(critical[-1], exit_pos),
        critical_path=critical,
        critical_corridors=tuple(corridor for _, corridor in path[1:]),
        distance=tuple(distances(links, entrance)),
        doors=tuple(new_doors),
        keys=tuple(keys),
    )


def _ends(links: Links, dice: Dice) -> tuple[int, dict[int, tuple[int, int]]]:
    """The entrance (a farthest room from a random one) and the search from it, whose last
    room is the exit. When the level is one chain the entrance moves one room in, so that
    a side room is left for the key."""
    entrance = next(reversed(search(links, dice.below(len(links)))))
    parents = search(links, entrance)
    path = path_to(parents, next(reversed(parents)))
    if len(links) >= MIN_ROOMS_FOR_LOCKS and len(path) == len(links):
        entrance = path[1][0]
        parents = search(links, entrance)
    return entrance, parents


def lock_count(path_rooms: int, difficulty: int, theme: str) -> int:
    """How many rooms to lock: the exit, and more on harder levels and in crypts; never
    more than half the rooms strictly between entrance and exit."""
    extra = difficulty // 3 + (theme == "crypt")
    return 1 + min(extra, max(path_rooms - 2, 0) // 2)


def _locks(
    links: Links, critical: tuple[int, ...], difficulty: int, theme: str, dice: Dice
) -> list[tuple[int, int]]:
    """(locked room, room of its key) pairs, in the order they are opened."""
    if len(links) < MIN_ROOMS_FOR_LOCKS:
        return []
    between = critical[1:-1]
    extra = lock_count(len(critical), difficulty, theme) - 1
    picks = sorted(range(len(between)), key=lambda _: dice.random())[:extra]
    order = [between[i] for i in sorted(picks)] + [critical[-1]]
    on_path = set(critical)
    chosen: list[tuple[int, int]] = []
    opened: set[int] = set()
    for position, room in enumerate(order):
        reached = search(links, critical[0], avoid=set(order[position:]))
        sides = [r for r in reached if r not in on_path]
        fresh = [r for r in sides if r not in opened] or sides
        if not fresh:
            continue
        chosen.append((room, fresh[dice.below(len(fresh))]))
        opened = set(reached)
    return chosen


def describe_locks(locks: Locks) -> str:
    locked = len(locks.doors) - [door.key for door in locks.doors].count(None)
    return (
        f"Locked {locked} doors with {len(locks.keys)} keys; "
        f"entrance {_room_id(locks.entrance.room)}, exit {_room_id(locks.exit.room)}, "
        f"critical path of {len(locks.critical_path)} rooms"
    )


def _room_id(index: int) -> str:
    return f"r{index}"
