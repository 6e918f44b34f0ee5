"""The level under construction: plain frozen records that the generation steps build.

Coordinates are tile coordinates, ``x`` to the right and ``y`` down. A ``Rect`` is
inclusive on both ends. The many small records are named tuples (immutable, and several
times cheaper to make than frozen dataclasses; their ``index`` field hides the tuple
method of that name, which nothing uses); the few big ones are frozen dataclasses.
Regions are given in *wall-line* coordinates: two neighbouring
regions share the line between them, and that line is where corridors run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

Point = tuple[int, int]


class Rect(NamedTuple):
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
        x0, y0, x1, y1 = self
        return (x1 - x0 + 1) * (y1 - y0 + 1)

    def contains(self, x: int, y: int) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def grown(self, by: int) -> Rect:
        return Rect(self.x0 - by, self.y0 - by, self.x1 + by, self.y1 + by)


@dataclass(frozen=True, slots=True)
class Layout:
    """The map split into exactly ``len(regions)`` regions sharing their border lines."""

    width: int
    height: int
    regions: tuple[Rect, ...]


Span = tuple[int, int]
"""An inclusive run of tiles ``first … last`` along a row."""


class Room(NamedTuple):
    """A room inside its region. ``floor`` is the bounding rectangle of its floor; the ring
    around it is wall (or door). A rectangular room's floor fills ``floor``; a cavern's
    floor is ``spans``, one run of tiles per row of ``floor`` from top to bottom, every
    row and every column of it one unbroken run (so walking inside it is as short as the
    Manhattan distance), with a 3x3 all-floor square somewhere and touching all four sides
    of ``floor``."""

    index: int  # type: ignore[assignment]
    region: Rect
    floor: Rect
    spans: tuple[Span, ...] | None = None

    @property
    def id(self) -> str:
        return f"r{self.index}"

    @property
    def area(self) -> int:
        """How many floor tiles the room has."""
        if self.spans is None:
            x0, y0, x1, y1 = self.floor
            return (x1 - x0 + 1) * (y1 - y0 + 1)
        return sum(last - first + 1 for first, last in self.spans)

    def row(self, y: int) -> Span:
        """The floor tiles of row ``y`` (a row of ``floor``)."""
        if self.spans is None:
            return self.floor.x0, self.floor.x1
        return self.spans[y - self.floor.y0]


class Corridor(NamedTuple):
    """A corridor from a door of room ``a`` to a door of room ``b``. The first ``route``
    tiles are the way from the tile outside ``door_a`` to the tile outside ``door_b``, in
    order, each next to the one before; any further tiles widen it (caves)."""

    index: int  # type: ignore[assignment]
    a: int
    b: int
    door_a: Point
    door_b: Point
    tiles: tuple[Point, ...]
    loop: bool
    route: int = 0

    @property
    def id(self) -> str:
        return f"c{self.index}"


@dataclass(frozen=True, slots=True)
class Network:
    """The corridors: a spanning tree over the rooms plus ``loops`` extra connections, out
    of ``possible`` pairs of neighbouring rooms left out of the tree."""

    corridors: tuple[Corridor, ...]
    loops: int
    possible: int = 0


class Door(NamedTuple):
    """A door in the wall ring of ``room``, opening onto ``corridor``; ``key`` locks it."""

    index: int  # type: ignore[assignment]
    pos: Point
    room: int
    corridor: int
    key: int | None = None

    @property
    def id(self) -> str:
        return f"d{self.index}"


class Item(NamedTuple):
    """A key (``opens`` lists door indices) or a treasure, on a floor tile of ``room``."""

    index: int  # type: ignore[assignment]
    kind: str
    room: int
    pos: Point
    opens: tuple[int, ...] = ()

    @property
    def id(self) -> str:
        return f"{'k' if self.kind == 'key' else 't'}{self.index}"


class Enemy(NamedTuple):
    index: int  # type: ignore[assignment]
    type: str
    level: int
    room: int
    pos: Point
    boss: bool

    @property
    def id(self) -> str:
        return f"e{self.index}"


class Marker(NamedTuple):
    """The entrance or the exit: a room and a floor tile in it."""

    room: int
    pos: Point


@dataclass(frozen=True, slots=True)
class Locks:
    """What ``place_keys`` decides: entrance, exit, the route between (its rooms, and the
    corridors joining them), each room's distance from the entrance in corridors, locked
    doors and keys."""

    entrance: Marker
    exit: Marker
    critical_path: tuple[int, ...]
    critical_corridors: tuple[int, ...]
    distance: tuple[int, ...]
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
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    prefab_names: dict[int, str] = field(default_factory=dict)
    """The prefab each prefab copy is (by room index), for its ``prefab:NAME`` tag."""
    """Work derived from the blueprint and kept for later steps (see ``grid.grid_of``)."""

    @property
    def doors(self) -> tuple[Door, ...]:
        return self.locks.doors
