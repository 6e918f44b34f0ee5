"""The generation pipeline: the steps of CONTRACT §7, one after another, as a generator.

``run_pipeline`` yields a ``StepDone`` as each step completes, so a caller can time and
report the steps; the generator itself has no clock. If ``validate`` finds a failure it
rebuilds the level from the next attempt's derived generators (deterministic, bounded).
"""

from __future__ import annotations

import json
import random
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from levelforge.errors import GenerationFailed
from levelforge.generation.blueprint import Blueprint
from levelforge.generation.connect import connect_rooms
from levelforge.generation.doors import place_doors
from levelforge.generation.enemies import describe_population, place_enemies
from levelforge.generation.keys import describe_locks, place_keys
from levelforge.generation.layout import plan_layout
from levelforge.generation.minimap import render_minimap
from levelforge.generation.rooms import carve_rooms
from levelforge.generation.scene_graph import compose_scene_graph
from levelforge.generation.seeding import step_random
from levelforge.generation.spec import parse_spec
from levelforge.generation.validate import summarise, validate

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
ARTIFACT_CONTENT_TYPES: dict[str, str] = {
    "scene-graph.json": "application/json",
    "minimap.txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class StepDone:
    """A completed step: its name (one of ``GENERATION_STEPS``) and a short summary."""

    name: str
    summary: str


@dataclass(frozen=True)
class Level:
    """A generated level: the normalised spec and the published artifacts."""

    spec: dict[str, Any]
    scene_graph: dict[str, Any]
    minimap: str

    @property
    def summary(self) -> dict[str, int]:
        stats = self.scene_graph["stats"]
        return {"rooms": stats["rooms"], "doors": stats["doors"], "enemies": stats["enemies"]}

    def artifacts(self) -> dict[str, bytes]:
        return {
            "scene-graph.json": encode_json(self.scene_graph),
            "minimap.txt": self.minimap.encode(),
        }


def encode_json(value: Any) -> bytes:
    """Deterministic compact JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def run_pipeline(spec: dict[str, Any]) -> Generator[StepDone, None, Level]:
    """Generate the level of an already normalised ``spec``, step by step."""
    blueprint = yield from _build(spec, attempt=1)
    blueprint, summary = _validated(spec, blueprint)
    yield StepDone("validate", summary)
    scene_graph = compose_scene_graph(spec, blueprint)
    stats = scene_graph["stats"]
    yield StepDone(
        "compose_scene_graph",
        f"Composed {stats['rooms']} rooms, {stats['doors']} doors, {stats['enemies']} enemies",
    )
    minimap = render_minimap(blueprint)
    yield StepDone("render_ascii_minimap", f"Rendered a {spec['width']}x{spec['height']} minimap")
    return Level(dict(spec), scene_graph, minimap)


def generate_level(spec: Mapping[str, Any]) -> Level:
    """Validate ``spec`` as ``POST /jobs`` does (``SpecError`` names the field), then
    generate its level: exactly the bytes the service publishes for it."""
    steps = run_pipeline(parse_spec(spec))
    while True:
        try:
            next(steps)
        except StopIteration as done:
            level: Level = done.value
            return level


def _build(spec: dict[str, Any], attempt: int) -> Generator[StepDone, None, Blueprint]:
    """The building steps, each from its own generator for (seed, attempt, step)."""
    seed = spec["seed"]

    def rng(step: str) -> random.Random:
        return step_random(seed, attempt, step)

    layout = plan_layout(spec, rng("plan_layout"))
    yield StepDone("plan_layout", f"Split {layout.width}x{layout.height} into {len(layout.regions)} regions")
    rooms = carve_rooms(layout, rng("carve_rooms"))
    smallest = min(rooms, key=lambda room: room.floor.area).floor
    yield StepDone("carve_rooms", f"Carved {len(rooms)} rooms, the smallest {smallest.w}x{smallest.h}")
    network = connect_rooms(layout, rooms, spec["loops"], rng("connect_rooms"))
    yield StepDone(
        "connect_rooms",
        f"Connected {len(rooms)} rooms with {len(network.corridors)} corridors ({network.loops} loops)",
    )
    doors = place_doors(network)
    yield StepDone("place_doors", f"Placed {len(doors)} doors")
    locks = place_keys(rooms, network, doors, spec["difficulty"], rng("place_keys"))
    yield StepDone("place_keys", describe_locks(locks))
    population = place_enemies(rooms, locks, spec["difficulty"], spec["theme"], rng("place_enemies"))
    yield StepDone("place_enemies", describe_population(population))
    return Blueprint(layout, rooms, network, locks, population, attempt)


def _validated(spec: dict[str, Any], blueprint: Blueprint) -> tuple[Blueprint, str]:
    """The first attempt's blueprint that passes every check, and what happened."""
    reasons: list[str] = []
    failures = validate(blueprint, spec["rooms"])
    while failures:
        reasons.append(f"attempt {blueprint.attempt}: {summarise(failures)}")
        if blueprint.attempt >= MAX_ATTEMPTS:
            raise GenerationFailed(
                f"no valid level after {MAX_ATTEMPTS} attempts",
                details={"attempts": MAX_ATTEMPTS, "failures": reasons},
            )
        blueprint = _drain(_build(spec, blueprint.attempt + 1))
        failures = validate(blueprint, spec["rooms"])
    passed = f"All checks passed on attempt {blueprint.attempt}"
    return blueprint, f"{passed} ({'; '.join(reasons)})" if reasons else passed


def _drain(steps: Generator[StepDone, None, Blueprint]) -> Blueprint:
    while True:
        try:
            next(steps)
        except StopIteration as done:
            blueprint: Blueprint = done.value
            return blueprint
