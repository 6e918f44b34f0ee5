"""The compiled core (``generation/_core.pyx``) against the pure-Python pipeline: the same
random numbers, the same steps and summaries, the same bytes of every artifact.

``make test`` builds the core (``pip install -e .``), so these tests expect it; with
``LEVELFORGE_PURE_PYTHON=1`` the pipeline runs pure and the side-by-side tests are skipped.
``make quality`` compares the two again over its 10,000 levels.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from levelforge.generation import generate_level, pipeline, run_pipeline
from levelforge.generation.seeding import step_dice, step_random
from levelforge.generation.spec import parse_spec

from .designs import EXAMPLE
from .strategies import designed_spec

FORCED_PURE = os.environ.get("LEVELFORGE_PURE_PYTHON") == "1"
needs_core = pytest.mark.skipif(FORCED_PURE, reason="LEVELFORGE_PURE_PYTHON=1: the compiled core is off")
THEMES = ("dungeon", "crypt", "cave")
SWEEP_CHUNKS = 5
SWEEP_CHUNK = 500
"""2,500 levels side by side, in chunks (each well within the per-test timeout)."""


def sweep_spec(index: int) -> dict[str, Any]:
    """A spec of every size, theme and density: sides 16-512 (leaning small), rooms from
    one to the most that fit (a fifth of them the most), every difficulty, loops from 0 to
    1 (the ends included); every 250th the largest spec."""
    rng = random.Random(f"levelforge-compiled:{index}")
    if index % 250 == 249:
        width = height = 512
        rooms = 2000
    else:
        width = round(16 * 32 ** (rng.random() ** 2))
        height = round(16 * 32 ** (rng.random() ** 2))
        most = min(2000, width * height // 64)
        pick = rng.random()
        rooms = most if pick < 0.2 else rng.randint(1, min(4, most)) if pick < 0.3 else rng.randint(1, most)
    return {
        "seed": rng.randrange(2**53),
        "width": width,
        "height": height,
        "rooms": rooms,
        "difficulty": 1 + index % 10,
        "theme": THEMES[index % 3],
        "loops": 0.0 if index % 7 == 0 else 1.0 if index % 7 == 1 else round(rng.random(), 3),
    }


def run(spec: dict[str, Any], *, pure: bool) -> tuple[list[tuple[str, str]], pipeline.Level]:
    """The steps (name, summary) and the level of one run of the pipeline."""
    steps = run_pipeline(parse_spec(spec), pure=pure)
    reported = []
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            return reported, done.value
        reported.append((step.name, step.summary))


def test_the_core_draws_cpythons_random_numbers() -> None:
    """Given seeds as the steps make them (BLAKE2b digests) and edge cases (zero, one
    32-bit word, high words zero, all bits set)
    When the core's MT19937 and random.Random draw 2,000 numbers from each (past the
    624-word regeneration three times)
    Then every number is the same double."""
    _core = pytest.importorskip("levelforge.generation._core")
    seeds = [0, 1, 2**32 - 1, 2**32, 2**64 + 3, 2**96 - 1, 2**127 + 5, 2**128 - 1]
    seeds += [int(step_random(seed, 1, "carve_rooms").random() * 2**128) for seed in range(8)]
    seeds += [
        int.from_bytes(hashlib.blake2b(f"levelforge:{seed}:1:plan_layout".encode(), digest_size=16).digest())
        for seed in (0, 42, 2**53 - 1)
    ]
    for seed in seeds:
        reference = random.Random(seed)
        assert _core.random_sequence(seed, 2000) == [reference.random() for _ in range(2000)], seed


def test_the_cores_step_dice_draw_what_the_pure_step_dice_draw() -> None:
    """Given the dice of many (seed, attempt, step) on the core and in pure Python
    When each draws the same mix of ``random``, ``between``, ``below`` and ``chance``
    Then every draw is the same (the designed steps draw from the core's dice)."""
    _core = pytest.importorskip("levelforge.generation._core")
    mix = random.Random(3)
    for seed in [0, 1, 7, 2**63 - 1, *(mix.randrange(2**63) for _ in range(40))]:
        for attempt, step in [(1, "plan_layout"), (2, "place_keys"), (3, "carve_rooms")]:
            core, pure = _core.step_dice(seed, attempt, step), step_dice(seed, attempt, step)
            for n in range(300):
                low, high = mix.randrange(-50, 50), mix.randrange(50, 5000)
                kind = n % 4
                if kind == 0:
                    assert core.random() == pure.random()
                elif kind == 1:
                    assert core.between(low, high) == pure.between(low, high)
                elif kind == 2:
                    assert core.below(high) == pure.below(high)
                else:
                    probability = mix.random()
                    assert core.chance(probability) == pure.chance(probability)


@needs_core
def test_the_compiled_core_is_built_and_runs_by_default() -> None:
    """Given the package as ``make test`` installs it
    When the pipeline module is loaded
    Then it runs the compiled core, and a level from it holds the core."""
    assert pipeline.IMPLEMENTATION == "compiled"
    level = generate_level({"seed": 5, "width": 60, "height": 40, "rooms": 12})
    assert level._core is not None


@needs_core
@pytest.mark.parametrize("chunk", range(SWEEP_CHUNKS))
def test_compiled_and_pure_python_give_the_same_steps_and_bytes(chunk: int) -> None:
    """Given 500 specs of every size, theme and density (a fifth of the 2,500 of the sweep)
    When each level is generated on the compiled core and on the pure-Python pipeline
    Then both report the same steps with the same summaries, every artifact is the same
    bytes, and the scene graph and summary are equal; the core made every level itself."""
    made_by_core = 0
    for index in range(chunk * SWEEP_CHUNK, (chunk + 1) * SWEEP_CHUNK):
        spec = sweep_spec(index)
        compiled_steps, compiled = run(spec, pure=False)
        pure_steps, pure = run(spec, pure=True)
        assert compiled_steps == pure_steps, spec
        assert compiled.artifacts() == pure.artifacts(), spec
        assert compiled.summary == pure.summary, spec
        assert compiled.scene_graph == pure.scene_graph, spec
        assert compiled.minimap == pure.minimap, spec
        made_by_core += compiled._core is not None
    assert made_by_core == SWEEP_CHUNK


@needs_core
def test_a_level_the_core_declines_is_made_by_the_pure_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a core whose checks fail (as a level needing a second attempt would)
    When the pipeline runs
    Then the pure pipeline takes over after the six building steps without reporting them
    twice, and the level, its steps and its bytes are the pure pipeline's."""
    real = pipeline._core
    assert real is not None

    class FailingCore(real.Core):  # type: ignore[name-defined,misc]
        def validate(self) -> bool:
            return False

    monkeypatch.setattr(pipeline, "_core", SimpleNamespace(Core=FailingCore, Fallback=real.Fallback))
    spec = {"seed": 99, "width": 80, "height": 50, "rooms": 14, "theme": "cave"}
    steps, level = run(spec, pure=False)
    monkeypatch.setattr(pipeline, "_core", real)
    pure_steps, pure = run(spec, pure=True)

    assert level._core is None
    assert steps == pure_steps
    assert [name for name, _ in steps] == list(pipeline.GENERATION_STEPS)
    assert level.artifacts() == pure.artifacts()


@needs_core
def test_a_spec_beyond_the_cores_types_goes_the_pure_way() -> None:
    """Given a spec handed to run_pipeline directly with a seed beyond 64 bits (parse_spec
    allows up to 2**53 - 1; the core takes up to 2**63 - 1)
    When its level is generated
    Then the pure pipeline makes it, exactly as it always has."""
    spec = {**parse_spec({"seed": 3, "width": 40, "height": 30, "rooms": 6}), "seed": 2**64 + 5}
    steps = run_pipeline(spec)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            level = done.value
            break

    assert level._core is None
    assert json.loads(level.artifacts()["scene-graph.json"])["seed"] == 2**64 + 5


DIGEST_SCRIPT = """
import hashlib, json, sys
from levelforge.generation import generate_level, pipeline
print(pipeline.IMPLEMENTATION)
for name, data in sorted(generate_level(json.loads(sys.argv[1])).artifacts().items()):
    print(name, hashlib.sha256(data).hexdigest())
"""


@needs_core
def test_the_environment_variable_forces_the_pure_pipeline_with_the_same_bytes() -> None:
    """Given LEVELFORGE_PURE_PYTHON=1 in a fresh process
    When it generates a level
    Then it runs the pure pipeline, and its artifacts are this process's compiled ones."""
    spec = {"seed": 77, "width": 120, "height": 90, "rooms": 60, "theme": "crypt", "loops": 0.4}
    env = {**os.environ, "LEVELFORGE_PURE_PYTHON": "1"}
    result = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    artifacts = generate_level(spec).artifacts()
    expected = "".join(
        f"{name} {hashlib.sha256(data).hexdigest()}\n" for name, data in sorted(artifacts.items())
    )

    assert result.stdout == "pure-python\n" + expected


@pytest.mark.parametrize("forced", [False, True], ids=["default", "forced-pure"])
def test_generate_verbose_says_which_pipeline_runs(forced: bool) -> None:
    """Given ``levelforge generate --verbose``, with and without LEVELFORGE_PURE_PYTHON=1
    When it runs
    Then it says on stderr which pipeline made the level, and prints the minimap."""
    env = {**os.environ, "LEVELFORGE_PURE_PYTHON": "1" if forced else ""}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "levelforge"), "generate", "--seed", "4", "--verbose"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    expected = "pure-python" if forced or FORCED_PURE else "compiled"

    assert f"pipeline: {expected}" in result.stderr
    assert result.stdout == generate_level({"seed": 4}).minimap


@pytest.mark.parametrize("index", range(0, 600, 50))
def test_designed_specs_give_the_same_bytes_with_or_without_the_core(index: int) -> None:
    """Given specs of the sweep with random satisfiable constraints and prefabs
    When each is generated in this process (compiled core when built) and in a fresh one
    forced to the pure pipeline (LEVELFORGE_PURE_PYTHON=1)
    Then every artifact has the same SHA-256, and the steps are the pure pipeline's."""
    spec = designed_spec(random.Random(index), sweep_spec(index))
    env = {**os.environ, "LEVELFORGE_PURE_PYTHON": "1"}
    result = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    artifacts = generate_level(spec).artifacts()
    expected = "".join(
        f"{name} {hashlib.sha256(data).hexdigest()}\n" for name, data in sorted(artifacts.items())
    )

    assert result.stdout == "pure-python\n" + expected
    assert run(spec, pure=False)[0] == run(spec, pure=True)[0]


def test_generate_reads_a_whole_spec_from_a_json_file(tmp_path: Path) -> None:
    """Given the issue's example spec in a JSON file
    When ``levelforge generate --spec FILE --out DIR`` runs (and again with --seed 8)
    Then it prints the minimap generate_level makes of that spec and writes the same
    artifacts; an option given overrides the file's field."""
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(EXAMPLE))
    command = [str(Path(sys.executable).parent / "levelforge"), "generate", "--spec", str(path)]
    result = subprocess.run(
        [*command, "--out", str(tmp_path / "out")], capture_output=True, text=True, check=True, timeout=60
    )
    level = generate_level(EXAMPLE)

    assert result.stdout == level.minimap
    for name, data in level.artifacts().items():
        assert (tmp_path / "out" / name).read_bytes() == data
    overridden = subprocess.run(
        [*command, "--seed", "8"], capture_output=True, text=True, check=True, timeout=60
    )
    assert overridden.stdout == generate_level({**EXAMPLE, "seed": 8}).minimap


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (json.dumps({**EXAMPLE, "prefabs": [{"name": "x", "map": ["#####"] * 5}]}), "prefabs[0].map"),
        ("[1, 2]", "spec"),
        ("{not json", "spec"),
    ],
)
def test_generate_refuses_a_bad_spec_file_naming_the_field(tmp_path: Path, content: str, field: str) -> None:
    """Given a spec file that is refused (a map without doors, not an object, not JSON)
    When ``levelforge generate --spec FILE`` runs
    Then it exits 2 naming the field, printing no minimap."""
    path = tmp_path / "spec.json"
    path.write_text(content)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "levelforge"), "generate", "--spec", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 2
    assert f"invalid spec: {field}:" in result.stderr
    assert result.stdout == ""
