"""Hypothesis strategies that draw only specs that fit (rooms x 64 <= width x height), and
designed specs (CONTRACT §4.1) that no 422 rule refuses."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st
from pydantic import ValidationError

from levelforge.generation.spec import LevelSpecIn

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


def drawn_map(rng: random.Random, *, boss: bool) -> list[str]:
    """A prefab map that passes every rule of CONTRACT §4.1: 3-8 tiles inside each way,
    one to three door positions (never a corner), now and then two on one side only with
    wall between them, floor with some treasure and enemies, a boss when asked."""
    inside_w, inside_h = rng.randint(3, 8), rng.randint(3, 8)
    inside = [[rng.choices(".$e", weights=(20, 1, 1))[0] for _ in range(inside_w)] for _ in range(inside_h)]
    if boss:
        inside[rng.randrange(inside_h)][rng.randrange(inside_w)] = "B"
    rows = [["#", *row, "#"] for row in inside]
    top, bottom = ["#"] * (inside_w + 2), ["#"] * (inside_w + 2)
    grid = [top, *rows, bottom]
    if rng.random() < 0.2:  # one side only, two door positions apart: walked in and out there
        side = rng.choice("NSWE")
        length = inside_w if side in "NS" else inside_h
        first = rng.randint(1, length - 2)
        doors = [(side, first), (side, rng.randint(first + 2, length))]
    else:
        doors = [(side, 0) for side in rng.choices("NSWE", k=rng.randint(1, 3))]
    for side, at in doors:
        if side in "NS":
            grid[0 if side == "N" else -1][at or rng.randint(1, inside_w)] = "+"
        else:
            grid[at or rng.randint(1, inside_h)][0 if side == "W" else -1] = "+"
    return ["".join(row) for row in grid]


def designed_spec(rng: random.Random, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` (a fitting spec) with random constraints and prefabs that no 422 rule
    refuses (CONTRACT §4.1): each part is drawn within what the rooms allow, and a part
    the rules still refuse is left out, so the spec is always satisfiable."""
    rooms = base["rooms"]
    spec = dict(base)
    if rooms >= 3 and rng.random() < 0.6:
        prefabs = []
        left = rooms - 2
        for number in range(rng.randint(1, 3)):
            if left <= 0:
                break
            count = rng.randint(1, min(3, left))
            boss = count == 1 and rng.random() < 0.15
            prefabs.append(
                {
                    "name": f"vault-{number}",
                    "map": drawn_map(rng, boss=boss),
                    "count": count,
                    "placement": rng.choice(("critical", "side", "any")),
                }
            )
            left -= count
        spec = _kept(spec, "prefabs", prefabs)
    copies = sum(p["count"] for p in spec.get("prefabs", ()))
    constraints: dict[str, Any] = {}
    side = sum(p["count"] for p in spec.get("prefabs", ()) if p["placement"] == "side")
    if rng.random() < 0.5:
        low = rng.randint(1, max(1, rooms - side))
        constraints["critical_path_rooms"] = _range(rng, low, rng.randint(low, rooms))
    if rng.random() < 0.5:
        low = rng.randint(0, max(0, min(rooms - 1, rooms - copies)))
        constraints["locks"] = _range(rng, low, low + rng.randint(0, 3))
    for name, per_room in (("enemies", 3), ("treasures", 2)):
        if rng.random() < 0.4:
            low = rng.randint(0, max(0, per_room * (rooms - 1 - copies)) // rng.choice((1, 2, 4)))
            constraints[name] = _range(rng, low, low + rng.randint(0, 10))
    if rng.random() < 0.3:
        constraints["pacing"] = "rising"
    for name, value in constraints.items():
        spec = _kept(spec, "constraints", {**spec.get("constraints", {}), name: value})
    return spec


def _range(rng: random.Random, low: int, high: int) -> dict[str, int]:
    """A range with both bounds, or only one of them."""
    return rng.choice(({"min": low, "max": high}, {"min": low}, {"max": high}))


def _kept(spec: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    """``spec`` with ``field`` set to ``value`` when the rules accept that, else as it was."""
    candidate = {**spec, field: value}
    try:
        LevelSpecIn.model_validate(candidate)
    except ValidationError:
        return spec
    return candidate


@st.composite
def tiny_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A fitting spec of a tiny map (16-24 tiles a side, 3-6 rooms), where prefab copies
    of up to 8x8 inside take most of the map."""
    width, height = draw(st.integers(16, 24)), draw(st.integers(16, 24))
    return {
        **draw(fitting_specs(16)),
        "width": width,
        "height": height,
        "rooms": draw(st.integers(3, min(6, width * height // 64))),
    }


@st.composite
def designed_specs(draw: st.DrawFn, max_side: int = 96) -> dict[str, Any]:
    """A fitting spec with satisfiable constraints and prefabs (see ``designed_spec``),
    now and then of a tiny map."""
    base = draw(st.one_of(fitting_specs(max_side), tiny_specs()))
    return designed_spec(random.Random(draw(st.integers(0, 2**32))), base)
