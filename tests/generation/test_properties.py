"""Properties of every generated level, over random fitting specs."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings

from levelforge.generation import GENERATION_STEPS, Level, StepDone, generate_level, run_pipeline

from .checker import LEGEND, check_level
from .strategies import fitting_specs

PROPERTY = settings(max_examples=40, deadline=None)


def drain(spec: dict[str, Any]) -> tuple[list[StepDone], Level]:
    steps = run_pipeline(spec)
    done: list[StepDone] = []
    while True:
        try:
            done.append(next(steps))
        except StopIteration as finished:
            return done, finished.value


@PROPERTY
@given(fitting_specs())
def test_every_fitting_spec_gives_a_level_that_passes_the_independent_checker(
    spec: dict[str, Any],
) -> None:
    """Given any spec that fits
    When its level is generated
    Then the independent checker finds no problem in the published artifacts."""
    level = generate_level(spec)

    assert check_level(spec, level.scene_graph, level.minimap) == []


@PROPERTY
@given(fitting_specs())
def test_the_minimap_has_exact_dimensions_and_only_legend_chars(spec: dict[str, Any]) -> None:
    """Given any spec that fits
    When its level is generated
    Then the minimap has `height` lines of `width` legend chars, each ending in a newline."""
    minimap = generate_level(spec).minimap

    lines = minimap.split("\n")
    assert lines[-1] == ""
    assert len(lines[:-1]) == spec["height"]
    assert all(len(line) == spec["width"] for line in lines[:-1])
    assert set(minimap) <= LEGEND | {"\n"}


@PROPERTY
@given(fitting_specs())
def test_the_same_spec_gives_the_same_bytes(spec: dict[str, Any]) -> None:
    """Given any spec that fits
    When its level is generated twice
    Then both give byte-identical artifacts."""
    assert generate_level(spec).artifacts() == generate_level(dict(spec)).artifacts()


@PROPERTY
@given(fitting_specs())
def test_steps_come_in_order_with_the_composed_summary(spec: dict[str, Any]) -> None:
    """Given any spec that fits
    When the pipeline runs step by step
    Then it yields each step of GENERATION_STEPS once, in order, with a summary, and the
    compose_scene_graph summary is exactly "Composed N rooms, N doors, N enemies"."""
    steps, level = drain(spec)

    assert tuple(step.name for step in steps) == GENERATION_STEPS
    assert all(step.summary for step in steps)
    composed = {step.name: step.summary for step in steps}["compose_scene_graph"]
    summary = level.summary
    assert composed == (
        f"Composed {summary['rooms']} rooms, {summary['doors']} doors, {summary['enemies']} enemies"
    )
    assert re.fullmatch(r"All checks passed on attempt \d+.*", summary_of(steps, "validate"))
    assert level.artifacts() == generate_level(spec).artifacts()


def summary_of(steps: list[StepDone], name: str) -> str:
    return next(step.summary for step in steps if step.name == name)
