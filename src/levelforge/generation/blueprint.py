"""The level under construction: plain frozen records that the generation steps build.

Coordinates are tile coordinates, ``x`` to the right and ``y`` down. A ``Rect`` is
inclusive on both ends. Regions are given in *wall-line* coordinates: two neighbouring
regions share the line between them, and that line is where corridors run.
"""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Rect:
    """An inclusive rectangle of tiles, ``x0 … x1`` by ``y0 … y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0 + 1

    @property
    def h(self) -> int:
        return self.y1 - self.y0 + 1

    @property
    def area(self) -> int:
        return self.w * self.h

    def contains(self, x: int, y: int) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def grown(self, by: int) -> Rect:
        return Rect(self.x0 - by, self.y0 - by, self.x1 + by, self.y1 + by)

    def intersects(self, other: Rect) -> bool:
        return not (other.x0 > self.x1 or other.x1 < self.x0 or other.y0 > self.y1 or other.y1 < self.y0)


@dataclass(frozen=True, slots=True)
class Layout:
    """The map split into exactly ``len(regions)`` regions sharing their border lines."""

    width: int
    height: int
    regions: tuple[Rect, ...]


@dataclass(frozen=True, slots=True)
class Room:
    """A room: its floor rectangle inside its region; the ring around the floor is wall."""

    index: int
    region: Rect
    floor: Rect

    @property
    def id(self) -> str:
        return f"r{self.index}"


@dataclass(frozen=True, slots=True)
class Corridor:
    """A corridor from a door of room ``a`` to a door of room ``b``; ``tiles`` in order."""

    index: int
    a: int
    b: int
    door_a: Point
    door_b: Point
    tiles: tuple[Point, ...]
    loop: bool

    @property
    def id(self) -> str:
        return f"c{self.index}"


@dataclass(frozen=True, slots=True)
class Network:
    """The corridors: a spanning tree over the rooms plus ``loops`` extra connections."""

    corridors: tuple[Corridor, ...]
    loops: int


@dataclass(frozen=True, slots=True)
class Door:
    """A door in the wall ring of ``room``, opening onto ``corridor``; ``key`` locks it."""

    index: int
    pos: Point
    room: int
    corridor: int
    key: int | None = None

    @property
    def id(self) -> str:
        return f"d{self.index}"


@dataclass(frozen=True, slots=True)
class Item:
    """A key (``opens`` lists door indices) or a treasure, on a floor tile of ``room``."""

    index: int
    kind: str
    room: int
    pos: Point
    opens: tuple[int, ...] = ()

    @property
    def id(self) -> str:
        return f"{'k' if self.kind == 'key' else 't'}{self.index}"


@dataclass(frozen=True, slots=True)
class Enemy:
    index: int
    type: str
    level: int
    room: int
    pos: Point
    boss: bool

    @property
    def id(self) -> str:
        return f"e{self.index}"


@dataclass(frozen=True, slots=True)
class Marker:
    """The entrance or the exit: a room and a floor tile in it."""

    room: int
    pos: Point


@dataclass(frozen=True, slots=True)
class Locks:
    """What ``place_keys`` decides: entrance, exit, the route between, locked doors, keys."""

    entrance: Marker
    exit: Marker
    critical_path: tuple[int, ...]
    doors: tuple[Door, ...]
    keys: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Population:
    """What ``place_enemies`` decides: enemies (a boss among them, maybe) and treasure."""

    enemies: tuple[Enemy, ...]
    treasures: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Blueprint:
    """A complete candidate level, before it is validated and published."""

    layout: Layout
    rooms: tuple[Room, ...]
    network: Network
    locks: Locks
    population: Population
    attempt: int

    @property
    def doors(self) -> tuple[Door, ...]:
        return self.locks.doors
