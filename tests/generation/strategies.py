"""Hypothesis strategies that draw only specs that fit (rooms x 64 <= width x height)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

THEMES = ("dungeon", "crypt", "cave")


@st.composite
def fitting_specs(draw: st.DrawFn, max_side: int = 160) -> dict[str, Any]:
    """A normalised spec; the sides lean to 16 (thin maps) and the room count to the
    most that fits (the tight case)."""
    side = st.one_of(st.just(16), st.integers(16, max_side))
    width, height = draw(side), draw(side)
    most = min(2000, width * height // 64)
    rooms = draw(st.one_of(st.just(most), st.integers(1, most), st.integers(1, min(most, 4))))
    return {
        "seed": draw(st.integers(0, 2**53 - 1)),
        "width": width,
        "height": height,
        "rooms": rooms,
        "difficulty": draw(st.integers(1, 10)),
        "theme": draw(st.sampled_from(THEMES)),
        "loops": draw(st.floats(0, 1, allow_nan=False)),
    }
