"""Invalid specs (CONTRACT §4) are refused with a SpecError naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from levelforge.errors import SpecError
from levelforge.generation import generate_level

INVALID: list[tuple[dict[str, Any], str]] = [
    ({"width": "64"}, "width"),
    ({"width": True}, "width"),
    ({"width": 64.5}, "width"),
    ({"width": 64.0}, "width"),
    ({"width": 15}, "width"),
    ({"width": 513}, "width"),
    ({"height": 15}, "height"),
    ({"height": 513}, "height"),
    ({"rooms": 0}, "rooms"),
    ({"rooms": 2001}, "rooms"),
    ({"width": 16, "height": 16, "rooms": 5}, "rooms"),
    ({"difficulty": 0}, "difficulty"),
    ({"difficulty": 11}, "difficulty"),
    ({"theme": "x"}, "theme"),
    ({"loops": -0.1}, "loops"),
    ({"loops": 1.1}, "loops"),
    ({"loops": True}, "loops"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**53}, "seed"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("spec", "field"), INVALID, ids=[repr(s) for s, _ in INVALID])
def test_an_invalid_spec_is_refused_naming_the_field(spec: dict[str, Any], field: str) -> None:
    """Given a spec with one bad field
    When a level is requested
    Then SpecError is raised and names that field."""
    with pytest.raises(SpecError) as raised:
        generate_level({"seed": 1, **spec})

    assert raised.value.field == field


def test_the_largest_fitting_room_count_is_accepted() -> None:
    """Given rooms x 64 == width x height
    When a level is requested
    Then it is generated with exactly that many rooms."""
    assert generate_level({"seed": 1, "width": 16, "height": 16, "rooms": 4}).summary["rooms"] == 4
