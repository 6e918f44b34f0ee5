"""The generation pipeline: the steps of CONTRACT §7, one after another, as a generator.

``run_pipeline`` yields a ``StepDone`` as each step completes, so a caller can time and
report the steps; the generator itself has no clock. If ``validate`` finds a failure it
rebuilds the level from the next attempt's derived generators (deterministic, bounded).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from levelforge.errors import ConstraintsUnmet, GenerationFailed
from levelforge.generation.blueprint import Blueprint
from levelforge.generation.connect import COMPILED, connect_rooms
from levelforge.generation.constraints import unmet
from levelforge.generation.contents import place_designed_enemies, place_designed_keys
from levelforge.generation.design import Unmet, carve_designed, connect_designed, plan_design
from levelforge.generation.doors import place_doors
from levelforge.generation.enemies import describe_population, place_enemies
from levelforge.generation.export import EXPORTS
from levelforge.generation.export.design import Design, design_from
from levelforge.generation.export.svg import svg_frame
from levelforge.generation.export.tiled import map_head, with_design_layer
from levelforge.generation.keys import describe_locks, place_keys
from levelforge.generation.layout import plan_layout
from levelforge.generation.minimap import render_minimap
from levelforge.generation.prefabs import prefabs_of
from levelforge.generation.reachability import check_walk
from levelforge.generation.rooms import carve_rooms
from levelforge.generation.scene_graph import SCHEMA as SCENE_GRAPH_SCHEMA
from levelforge.generation.scene_graph import compose_scene_graph
from levelforge.generation.seeding import Dice, step_dice
from levelforge.generation.spec import designed, parse_spec
from levelforge.generation.validate import summarise, validate

if TYPE_CHECKING:
    from levelforge.generation._core import Core

GENERATION_STEPS: tuple[str, ...] = (
    "plan_layout",
    "carve_rooms",
    "connect_rooms",
    "place_doors",
    "place_keys",
    "place_enemies",
    "validate",
    "compose_scene_graph",
    "render_ascii_minimap",
)
MAX_ATTEMPTS = 8


def _load_core() -> ModuleType | None:
    """The compiled core, unless it is not built or ``LEVELFORGE_PURE_PYTHON=1`` asks for
    the pure-Python pipeline (the same bytes either way)."""
    if os.environ.get("LEVELFORGE_PURE_PYTHON") == "1":
        return None
    try:
        return importlib.import_module("levelforge.generation._core")
    except ImportError:
        return None


_core = _load_core()
IMPLEMENTATION = "compiled" if _core is not None else "pure-python"
"""Which pipeline ``run_pipeline`` runs: ``compiled`` (the Cython core) or ``pure-python``."""
_CORE_STEPS: tuple[Callable[[Core], str], ...] = (
    lambda core: core.plan_layout(),
    lambda core: core.carve_rooms(),
    lambda core: core.connect_rooms(),
    lambda core: core.place_doors(),
    lambda core: core.place_keys(),
    lambda core: core.place_enemies(),
)
ARTIFACT_CONTENT_TYPES: dict[str, str] = {
    "scene-graph.json": "application/json",
    "minimap.txt": "text/plain; charset=utf-8",
    **{name: content_type for name, (content_type, _export) in EXPORTS.items()},
}


@dataclass(frozen=True)
class StepDone:
    """A completed step: its name (one of ``GENERATION_STEPS``) and a short summary."""

    name: str
    summary: str


class Level:
    """A generated level: the normalised spec and the published artifacts.

    From the pure-Python pipeline it holds the scene graph as a dict and encodes the
    artifacts when asked; from the compiled core it holds the core, whose artifacts are
    written straight from its arrays (the same bytes), and the scene graph is parsed from
    them only when someone asks for it. A designed level from the core also holds the
    designer's marks its exports draw (``design``)."""

    __slots__ = ("_core", "_design", "_scene_graph", "_spec_json", "minimap", "spec")

    def __init__(
        self,
        spec: dict[str, Any],
        scene_graph: dict[str, Any] | None,
        minimap: str,
        *,
        core: Core | None = None,
        design: Design | None = None,
        spec_json: str | None = None,
    ) -> None:
        self.spec, self._scene_graph, self.minimap, self._core = spec, scene_graph, minimap, core
        self._design, self._spec_json = design, spec_json

    @property
    def scene_graph(self) -> dict[str, Any]:
        if self._scene_graph is None:
            assert self._core is not None
            self._scene_graph = json.loads(self._core.scene_graph_json)
        return self._scene_graph

    @property
    def summary(self) -> dict[str, int]:
        stats = self._core.stats() if self._core is not None else self.scene_graph["stats"]
        return {"rooms": stats["rooms"], "doors": stats["doors"], "enemies": stats["enemies"]}

    def artifacts(self) -> dict[str, bytes]:
        if self._core is not None:
            return _compiled_artifacts(self.spec, self._core, self._design, self._spec_json)
        with collector_paused():
            scene_graph = _ASCII_JSON.encode(self.scene_graph).encode()
            exported = {name: export(self.scene_graph, self.minimap) for name, (_, export) in EXPORTS.items()}
        return {"scene-graph.json": scene_graph, "minimap.txt": self.minimap.encode(), **exported}


def _compiled_artifacts(
    spec: dict[str, Any], core: Core, design: Design | None, spec_json: str | None = None
) -> dict[str, bytes]:
    """The artifacts of a level of the compiled core: its bytes, and the frames of the
    exports (the parts that read only the spec and the stats) from the export modules,
    with the designer's marks of a designed level (``design``: its few objects encoded
    there; ``spec_json``: the spec as the SVG's metadata writes it, see ``_core_for``)."""
    facts = {
        "schema": SCENE_GRAPH_SCHEMA,
        "seed": spec["seed"],
        "spec": spec,
        "size": {"w": spec["width"], "h": spec["height"]},
        "stats": core.stats(),
    }
    head, tail = svg_frame(facts, design, spec_json)
    objects = core.object_count()
    tiled = core.tiled_json(map_head(facts, objects, design))
    return {
        "scene-graph.json": core.scene_graph_json,
        "minimap.txt": core.minimap_encoded,
        "tiled.json": tiled if design is None else with_design_layer(tiled, design, objects),
        "preview.svg": b"".join((head.encode(), core.svg_body(), tail.encode())),
    }


_ASCII_JSON = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=True, allow_nan=False, check_circular=False
)
"""For the scene graph, which holds only ASCII (ids, tags, names, numbers): the same bytes
as ``encode_json``, about twice as fast (CPython's C encoder is quicker on this path), and
a fifth faster again without looking for cycles, which a scene graph never has."""
_TEXT_JSON = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
)
"""The encoder of the SVG's metadata (``export.svg._JSON``), for the spec in it."""


def _core_for(compiled: ModuleType, spec: dict[str, Any]) -> tuple[Core, str]:
    """A core for ``spec``, and the spec as the SVG's metadata writes it. The spec is
    encoded once for both where it can be: text with nothing but ASCII and no DEL (which
    only ``ensure_ascii`` escapes) is the same either way, as a spec's nearly always is."""
    text = _TEXT_JSON.encode(spec)
    same = text.isascii() and "\x7f" not in text
    core: Core = compiled.Core(spec, text if same else _ASCII_JSON.encode(spec))
    return core, text


def encode_json(value: Any) -> bytes:
    """Deterministic compact JSON."""
    with collector_paused():
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a step, then restored as it was.

    A step allocates hundreds of thousands of small tuples and dicts on a large map, and
    every so many allocations the collector would scan all of them again: more than half
    the time of a 512x512 level. Nothing here makes reference cycles, so pausing only
    delays the collector's work, never leaks. (Pausing is process-wide; a step on another
    thread meanwhile is merely spared collections too.)"""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


P = ParamSpec("P")
R = TypeVar("R")


def _paused(step: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``step(*args, **kwargs)`` with the collector paused (as ``collector_paused``, minus
    the context manager's cost: this runs ten times a level)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return step(*args, **kwargs)
    finally:
        if enabled:
            gc.enable()


def _helped(helpers: ModuleType | None, step: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``_paused(step, ...)``, with ``connect``'s helpers on the compiled core when
    ``helpers`` is the core (``connect.COMPILED``; set and reset around the step alone,
    never across a ``yield``)."""
    if helpers is None:
        return _paused(step, *args, **kwargs)
    token = COMPILED.set(helpers)
    try:
        return _paused(step, *args, **kwargs)
    finally:
        COMPILED.reset(token)


def run_pipeline(spec: dict[str, Any], *, pure: bool = False) -> Generator[StepDone, None, Level]:
    """Generate the level of an already normalised ``spec``, step by step: on the compiled
    core when it is built (and ``pure`` is not asked for), else in pure Python; the same
    steps, summaries and bytes either way."""
    if _core is not None and not pure and _compilable(spec):
        return (yield from (_run_designed(spec) if designed(spec) else _run_compiled(spec)))
    return (yield from _run_pure(spec))


def _run_pure(spec: dict[str, Any]) -> Generator[StepDone, None, Level]:
    blueprint = yield from _build(spec, attempt=1)
    return (yield from _finished(spec, blueprint))


def _finished(spec: dict[str, Any], blueprint: Blueprint) -> Generator[StepDone, None, Level]:
    """The steps after the building ones, in pure Python: validate (and build again
    while a check fails), the scene graph, the minimap."""
    blueprint, summary = _paused(_validated, spec, blueprint)
    yield StepDone("validate", summary)
    scene_graph = _paused(compose_scene_graph, spec, blueprint)
    stats = scene_graph["stats"]
    yield StepDone(
        "compose_scene_graph",
        f"Composed {stats['rooms']} rooms, {stats['doors']} doors, {stats['enemies']} enemies",
    )
    minimap = _paused(render_minimap, blueprint)
    yield StepDone("render_ascii_minimap", f"Rendered a {spec['width']}x{spec['height']} minimap")
    return Level(dict(spec), scene_graph, minimap)


_SPEC_TYPES = {"seed": int, "width": int, "height": int, "rooms": int, "difficulty": int, "loops": float}


def _compilable(spec: dict[str, Any]) -> bool:
    """A normalised spec of the usual types (as ``parse_spec`` makes), which the compiled
    core takes; anything else goes the pure way, which deals with it as it always has."""
    return (
        all(type(spec.get(key)) is kind for key, kind in _SPEC_TYPES.items())
        and spec.get("theme") in ("dungeon", "crypt", "cave")
        and 0 <= spec["seed"] < 2**63
        and 16 <= spec["width"] <= 512
        and 16 <= spec["height"] <= 512
        and 1 <= spec["rooms"] <= 2000
    )


def _run_compiled(spec: dict[str, Any]) -> Generator[StepDone, None, Level]:
    """The steps on the compiled core. A level it cannot make as the pure pipeline would (a
    check failing on the first attempt, or anything unusual: ``Fallback``) is made by the
    pure pipeline, whose steps already reported here are not reported again (they are the
    same steps, with the same summaries)."""
    compiled = _core
    assert compiled is not None
    done = 0
    try:
        core, spec_json = _core_for(compiled, spec)
        for name, step in zip(GENERATION_STEPS[:6], _CORE_STEPS, strict=True):
            summary = step(core)
            yield StepDone(name, summary)
            done += 1
        if not core.validate():
            raise compiled.Fallback("a check failed: the pure pipeline says which, and tries again")
    except compiled.Fallback:
        return (yield from _skipping(_run_pure(spec), done))
    yield StepDone("validate", "All checks passed on attempt 1")
    yield StepDone("compose_scene_graph", core.compose_scene_graph())
    minimap = core.render_minimap()
    yield StepDone("render_ascii_minimap", f"Rendered a {spec['width']}x{spec['height']} minimap")
    return Level(dict(spec), None, minimap, core=core, spec_json=spec_json)


def _run_designed(spec: dict[str, Any]) -> Generator[StepDone, None, Level]:
    """A designed spec (CONTRACT §4.1): planned and built by the Python steps (``design``,
    ``contents``: the designer's rules live there), then checked, composed and exported on
    the compiled core (``Core.load_blueprint``), the same bytes as the pure pipeline's. A
    blueprint the core does not take, or that misses a check or a constraint (hence
    another attempt), goes on in pure Python from where it is."""
    blueprint = yield from _build(spec, attempt=1, helpers=_core)
    checked = _paused(_checked_on_core, spec, blueprint)
    if checked is None:
        return (yield from _finished(spec, blueprint))
    core, spec_json = checked
    yield StepDone("validate", f"All checks passed on attempt {blueprint.attempt}")
    yield StepDone("compose_scene_graph", core.compose_scene_graph())
    minimap = core.render_minimap()
    yield StepDone("render_ascii_minimap", f"Rendered a {spec['width']}x{spec['height']} minimap")
    return Level(dict(spec), None, minimap, core=core, design=design_from(blueprint), spec_json=spec_json)


def _checked_on_core(spec: dict[str, Any], blueprint: Blueprint) -> tuple[Core, str] | None:
    """The core holding ``blueprint`` when it passes every check of ``validate`` (as a
    designed level: the core's, then ``check_walk``) and meets every constraint, with the
    spec's JSON (``_core_for``); else ``None``."""
    compiled = _core
    assert compiled is not None
    try:
        core, spec_json = _core_for(compiled, spec)
        core.load_blueprint(blueprint)
    except compiled.Fallback:
        return None
    size, corridors = blueprint.layout, blueprint.network.corridors
    apart = not compiled.any_touching(corridors, size.width, size.height)
    walked = core.validate() and (apart or next(check_walk(blueprint), None) is None)
    return (core, spec_json) if walked and not unmet(spec, blueprint) else None


def _skipping(steps: Generator[StepDone, None, Level], count: int) -> Generator[StepDone, None, Level]:
    """``steps`` without its first ``count`` steps."""
    for _ in range(count):
        next(steps)
    return (yield from steps)


def generate_level(spec: Mapping[str, Any], *, pure: bool = False) -> Level:
    """Validate ``spec`` as ``POST /jobs`` does (``SpecError`` names the field), then
    generate its level: exactly the bytes the service publishes for it (``pure``: on the
    pure-Python pipeline even when the compiled core is built)."""
    steps = run_pipeline(parse_spec(spec), pure=pure)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            level: Level = done.value
            return level


def _build(
    spec: dict[str, Any], attempt: int, helpers: ModuleType | None = None
) -> Generator[StepDone, None, Blueprint]:
    """The building steps, each from its own generator for (seed, attempt, step)
    (``helpers``: see ``_build_designed``)."""
    if designed(spec):
        return (yield from _build_designed(spec, attempt, helpers))
    seed, theme, difficulty = spec["seed"], spec["theme"], spec["difficulty"]

    def rng(step: str) -> Dice:
        return step_dice(seed, attempt, step)

    layout = _paused(plan_layout, spec, rng("plan_layout"))
    yield StepDone("plan_layout", f"Split {layout.width}x{layout.height} into {len(layout.regions)} regions")
    rooms = _paused(carve_rooms, layout, theme, rng("carve_rooms"))
    areas = [room.floor.area for room in rooms]
    smallest = rooms[areas.index(min(areas))].floor
    caverns = len(rooms) - [room.spans for room in rooms].count(None)
    yield StepDone(
        "carve_rooms",
        f"Carved {len(rooms)} rooms ({caverns} caverns), the smallest {smallest.w}x{smallest.h}",
    )
    network = _paused(connect_rooms, layout, rooms, spec["loops"], theme, rng("connect_rooms"))
    yield StepDone(
        "connect_rooms",
        f"Connected {len(rooms)} rooms with {len(network.corridors)} corridors ({network.loops} loops)",
    )
    doors = _paused(place_doors, network)
    yield StepDone("place_doors", f"Placed {len(doors)} doors")
    locks = _paused(place_keys, rooms, network, doors, difficulty, theme, rng("place_keys"))
    yield StepDone("place_keys", describe_locks(locks))
    population = _paused(place_enemies, rooms, network, locks, difficulty, theme, rng("place_enemies"))
    yield StepDone("place_enemies", describe_population(population))
    return Blueprint(layout, rooms, network, locks, population, attempt)


def _build_designed(
    spec: dict[str, Any], attempt: int, helpers: ModuleType | None = None
) -> Generator[StepDone, None, Blueprint]:
    """The building steps of a designed spec (CONTRACT §4.1): the room graph planned to
    meet the constraints (``design``), then rooms, corridors and contents to count
    (``contents``). An attempt on which no plan can be made gives way to the next one.
    ``helpers``: the compiled core, whose versions of ``connect``'s helpers the planning
    steps then call (see ``_helped``), and whose dice they draw from."""
    seed, theme = spec["seed"], spec["theme"]
    prefabs = prefabs_of(spec)
    dice_of = step_dice if helpers is None else helpers.step_dice  # the same draws, made in C

    def rng(step: str) -> Dice:
        dice: Dice = dice_of(seed, attempt, step)
        return dice

    reasons: list[str] = []
    while True:
        try:
            layout, design = _helped(helpers, plan_design, spec, prefabs, rng("plan_layout"))
            break
        except Unmet as exc:
            reasons.append(f"attempt {attempt}: {exc}")
            if attempt >= MAX_ATTEMPTS:
                details = {"constraint": exc.constraint, "attempts": attempt, "failures": reasons}
                raise ConstraintsUnmet(
                    f"no level meets {exc.constraint} after {attempt} attempts", details
                ) from exc
            attempt += 1
    yield StepDone(
        "plan_layout",
        f"Split {layout.width}x{layout.height} into {len(layout.regions)} regions; "
        f"planned a critical path of {len(design.path)} rooms",
    )
    rooms = _helped(helpers, carve_designed, layout, theme, design, rng("carve_rooms"))
    yield StepDone("carve_rooms", f"Carved {len(rooms)} rooms ({len(design.prefab_of)} prefab copies)")
    network = _helped(helpers, connect_designed, layout, rooms, design, theme, rng("connect_rooms"))
    yield StepDone(
        "connect_rooms",
        f"Connected {len(rooms)} rooms with {len(network.corridors)} corridors ({network.loops} loops)",
    )
    doors = _helped(helpers, place_doors, network)
    yield StepDone("place_doors", f"Placed {len(doors)} doors")
    locks = _helped(
        helpers,
        place_designed_keys,
        rooms,
        network,
        doors,
        design.path,
        design.prefab_of,
        spec,
        rng("place_keys"),
    )
    yield StepDone("place_keys", describe_locks(locks))
    population = _helped(
        helpers, place_designed_enemies, rooms, network, locks, design.prefab_of, spec, rng("place_enemies")
    )
    yield StepDone("place_enemies", describe_population(population))
    names = {room: prefab.name for room, prefab in design.prefab_of.items()}
    return Blueprint(layout, rooms, network, locks, population, attempt, prefab_names=names)


def _failures(spec: dict[str, Any], blueprint: Blueprint) -> tuple[list[str], list[tuple[str, str]]]:
    """The §5 checks failed, and the constraints missed (of a designed spec)."""
    if not designed(spec):
        return validate(blueprint, spec["rooms"]), []
    failures = validate(blueprint, spec["rooms"], designed=True)
    return failures, [] if failures else unmet(spec, blueprint)


def _validated(spec: dict[str, Any], blueprint: Blueprint) -> tuple[Blueprint, str]:
    """The first attempt's blueprint that passes every check and meets every constraint,
    and what happened."""
    reasons: list[str] = []
    failures, missed = _failures(spec, blueprint)
    while failures or missed:
        reasons.append(f"attempt {blueprint.attempt}: {summarise(failures or [m for _, m in missed])}")
        if blueprint.attempt >= MAX_ATTEMPTS:
            details = {"attempts": MAX_ATTEMPTS, "failures": reasons}
            if not failures:
                raise ConstraintsUnmet(
                    f"no level meets {missed[0][0]} after {MAX_ATTEMPTS} attempts",
                    details={"constraint": missed[0][0], **details},
                )
            raise GenerationFailed(f"no valid level after {MAX_ATTEMPTS} attempts", details=details)
        blueprint = _drain(_build(spec, blueprint.attempt + 1))
        failures, missed = _failures(spec, blueprint)
    passed = f"All checks passed on attempt {blueprint.attempt}"
    return blueprint, f"{passed} ({'; '.join(reasons)})" if reasons else passed


def _drain(steps: Generator[StepDone, None, Blueprint]) -> Blueprint:
    while True:
        try:
            next(steps)
        except StopIteration as done:
            blueprint: Blueprint = done.value
            return blueprint
