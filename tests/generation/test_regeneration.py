"""A level that fails validation is regenerated; one that always fails fails the job.

These replace the pure pipeline's ``validate``, so they run the pure pipeline; a level the
compiled core's checks decline goes the same way (``test_compiled``)."""

from __future__ import annotations

import pytest

from levelforge.errors import GenerationFailed
from levelforge.generation import generate_level, pipeline
from levelforge.generation.blueprint import Blueprint
from levelforge.generation.spec import parse_spec
from levelforge.generation.validate import validate

from .checker import check_level

SPEC = {"seed": 5, "width": 48, "height": 32, "rooms": 8}


def test_a_level_that_always_fails_raises_generation_failed_with_details(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given a validator that fails every attempt
    When a level is generated
    Then GenerationFailed says how many attempts were made and why each failed."""
    monkeypatch.setattr(pipeline, "validate", lambda _bp, _rooms: ["exit unreachable"])

    with pytest.raises(GenerationFailed) as raised:
        generate_level(SPEC, pure=True)

    details = raised.value.details
    assert details["attempts"] == pipeline.MAX_ATTEMPTS
    assert len(details["failures"]) == pipeline.MAX_ATTEMPTS
    assert details["failures"][0] == "attempt 1: exit unreachable"


def test_a_failed_first_attempt_is_regenerated_deterministically(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given a validator that fails the first attempt only
    When a level is generated (twice)
    Then the validate step says so, stats.attempts is 2, the level is valid, and both runs
    give the same bytes."""
    def fail_first(blueprint: Blueprint, rooms: int) -> list[str]:
        return ["exit unreachable"] if blueprint.attempt == 1 else validate(blueprint, rooms)

    monkeypatch.setattr(pipeline, "validate", fail_first)

    steps = list(_step_summaries())
    level = generate_level(SPEC, pure=True)

    assert steps[6] == "All checks passed on attempt 2 (attempt 1: exit unreachable)"
    assert level.scene_graph["stats"]["attempts"] == 2
    assert check_level(level.spec, level.scene_graph, level.minimap) == []
    assert generate_level(SPEC, pure=True).artifacts() == level.artifacts()


def _step_summaries() -> list[str]:
    return [step.summary for step in pipeline.run_pipeline(parse_spec(SPEC), pure=True)]
