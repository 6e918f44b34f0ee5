"""The level spec (CONTRACT §4, §4.1): strict JSON types, ranges, and the rules that
refuse a spec no level can meet.

``LevelSpecIn`` is what ``POST /jobs`` accepts; ``normalise`` fills every default and
the seed, giving the dict recorded in the job and fed to the generator. The designer's
fields (``constraints``, ``prefabs``) appear in the normalised spec only when not empty, so
a spec without them is recorded, and generated, exactly as before they existed.

A refusal names its field by its path: ``rooms``, ``constraints.locks.min``,
``prefabs[1].map`` (``field_path``); the API's 422 and ``SpecError`` say the same.
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from levelforge.errors import SpecError
from levelforge.generation.bands import EXIT_STAND_IN, Bands, plan_bands
from levelforge.generation.blueprint import Rect
from levelforge.generation.design import Keyed, witness_plan
from levelforge.generation.layout import MIN_SPAN
from levelforge.generation.prefabs import Prefab as PlacedPrefab
from levelforge.generation.prefabs import copies_of, prefabs_of, walkable

SEED_MAX = 2**53 - 1
TILES_PER_ROOM = 64
COUNT_MAX = 1_000_000
MAX_PREFABS = 16
PREFAB_SIDE = (5, 32)
ENEMIES_PER_ROOM = 3
"""Generated enemies a room other than the entrance can always hold (a 3x3 floor)."""
TREASURES_PER_ROOM = 2
"""Generated treasures any room that is not a prefab can always hold."""
INSIDE = frozenset(".$eB")
BORDER = frozenset("#+")
Theme = Literal["dungeon", "crypt", "cave"]
Placement = Literal["critical", "side", "any"]


def _refuse(loc: tuple[str | int, ...], message: str) -> ValidationError:
    """A validation error at ``loc`` (relative to the model being validated)."""
    error = PydanticCustomError("spec_rule", message)
    return ValidationError.from_exception_data(
        "LevelSpecIn", [InitErrorDetails(type=error, loc=loc, input=None)]
    )


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("Input should be a valid integer (leave the field out instead of null)")
    return value


Bound = Annotated[int | None, Field(ge=0, le=COUNT_MAX), WithJsonSchema({"type": "integer", "minimum": 0})]


class Range(BaseModel):
    """``{"min": int, "max": int}``, either left out; ``min <= max``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    min: Bound = None
    max: Bound = None

    _min_not_null = field_validator("min", "max", mode="before")(_not_null)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise _refuse(("min",), f"min {self.min} is above max {self.max}")
        return self

    def bounds(self, low: int, high: int) -> tuple[int, int]:
        """``min`` and ``max`` with the missing ones as ``low`` and ``high``."""
        return (low if self.min is None else self.min), (high if self.max is None else self.max)


class Constraints(BaseModel):
    """What the level must meet: ranges over ``stats`` counts, and ``pacing``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    critical_path_rooms: Range | None = Field(
        default=None, description="rooms on the shortest route from entrance to exit, both included"
    )
    locks: Range | None = Field(default=None, description="locked doors")
    enemies: Range | None = Field(default=None, description="enemies, the boss included")
    treasures: Range | None = Field(default=None, description="treasure items")
    pacing: Literal["rising"] | None = Field(
        default=None,
        description="enemy levels never fall along the critical path; the boss stands in the exit room",
    )

    @field_validator("critical_path_rooms", "locks", "enemies", "treasures", "pacing", mode="before")
    @classmethod
    def _present(cls, value: Any) -> Any:
        return _not_null_object(value)


def _not_null_object(value: Any) -> Any:
    if value is None:
        raise ValueError("Input should be an object (leave the field out instead of null)")
    return value


NO_CONSTRAINTS = Constraints()
"""The constraints of a spec that asks none (frozen: shared by every such spec)."""


class Prefab(BaseModel):
    """A designer room, drawn: ``#`` wall and ``+`` door positions on the border, ``.``
    floor, ``$`` treasure, ``e`` enemy and ``B`` boss inside."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_-]{1,32}$", description="1-32 of a-z 0-9 _ -; unique")
    map: list[str] = Field(
        min_length=PREFAB_SIDE[0], max_length=PREFAB_SIDE[1], description="5-32 rows of 5-32"
    )
    count: int = Field(default=1, ge=1, le=50)
    placement: Placement = "any"

    @field_validator("map")
    @classmethod
    def _drawn(cls, rows: list[str]) -> list[str]:
        problem = _kept_map_problem(tuple(rows))
        if problem is not None:
            raise ValueError(problem)
        return rows

    @property
    def inside(self) -> tuple[int, int]:
        """The floor's width and height: the map without its border."""
        return len(self.map[0]) - 2, len(self.map) - 2

    def door_sides(self) -> set[str]:
        """The sides (N, S, W, E) with door positions."""
        rows = self.map
        border = {
            "N": rows[0],
            "S": rows[-1],
            "W": "".join(r[0] for r in rows),
            "E": "".join(r[-1] for r in rows),
        }
        return {side for side, line in border.items() if "+" in line}

    def drawn(self, char: str) -> int:
        """How many ``char`` one copy's inside holds."""
        return sum(row[1:-1].count(char) for row in self.map[1:-1])


@functools.lru_cache(maxsize=1024)
def _kept_map_problem(rows: tuple[str, ...]) -> str | None:
    """``map_problem``, kept for the maps asked again (a design submitted on many seeds)."""
    return map_problem(rows)


def map_problem(rows: Sequence[str]) -> str | None:  # noqa: PLR0911 (one message a rule)
    """What is wrong with a drawn map, or ``None``."""
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        lengths = sorted({len(row) for row in rows})
        return (
            f"rows are of different lengths ({', '.join(map(str, lengths))}): every row has the same length"
        )
    if not PREFAB_SIDE[0] <= width <= PREFAB_SIDE[1]:
        return f"rows are {width} characters long: 5 to 32"
    wrong = _wrong_character(rows, width)
    if wrong is not None:
        return wrong
    corners = (rows[0][0], rows[0][-1], rows[-1][0], rows[-1][-1])
    if "+" in corners:
        return "a door position '+' in a corner: doors stand on a side, between two walls"
    if not any("+" in row for row in (rows[0], rows[-1])) and not any(
        row[0] == "+" or row[-1] == "+" for row in rows
    ):
        return "no door position '+' on the border: a prefab needs at least one"
    if sum(row.count("B") for row in rows) > 1:
        return "two 'B' in one map: a level has at most one boss"
    return None


def _wrong_character(rows: Sequence[str], width: int) -> str | None:
    """The first character out of place in a map of rows ``width`` long, or ``None``
    (rows checked whole, each character of a row only where the row is wrong)."""
    height = len(rows)
    for y, row in enumerate(rows):
        edge = y in (0, height - 1)
        if edge and BORDER.issuperset(row):
            continue
        if not edge and row[0] in BORDER and row[-1] in BORDER and INSIDE.issuperset(row[1:-1]):
            continue
        for x, char in enumerate(row):
            border = edge or x in (0, width - 1)
            if border and char not in BORDER:
                return f"row {y} column {x}: {char!r} on the border, where only '#' or '+' may stand"
            if not border and char not in INSIDE:
                return f"row {y} column {x}: {char!r} inside, where only '.', '$', 'e' or 'B' may stand"
    return None


class LevelSpecIn(BaseModel):
    """A level request. Types are strict JSON types: ``"64"``, ``true`` and ``64.0`` are
    not integers; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    _pending: Problem | None = PrivateAttr(default=None)
    """The refusal the witness search would make, pending (``put_witness_aside``)."""

    seed: Annotated[
        int | None,
        Field(ge=0, le=SEED_MAX),
        # documented as what a client may send: an integer, or nothing (never null)
        WithJsonSchema({"type": "integer", "minimum": 0, "maximum": SEED_MAX}),
    ] = Field(default=None, description="0 to 2^53-1; drawn at random and recorded when absent")
    width: int = Field(default=64, ge=16, le=512, description="tiles")
    height: int = Field(default=40, ge=16, le=512, description="tiles")
    rooms: int = Field(
        default=12,
        ge=1,
        le=2000,
        description="exactly this many rooms; rooms * 64 <= width * height",
    )
    difficulty: int = Field(default=3, ge=1, le=10)
    theme: Theme = "dungeon"
    loops: float = Field(default=0.15, ge=0, le=1, description="extra connections, as a share of rooms")
    constraints: Constraints = Field(
        default=NO_CONSTRAINTS,
        description="what the level must meet (§4.1)",
        json_schema_extra={"default": {}},
    )
    prefabs: list[Prefab] = Field(
        default_factory=list, max_length=MAX_PREFABS, description="designer rooms, placed as drawn (§4.1)"
    )

    @field_validator("seed", mode="before")
    @classmethod
    def _seed_is_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("Input should be a valid integer (leave seed out to draw one)")
        return value

    @field_validator("loops", mode="before")
    @classmethod
    def _loops_is_a_number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("Input should be a number")
        return value

    @field_validator("rooms")
    @classmethod
    def _rooms_fit(cls, rooms: int, info: ValidationInfo) -> int:
        width, height = info.data.get("width"), info.data.get("height")
        if width is not None and height is not None and rooms * TILES_PER_ROOM > width * height:
            raise ValueError(
                f"{rooms} rooms do not fit in {width}x{height}: at most "
                f"{width * height // TILES_PER_ROOM} (rooms * 64 <= width * height)"
            )
        return rooms

    @model_validator(mode="after")
    def _meetable(self) -> LevelSpecIn:
        if "constraints" not in self.model_fields_set and not self.prefabs:
            return self  # nothing asked of a designer's: the usual spec, at its usual cost
        problem = designer_problem(self)
        if problem is not None:
            raise _refuse(*problem)
        return self

    @property
    def witness_pending(self) -> bool:
        """Whether the spec's acceptance waits on the witness search (``settle_witness``)."""
        return self._pending is not None


Problem = tuple[tuple[str | int, ...], str]
"""Where a spec cannot be met (a field's location) and why."""


def designer_problem(spec: LevelSpecIn) -> Problem | None:
    """The first reason no level can meet the spec's constraints and prefabs, or ``None``:
    first the rules no level can break, then the generator's own (``_planning_problem``),
    whose doubts the witness search settles: a doubtful spec is refused only when the
    generator's whole search finds no plan for it either (``design.witness_plan``:
    bounded, the same for every seed); when it does, the spec is accepted, and each of
    its levels falls back on that plan where its own search finds none. A spec whose path
    walks copies through is accepted on that search alone. In a thread that puts the
    search aside (``put_witness_aside``) the spec is let through with the search pending,
    for ``settle_witness`` to run elsewhere. The rules' verdict reads everything but the
    seed, so it is kept (``_rules_verdict``): the same design on another seed, or
    submitted again and parsed again by its worker, is not worked out again."""
    key = spec.model_dump_json(exclude={"seed"})
    verdict = _rules_verdict(Keyed(key, spec))
    if verdict is None:
        return None
    problem, final = verdict
    if final:
        return problem
    if getattr(_ASIDE, "on", False):
        spec._pending = problem
        return None
    return _witnessed(spec, problem)


VERDICTS_KEPT = 256
"""Rules' verdicts kept (``_rules_verdict``), the least recently asked going first."""


@functools.lru_cache(maxsize=VERDICTS_KEPT)
def _rules_verdict(keyed: Keyed[LevelSpecIn]) -> tuple[Problem, bool] | None:
    """The rules' verdict on the spec: ``None`` (met), a problem no level can get round
    (``True``: refused), or one the witness search may still clear (``False``)."""
    spec = keyed.value
    final = _prefab_problem(spec, spec.prefabs) or _constraint_problem(spec, spec.constraints, spec.prefabs)
    if final is not None:
        return final, True
    doubt = _planning_problem(spec, spec.prefabs)
    return None if doubt is None else (doubt, False)


def _planning_problem(spec: LevelSpecIn, prefabs: list[Prefab]) -> Problem | None:
    """Where the copies must stand, as the generator plans them: whether they fit
    (``_fit_problem``) and stand on the path or off it as they must
    (``_arrangement_problem``), or the doubt of a path that walks copies through. These
    rules are sufficient, not exact: a spec passing them surely has a plan, one failing
    them may still have one, so what this returns is a doubt for the witness search to
    settle (``designer_problem``), not a refusal."""
    if not prefabs:
        return None
    path_min, path_max = (spec.constraints.critical_path_rooms or Range()).bounds(1, spec.rooms)
    problem = _fit_problem(spec, prefabs) or _arrangement_problem(spec, prefabs, path_min, path_max)
    walked = _walked_copy(spec, prefabs, path_min)
    if problem is None and walked is None:
        return None
    return problem or (
        ("prefabs", walked or 0, "map"),
        "copies of this prefab stand on the critical path, each walked through by two doors apart "
        "with its two neighbours facing them",
    )


def _witnessed(spec: LevelSpecIn, problem: Problem) -> Problem | None:
    """``problem``, unless the generator's whole search finds a plan for ``spec``."""
    normal = normalise(spec)
    if witness_plan(normal, prefabs_of(normal)) is not None:
        return None
    where, why = problem
    return where, f"{why}; and the generator's whole search finds no plan for this spec"


_ASIDE = threading.local()
"""``on`` in a thread whose spec validation puts the witness search aside."""


def put_witness_aside() -> None:
    """From now on in this thread (the Orchestrator's event loop, where a search of up to
    a second would hold every other request), a spec whose acceptance rests on the witness
    search validates with the search pending (``LevelSpecIn.witness_pending``): the caller
    settles it in another thread (``settle_witness``)."""
    _ASIDE.on = True


def settle_witness(spec: LevelSpecIn) -> Problem | None:
    """The refusal the search pending on ``spec`` makes, or ``None`` (accepted; also when
    none was pending). The same answer validation gives where nothing is put aside."""
    return None if spec._pending is None else _witnessed(spec, spec._pending)


def refusal_errors(problem: Problem, prefix: tuple[str, ...] = ()) -> list[Any]:
    """``problem`` as the errors a validation refusing it reports (their ``loc`` after
    ``prefix``): what a request body's validation would have said."""
    errors = _refuse(*problem).errors(include_url=False)
    return [{**error, "loc": (*prefix, *error["loc"])} for error in errors]


def _walked_copy(spec: LevelSpecIn, prefabs: list[Prefab], path_min: int) -> int | None:
    """The last prefab (its index) whose copies the critical path walks through: a
    ``critical`` one, or an ``any`` one when the ordinary rooms are too few for the path.
    Such a copy needs neighbours on the path facing two of its doors apart, on two sides
    or astride one (``design.straddle``): which layouts allow that is the planner's search
    to say, so these specs are accepted on the witness search alone."""
    ordinary = spec.rooms - sum(p.count for p in prefabs)
    walked = [
        index
        for index, prefab in enumerate(prefabs)
        if prefab.placement == "critical"
        or (prefab.placement == "any" and walkable(prefab.map) and path_min > ordinary)
    ]
    return walked[-1] if walked else None


def _prefab_problem(spec: LevelSpecIn, prefabs: list[Prefab]) -> Problem | None:  # noqa: PLR0911
    names: dict[str, int] = {}
    boss_at: int | None = None
    copies = 0
    room_limit = spec.rooms - 2
    pacing = spec.constraints.pacing == "rising"
    for index, prefab in enumerate(prefabs):
        here = ("prefabs", index)
        if prefab.name in names:
            return (
                *here,
                "name",
            ), f"the name {prefab.name!r} is taken by prefabs[{names[prefab.name]}]: names are unique"
        names[prefab.name] = index
        if prefab.placement == "critical" and not walkable(prefab.map):
            return (*here, "map"), (
                "a prefab placed 'critical' is walked through, in by one door and out by another: "
                "its map needs door positions on two sides, or two on one side with wall between them"
            )
        if prefab.drawn("B"):
            if boss_at is not None:
                return (
                    *here,
                    "map",
                ), f"a second 'B' (prefabs[{boss_at}] has one): a spec has at most one boss"
            if prefab.count != 1:
                return (*here, "count"), f"a prefab holding 'B' is placed once, not {prefab.count} times"
            if pacing:
                return (*here, "map"), (
                    "'B' in a prefab while constraints.pacing is 'rising': the boss must stand in "
                    "the exit room, which is never a prefab"
                )
            boss_at = index
        copies += prefab.count
        if copies > room_limit:
            return (*here, "count"), (
                f"{copies} prefab copies in {spec.rooms} rooms: at most rooms - 2 = {max(room_limit, 0)} "
                "(the entrance and the exit are never prefabs)"
            )
    return None


def _fit_problem(spec: LevelSpecIn, prefabs: list[Prefab]) -> Problem | None:
    """Whether the copies fit as the banded layout would place them (see ``bands``),
    which depends only on the sizes: a sufficient rule (``_planning_problem``), since a
    loose layout may hold copies the bands cannot."""
    planned = [
        PlacedPrefab(index, prefab.name, tuple(prefab.map), prefab.count, prefab.placement)
        for index, prefab in enumerate(prefabs)
    ]
    bands = plan_bands(spec.width, spec.height, spec.rooms, copies_of(planned))
    if isinstance(bands, Bands):
        return None
    prefab, reason = bands
    return ("prefabs", prefab.index, "map"), f"does not fit: {reason}"


def _constraint_problem(  # noqa: PLR0911, C901 (one message a rule)
    spec: LevelSpecIn, constraints: Constraints, prefabs: list[Prefab]
) -> Problem | None:
    rooms = spec.rooms
    copies = sum(prefab.count for prefab in prefabs)
    by_placement = {
        kind: sum(p.count for p in prefabs if p.placement == kind) for kind in ("critical", "side")
    }
    closed = sum(p.count for p in prefabs if p.placement == "any" and not walkable(p.map))
    path = ("constraints", "critical_path_rooms")
    path_min, path_max = (constraints.critical_path_rooms or Range()).bounds(1, rooms)
    shortest = 1 if rooms == 1 else 2
    if path_min > rooms:
        return (*path, "min"), f"{path_min} is above rooms ({rooms}): the path is at most every room"
    if path_min > rooms - by_placement["side"]:
        return (*path, "min"), (
            f"{path_min} leaves no room for {by_placement['side']} side prefab copies in {rooms} rooms "
            f"(at most {rooms - by_placement['side']})"
        )
    if path_min > rooms - by_placement["side"] - closed:
        return (*path, "min"), (
            f"{path_min} rooms on the path, but {closed} prefab copies cannot be walked through (one "
            "door position, or only ones side by side): they stand off the path, so at most "
            f"{rooms - by_placement['side'] - closed}"
        )
    if path_max < shortest:
        return (*path, "max"), f"{path_max} is below {shortest}: the entrance and exit rooms are on it"
    if by_placement["critical"]:
        most = min(path_max, rooms - by_placement["side"]) - 2
        if by_placement["critical"] > most:
            index = max(i for i, p in enumerate(prefabs) if p.placement == "critical")
            return ("prefabs", index, "count"), (
                f"{by_placement['critical']} critical prefab copies on a critical path of at most "
                f"{most + 2} rooms: at most its max - 2 = {most} (its ends are the entrance and exit)"
            )
    locks_min, _ = (constraints.locks or Range()).bounds(0, COUNT_MAX)
    if locks_min >= rooms or locks_min > rooms - copies:
        most = min(rooms - 1, rooms - copies)
        return ("constraints", "locks", "min"), (
            f"{locks_min} locked doors in {rooms} rooms ({copies} of them prefabs, whose doors are never "
            f"locked): at most {most}"
        )
    for name, chars, per_room, holders in (
        ("enemies", "eB", ENEMIES_PER_ROOM, rooms - 1 - copies),
        ("treasures", "$", TREASURES_PER_ROOM, rooms - copies),
    ):
        drawn = sum(prefab.count * sum(prefab.drawn(char) for char in chars) for prefab in prefabs)
        low, high = (getattr(constraints, name) or Range()).bounds(0, COUNT_MAX)
        if drawn > high:
            return ("constraints", name, "max"), f"{high} is below the {drawn} {name} the prefabs draw"
        if low > drawn + per_room * holders:
            return ("constraints", name, "min"), (
                f"{low} is more than {rooms} rooms can be sure to hold: at most {drawn + per_room * holders} "
                f"({per_room} a room{' but the entrance' if name == 'enemies' else ''}, prefabs as drawn)"
            )
    return None


OPPOSITE = {"N": "S", "S": "N", "W": "E", "E": "W"}
SEQUENCE_STATES = 20_000
"""States the search for copies in a row on the path (``_in_a_row``) may visit; beyond
them it gives up unsure, and the generator's search decides (``_planning_problem``)."""


def _arrangement_problem(
    spec: LevelSpecIn, prefabs: list[Prefab], path_min: int, path_max: int
) -> Problem | None:
    """Copies next to each other on the critical path. When the path must hold more
    copies than it can keep apart (one copy between two ordinary rooms: ``critical``
    copies more than the ordinary rooms - 1, or more than (max - 1) / 2, or a path longer
    than the ordinary rooms with one copy between each two), some copies stand in a row
    between two ordinary rooms, each joined to the next by a corridor from a door of the
    one to a door of the other across the line between them: leaving one northwards (by
    a north door) enters the next by a south door, and so on; each copy entered and left
    by two doors apart (``prefabs.walkable``). The problem, first found: copies hung off
    too few rooms (``_hung_problem``) or one-sided ``critical`` copies without their two
    rooms (``_one_sided_problem``) as the bands lay them out; else, where rows are needed,
    that no such rows of the copies fit between the ordinary rooms (``_in_a_row``, an
    exhaustive search of the door sides), or that a one-sided ``critical`` copy would
    stand in one, or that the rows are needed at all. Every one of them is a rule of the
    generator's plans, which ``_planning_problem`` holds against its whole search: copies
    that may stand off the path hang off any room but the exit, several off one room or
    off another copy."""
    critical = [i for i, p in enumerate(prefabs) if p.placement == "critical"]
    count = sum(prefabs[i].count for i in critical)
    walking = [p for p in prefabs if p.placement == "any" and walkable(p.map)]
    walked_any = sum(p.count for p in walking)
    ordinary = spec.rooms - sum(p.count for p in prefabs)
    limit = _hung_problem(spec, prefabs, ordinary) or _one_sided_problem(spec, prefabs)
    apart = count <= ordinary - 1 and 2 * count + 1 <= path_max
    if apart and path_min <= ordinary + min(count + walked_any, ordinary - 1):
        return limit
    if _in_a_row([prefabs[i] for i in critical], walking, ordinary, path_min, path_max) is False:
        index = critical[-1] if critical else max(i for i, p in enumerate(prefabs) if p in walking)
        return ("prefabs", index, "map"), (
            f"the critical path must hold copies in a row (its {ordinary} ordinary rooms cannot keep "
            "them apart), each leaving by a door on the side where the next is entered (north to "
            "south, west to east), and these prefabs' door positions allow no such rows"
        )
    one_sided = [i for i in critical if len(prefabs[i].door_sides()) == 1]
    if limit is None and one_sided:
        return ("prefabs", one_sided[-1], "map"), (
            "a critical prefab with door positions on one side only must stand in a row of copies on "
            f"the path (its {ordinary} ordinary rooms cannot keep them apart): the generator walks such "
            "a copy only between two rooms"
        )
    if limit is None:
        index = critical[-1] if critical else max(i for i, p in enumerate(prefabs) if p in walking)
        return ("prefabs", index, "map"), (
            f"the critical path must hold copies in a row (its {ordinary} ordinary rooms cannot keep "
            "them apart), each leaving by a door on the side where the next is entered: such rows "
            "exist, but not on this map as the generator lays it out"
        )
    return limit


def _arcs(prefab: Prefab) -> list[tuple[str, str]]:
    """The ways a copy is walked: (direction of travel in, direction of travel out)."""
    rows = prefab.map
    offsets = {
        "N": [x for x, c in enumerate(rows[0]) if c == "+"],
        "S": [x for x, c in enumerate(rows[-1]) if c == "+"],
        "W": [y for y, row in enumerate(rows) if row[0] == "+"],
        "E": [y for y, row in enumerate(rows) if row[-1] == "+"],
    }
    return [
        (travel, out)
        for travel in OPPOSITE
        for out in OPPOSITE
        if offsets[OPPOSITE[travel]]
        and offsets[out]
        and (OPPOSITE[travel] != out or offsets[out][-1] - offsets[out][0] >= 2)
    ]


def _hung_problem(spec: LevelSpecIn, prefabs: list[Prefab], ordinary: int) -> Problem | None:
    """Copies that may stand off the path (``side``, ``any``) hang off a room other than
    the exit (a leaf behind its lock). One to a room they always find one where the
    copies fit (``_fit_problem``); more than the ordinary rooms but the exit, some room
    holds several, or a copy hangs off a copy, and that asks the map for room round one
    room. The generator's layout for it is the banded one with the exit in a band of its
    own (every room of the middle one to hang copies off): refused when that does not
    fit. This is the generator's rule, not every level's (``_planning_problem``)."""
    off = [i for i, p in enumerate(prefabs) if p.placement != "critical"]
    count = sum(prefabs[i].count for i in off)
    if count <= ordinary - 1:
        return None
    planned = [
        PlacedPrefab(index, prefab.name, tuple(prefab.map), prefab.count, prefab.placement)
        for index, prefab in enumerate(prefabs)
    ]
    bands = plan_bands(spec.width, spec.height, spec.rooms, [*copies_of(planned), EXIT_STAND_IN])
    if isinstance(bands, Bands):
        return None
    return ("prefabs", off[-1], "count"), (
        f"{count} copies may stand off the critical path, more than the {ordinary - 1} rooms to hang them "
        "off one to a room (the ordinary rooms but the exit), and the map leaves no room to put them "
        "round fewer rooms"
    )


def _one_sided_problem(spec: LevelSpecIn, prefabs: list[Prefab]) -> Problem | None:
    """A ``critical`` copy with door positions on one side only is entered and left
    there, so two rooms of the path stand across that side (copies in a row along it
    share one: k of them need k + 1). The generator's layout for it is the banded one
    (the copies along the map's edges, ``bands``): refused when neither way of it leaves
    the copies' band that many rooms along the middle. As ``_hung_problem``, the
    generator's rule rather than every level's (``_planning_problem``)."""
    one_sided = [i for i, p in enumerate(prefabs) if p.placement == "critical" and len(p.door_sides()) == 1]
    if not one_sided:
        return None
    planned = [
        PlacedPrefab(index, prefab.name, tuple(prefab.map), prefab.count, prefab.placement)
        for index, prefab in enumerate(prefabs)
    ]
    for spread in (True, False):
        bands = plan_bands(spec.width, spec.height, spec.rooms, copies_of(planned), spread=spread)
        if isinstance(bands, Bands) and _rooms_along(spec, bands):
            return None
    return ("prefabs", one_sided[-1], "map"), (
        "a critical prefab with door positions on one side only is walked in and out there, two "
        "rooms of the path across that side, and the map leaves no room for that many along its copies"
    )


def _rooms_along(spec: LevelSpecIn, bands: Bands) -> bool:
    """Whether every one-sided ``critical`` copy of ``bands`` can face two rooms of the
    middle across its door side (``_one_sided_problem``): a line between two of them
    within its span, three tiles in from either end, each room at least ``MIN_SPAN``
    long; the lines of the copies of one band in order, ``MIN_SPAN`` apart, no more
    rooms than the spec's ordinary ones."""
    left, top, right, bottom = bands.middle
    spans: dict[str, list[tuple[int, int]]] = {}
    for prefab, region in bands.copies:
        if prefab.placement == "critical" and len(prefab.door_sides) == 1:
            band = _band_of(region, bands.middle)
            across = band in ("top", "bottom")
            spans.setdefault(band, []).append((region.x0, region.x1) if across else (region.y0, region.y1))
    ordinary = spec.rooms - len(bands.copies)
    for band, found in spans.items():
        across = band in ("top", "bottom")
        low, high, size = (left, right, spec.width) if across else (top, bottom, spec.height)
        first = low + MIN_SPAN - (low == 0)
        last = high - MIN_SPAN + (high == size - 1)
        cut, cuts = first - MIN_SPAN, 0
        for start, end in sorted(found):
            cut = max(cut + MIN_SPAN, start + 2, first)
            if cut > min(end - 2, last):
                return False
            cuts += 1
        if cuts + 1 > ordinary:
            return False
    return True


def _band_of(region: Rect, middle: Rect) -> str:
    """The band of a copy's region, from where it lies against the middle."""
    if region.x1 <= middle.x0:
        return "left"
    if region.x0 >= middle.x1:
        return "right"
    return "top" if region.y1 <= middle.y0 else "bottom"


class _Unsure(Exception):
    """The search for rows of copies ran out of states."""


def _in_a_row(
    must: list[Prefab], may: list[Prefab], ordinary: int, path_min: int, path_max: int
) -> bool | None:
    """Whether every copy of ``must`` and some of ``may`` stand in rows between
    ``ordinary`` rooms or fewer on a path of ``path_min`` to ``path_max`` rooms
    (``_arrangement_problem``): a depth-first search over the copies left, the direction
    of travel and the rows begun; ``None`` when it ran out of ``SEQUENCE_STATES``."""
    kinds = [_arcs(p) for p in (*must, *may)]
    needed, total = len(must), sum(p.count for p in (*must, *may))
    seen: set[tuple[tuple[int, ...], str, int]] = set()

    def met(left: tuple[int, ...], rows: int) -> bool:
        placed = total - sum(left)
        return not any(left[:needed]) and ordinary + placed >= path_min and rows + 1 + placed <= path_max

    def search(left: tuple[int, ...], travel: str, rows: int) -> bool:
        if rows + 1 + total - sum(left) > path_max or rows > ordinary - 1 or (left, travel, rows) in seen:
            return False
        if met(left, rows):
            return True
        if len(seen) >= SEQUENCE_STATES:
            raise _Unsure
        seen.add((left, travel, rows))
        if travel and search(left, "", rows):  # the row ends at an ordinary room
            return True
        return any(
            search((*left[:kind], left[kind] - 1, *left[kind + 1 :]), out, rows + (not travel))
            for kind, arcs in enumerate(kinds)
            if left[kind]
            for into, out in arcs
            if not travel or into == travel
        )

    try:
        return search(tuple(p.count for p in (*must, *may)), "", 0)
    except _Unsure:
        return None


def normalise(spec: LevelSpecIn) -> dict[str, Any]:
    """Every default filled in, a random seed drawn and recorded when there is none; the
    designer's fields only when not empty (a range with the bounds given, each prefab with
    its count and placement)."""
    seed = spec.seed if spec.seed is not None else secrets.randbelow(SEED_MAX + 1)
    normal: dict[str, Any] = {
        "seed": seed,
        "width": spec.width,
        "height": spec.height,
        "rooms": spec.rooms,
        "difficulty": spec.difficulty,
        "theme": spec.theme,
        "loops": float(spec.loops),
    }
    constraints = (
        spec.constraints.model_dump(exclude_none=True) if "constraints" in spec.model_fields_set else {}
    )
    if constraints:
        normal["constraints"] = constraints
    if spec.prefabs:
        normal["prefabs"] = [prefab.model_dump() for prefab in spec.prefabs]
    return normal


def field_path(loc: Sequence[str | int]) -> str:
    """A field's location as its path: ``("prefabs", 1, "map")`` → ``prefabs[1].map``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def parse_spec(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a spec as ``POST /jobs`` does and normalise it; ``SpecError`` names the
    first offending field."""
    try:
        return normalise(LevelSpecIn.model_validate(dict(raw)))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SpecError(field_path(first["loc"]) or "spec", first["msg"]) from exc


def designed(spec: Mapping[str, Any]) -> bool:
    """Whether a normalised spec has designer fields (constraints or prefabs)."""
    return "constraints" in spec or "prefabs" in spec
