"""Designed levels (CONTRACT §4.1) on the compiled core against the pure-Python pipeline.

A designed spec is planned and built by the Python steps (``design``, ``contents``); the
core then checks the blueprint, composes the scene graph, renders the minimap and writes
the exports (``Core.load_blueprint``), unless the blueprint needs another attempt, which
the pure pipeline makes. Either way every artifact must be the pure pipeline's bytes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from levelforge.generation import encode_json, pipeline
from levelforge.generation.blueprint import Blueprint, Population
from levelforge.generation.connect import COMPILED, Contact, find_contacts
from levelforge.generation.contents import place_designed_enemies, place_designed_keys
from levelforge.generation.design import Unmet, carve_designed, connect_designed, plan_design
from levelforge.generation.doors import place_doors
from levelforge.generation.export.tiled import tiled_map
from levelforge.generation.layout import plan_layout
from levelforge.generation.prefabs import prefabs_of
from levelforge.generation.seeding import step_dice
from levelforge.generation.spec import designed, parse_spec

from .designs import EXAMPLE, HALL, SHRINE
from .strategies import designed_spec
from .test_compiled import needs_core, run, sweep_spec

RANDOM_CHUNKS = 4
RANDOM_CHUNK = 100
"""400 designed specs of the sweep's sizes and themes, in chunks."""
BENCH_DESIGN: dict[str, Any] = {
    "width": 60,
    "height": 40,
    "rooms": 12,
    "constraints": {
        "critical_path_rooms": {"min": 5},
        "locks": {"min": 1, "max": 3},
        "treasures": {"min": 2},
        "pacing": "rising",
    },
    "prefabs": [{"name": "shrine", "placement": "side", "map": SHRINE}],
}
"""``make bench``'s constrained row."""


def shared_designs() -> list[dict[str, Any]]:
    """The tests' designs (``designs.py``) on several seeds, sizes and themes, and the
    benchmark's."""
    specs: list[dict[str, Any]] = []
    for seed in range(8):
        theme = ("dungeon", "crypt", "cave")[seed % 3]
        specs.append({**EXAMPLE, "seed": seed, "theme": theme})
        specs.append({**BENCH_DESIGN, "seed": seed, "theme": theme, "difficulty": 1 + seed})
        specs.append(
            {
                "seed": seed,
                "width": 80,
                "height": 50,
                "rooms": 16,
                "theme": theme,
                "constraints": {"critical_path_rooms": {"min": 7}, "enemies": {"max": 30}},
                "prefabs": [
                    {"name": "hall", "placement": "critical", "count": 2, "map": HALL},
                    {"name": "shrine", "placement": "any", "count": 1, "map": SHRINE},
                ],
            }
        )
    return specs


@contextmanager
def helped_by(compiled: ModuleType | None) -> Iterator[None]:
    """The Python steps' helpers on the compiled core (``connect.COMPILED``), or pure."""
    token = COMPILED.set(compiled)
    try:
        yield
    finally:
        COMPILED.reset(token)


def retried(steps: list[tuple[str, str]]) -> bool:
    """Whether ``validate`` built the level again (its summary then says why)."""
    return any(name == "validate" and "(" in summary for name, summary in steps)


def assert_same_level(spec: dict[str, Any]) -> bool:
    """The level of ``spec`` with the core and without it: the same steps, summaries and
    bytes (the map's design layer, written from templates, that of ``tiled_map``);
    whether the core wrote it."""
    compiled_steps, compiled = run(spec, pure=False)
    pure_steps, pure = run(spec, pure=True)
    assert compiled_steps == pure_steps, spec
    artifacts = compiled.artifacts()
    assert artifacts == pure.artifacts(), spec
    assert artifacts["tiled.json"] == encode_json(tiled_map(pure.scene_graph, pure.minimap)), spec
    assert compiled.scene_graph == pure.scene_graph, spec
    assert compiled.minimap == pure.minimap, spec
    assert compiled.summary == pure.summary, spec
    assert pure._core is None
    made_by_core = compiled._core is not None
    assert made_by_core != retried(compiled_steps), spec
    return made_by_core


@needs_core
@pytest.mark.parametrize("chunk", range(RANDOM_CHUNKS))
def test_designed_levels_on_the_core_are_the_pure_pipelines_bytes(chunk: int) -> None:
    """Given 100 specs of every size and theme with random satisfiable constraints and
    prefabs (a fourth of 400)
    When each is generated with the compiled core and on the pure-Python pipeline
    Then both report the same steps and summaries, every artifact is the same bytes, and
    the core wrote every level whose first blueprint passed its checks (the others, built
    again, by the pure pipeline)."""
    made_by_core = designed_count = 0
    for index in range(chunk * RANDOM_CHUNK, (chunk + 1) * RANDOM_CHUNK):
        spec = designed_spec(random.Random(index), sweep_spec(index))
        if not designed(spec):
            continue
        designed_count += 1
        made_by_core += assert_same_level(spec)
    assert designed_count >= RANDOM_CHUNK // 2
    assert made_by_core >= designed_count * 9 // 10


@needs_core
def test_the_shared_designs_on_the_core_are_the_pure_pipelines_bytes() -> None:
    """Given the issue's example, the benchmark's constrained spec and a level of halls
    walked through, on eight seeds and every theme
    When each is generated with the compiled core and on the pure-Python pipeline
    Then the steps and bytes are the same, and the core wrote them."""
    specs = shared_designs()
    made_by_core = sum(assert_same_level(spec) for spec in specs)
    assert made_by_core >= len(specs) * 9 // 10


@needs_core
@pytest.mark.parametrize("how", ["a check fails", "the core declines it", "a constraint is missed"])
def test_a_designed_level_the_core_does_not_finish_is_made_by_the_pure_pipeline(
    monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Given a core whose checks fail, one that declines the blueprint (Fallback), or a
    first attempt's blueprint that misses a constraint (its treasures taken away)
    When a designed level is generated
    Then the pure pipeline finishes it from the blueprint built (or builds it again), the
    steps are reported once each, and the level and its bytes are the pure pipeline's."""
    real = pipeline._core
    assert real is not None
    spec = {**EXAMPLE, "seed": 3}

    class FailingCore(real.Core):  # type: ignore[name-defined,misc]
        def validate(self) -> bool:
            return False

    class DecliningCore(real.Core):  # type: ignore[name-defined,misc]
        def load_blueprint(self, blueprint: Any) -> None:
            raise real.Fallback("declined")

    if how == "a constraint is missed":
        built = pipeline._build

        def build_without_treasures(spec: dict[str, Any], attempt: int, helpers: Any = None) -> Any:
            blueprint: Blueprint = yield from built(spec, attempt, helpers)
            if attempt > 1:
                return blueprint
            return Blueprint(
                blueprint.layout,
                blueprint.rooms,
                blueprint.network,
                blueprint.locks,
                Population(blueprint.population.enemies, ()),
                blueprint.attempt,
                prefab_names=blueprint.prefab_names,
            )

        monkeypatch.setattr(pipeline, "_build", build_without_treasures)
    else:
        core = FailingCore if how == "a check fails" else DecliningCore
        monkeypatch.setattr(pipeline, "_core", SimpleNamespace(**{**vars(real), "Core": core}))
    steps, level = run(spec, pure=False)
    pure_steps, pure = run(spec, pure=True)

    assert level._core is None
    assert steps == pure_steps
    assert [name for name, _ in steps] == list(pipeline.GENERATION_STEPS)
    assert level.artifacts() == pure.artifacts()
    if how == "a constraint is missed":
        assert "treasures" in dict(steps)["validate"]


@needs_core
def test_the_cores_contacts_are_connects() -> None:
    """Given 300 layouts of every size (the sweep's specs: up to 512x512 and 2,000 regions)
    When their contacts are found by connect.find_contacts and by the core's version
    Then both give the same contacts in the same order."""
    compiled = pipeline._core
    assert compiled is not None
    for index in range(300):
        spec = parse_spec(sweep_spec(index))
        layout = plan_layout(spec, step_dice(spec["seed"], 1, "plan_layout"))
        expected = find_contacts(layout)
        with helped_by(compiled):
            found = find_contacts(layout)
        assert found == expected, spec
        assert [type(contact) for contact in found] == [Contact] * len(expected)


@needs_core
def test_the_cores_layouts_are_layouts_and_draw_the_same_numbers() -> None:
    """Given 300 specs of every size (up to 512x512 and 2,000 regions)
    When layout.plan_layout splits each map with and without the core, from dice of the
    same seed
    Then the layouts are equal, and both dice go on with the same next number (the core
    drew exactly what the pure function draws)."""
    compiled = pipeline._core
    assert compiled is not None
    for index in range(300):
        spec = parse_spec(sweep_spec(index))
        pure_dice, compiled_dice = (step_dice(spec["seed"], 1, "plan_layout") for _ in range(2))
        expected = plan_layout(spec, pure_dice)
        with helped_by(compiled):
            layout = plan_layout(spec, compiled_dice)
        assert layout == expected, spec
        assert compiled_dice.random() == pure_dice.random(), spec


@needs_core
@pytest.mark.parametrize("seed", range(4))
def test_the_cores_contents_are_contents_and_draw_the_same_numbers(seed: int) -> None:
    """Given 300 designed specs of the sweep (a fourth of them here: random lock,
    treasure and enemy ranges, pacing, prefabs), built to their corridors by the pure steps
    When doors.place_doors places the doors, and contents places keys, then enemies and
    treasure, with and without the core (the core's from its own dice,
    ``_core.step_dice``; the pure from ``step_dice``)
    Then doors, locks and population are equal, records of the same types, and both dice
    go on with the same next number (the core drew exactly what the pure steps draw)."""
    compiled = pipeline._core
    assert compiled is not None
    checked = 0
    for index in range(seed, 300, 4):
        spec = parse_spec(designed_spec(random.Random(index), sweep_spec(index)))
        if not designed(spec):
            continue
        built = built_to_doors(spec)
        if built is None:
            continue
        rooms, network, doors, plan = built
        core_doors = compiled.place_doors(network)
        assert core_doors == doors and [type(door) for door in core_doors] == [type(door) for door in doors]
        placed = []
        for dice_of, helpers in ((step_dice, None), (compiled.step_dice, compiled)):
            with helped_by(helpers):
                key_dice, enemy_dice = dice_of(index, 1, "place_keys"), dice_of(index, 1, "place_enemies")
                locks = place_designed_keys(rooms, network, doors, plan.path, plan.prefab_of, spec, key_dice)
                population = place_designed_enemies(rooms, network, locks, plan.prefab_of, spec, enemy_dice)
            placed.append((locks, population, key_dice.random(), enemy_dice.random()))
        (locks, population, *next_draws), (core_locks, core_population, *core_draws) = placed
        assert core_locks == locks, spec
        assert core_population == population, spec
        assert core_draws == next_draws, spec
        assert [type(item) for item in (*core_locks.doors, *core_locks.keys, *core_population.enemies)] == [
            type(item) for item in (*locks.doors, *locks.keys, *population.enemies)
        ]
        checked += 1
    assert checked >= 40


def built_to_doors(spec: dict[str, Any]) -> tuple[Any, Any, Any, Any] | None:
    """The rooms, corridors, doors and plan of ``spec``'s first attempt (pure steps), or
    ``None`` where it has no plan."""
    seed, theme = spec["seed"], spec["theme"]
    try:
        layout, plan = plan_design(spec, prefabs_of(spec), step_dice(seed, 1, "plan_layout"))
    except Unmet:
        return None
    rooms = carve_designed(layout, theme, plan, step_dice(seed, 1, "carve_rooms"))
    network = connect_designed(layout, rooms, plan, theme, step_dice(seed, 1, "connect_rooms"))
    return rooms, network, place_doors(network), plan


@needs_core
@pytest.mark.parametrize("seed", range(2))
def test_the_cores_plans_are_the_planners_and_draw_the_same_numbers(seed: int) -> None:
    """Given 300 designed specs of the sweep (half of them here)
    When design.plan_design plans each with and without the core's helpers (its loops,
    backbones, trees and regions for the copies), from dice of the same seed
    Then the layouts and designs are equal, or both find no plan, and both dice go on with
    the same next number."""
    compiled = pipeline._core
    assert compiled is not None
    planned = 0
    for index in range(seed, 300, 2):
        spec = parse_spec(designed_spec(random.Random(index), sweep_spec(index)))
        if not designed(spec):
            continue
        found = []
        for helpers in (None, compiled):
            dice = step_dice(index, 1, "plan_layout")
            with helped_by(helpers):
                try:
                    found.append((plan_design(spec, prefabs_of(spec), dice), dice.random()))
                except Unmet as exc:
                    found.append((str(exc), dice.random()))
        assert found[1] == found[0], spec
        planned += not isinstance(found[0][0], str)
    assert planned >= 100


@needs_core
def test_the_cores_helpers_refuse_numbers_past_their_arrays() -> None:
    """Given a designed level's rooms, corridors, doors and plan (the pure steps')
    When the core's helpers get a room numbered other than its place, a path through a
    room that does not exist, a contact to one, or a link to one
    Then each raises ValueError naming the number, rather than read past its arrays."""
    compiled = pipeline._core
    assert compiled is not None
    spec = parse_spec({**BENCH_DESIGN, "seed": 3})
    built = built_to_doors(spec)
    assert built is not None
    rooms, network, doors, plan = built
    count = len(rooms)
    misnumbered = (rooms[0]._replace(index=count + 4), *rooms[1:])
    path, tree, copies = list(plan.path), list(plan.tree), plan.prefab_of
    off_the_map = tree[0]._replace(b=count + 9)
    calls = [
        lambda: compiled.place_designed_keys(misnumbered, network, doors, path, copies, spec, None),
        lambda: compiled.place_designed_keys(rooms, network, doors, (0, count), copies, spec, None),
        lambda: compiled.plan_loops(count, tree, [off_the_map], path, 3),
        lambda: compiled.plan_backbone([[1], [0, count]], [[1], [0]], [0], [], 2, None),
        lambda: compiled.plan_tree(plan_layout_of(spec), [0, count], {(0, count): tree[0]}, [], {}, {}, None),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"\d+"):
            call()


def plan_layout_of(spec: dict[str, Any]) -> Any:
    """``spec``'s first layout (the pure planner's)."""
    layout, _ = plan_design(spec, prefabs_of(spec), step_dice(spec["seed"], 1, "plan_layout"))
    return layout
