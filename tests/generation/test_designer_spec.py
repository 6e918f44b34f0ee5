"""The designer's fields of CONTRACT §4.1 refused with SpecError naming the field by its
path, one rule at a time; specs without them normalised exactly as before."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from levelforge.errors import SpecError
from levelforge.generation import generate_level
from levelforge.generation.spec import parse_spec

from .designs import EXAMPLE, HALL, SHRINE

ROOM = ["#####", "#...#", "#...+", "#...#", "#####"]


def prefab(name: str = "p", drawn: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    return {"name": name, "map": drawn or ROOM, **fields}


REFUSED: list[tuple[dict[str, Any], str, str]] = [
    # (spec fields, field path, a word of the message)
    ({"prefabs": [prefab(drawn=["+####", "#...#", "#...#", "#...#", "#####"])]}, "prefabs[0].map", "corner"),
    (
        {"prefabs": [prefab(drawn=["##+##", "#...#", "#....#", "#...#", "#####"])]},
        "prefabs[0].map",
        "lengths",
    ),
    ({"prefabs": [prefab(drawn=["##+##", "#.x.#", "#...#", "#...#", "#####"])]}, "prefabs[0].map", "'x'"),
    ({"prefabs": [prefab(drawn=["##+##", "#...#", "#...#", "#...#", "##.##"])]}, "prefabs[0].map", "border"),
    ({"prefabs": [prefab(drawn=["#####", "#...#", "#...#", "#...#", "#####"])]}, "prefabs[0].map", "no door"),
    ({"prefabs": [prefab(drawn=["##+##", "#B.B#", "#...#", "#...#", "#####"])]}, "prefabs[0].map", "two 'B'"),
    (
        {
            "prefabs": [
                prefab("a", ["##+##", "#.B.#", "#...#", "#...#", "#####"]),
                prefab("b", [*HALL[:2], "+.B.e.+", *HALL[3:]]),
            ]
        },
        "prefabs[1].map",
        "second 'B'",
    ),
    ({"prefabs": [prefab("a"), prefab("a")]}, "prefabs[1].name", "taken"),
    ({"prefabs": [prefab(drawn=["##+##", *["#...#"] * 31, "#####"])]}, "prefabs[0].map", "at most 32"),
    ({"prefabs": [prefab(drawn=["##+##", "#...#", "#####"])]}, "prefabs[0].map", "at least 5"),
    ({"prefabs": [prefab(drawn=["#+##", "#..#", "#..#", "#..#", "####"])]}, "prefabs[0].map", "5 to 32"),
    ({"prefabs": [prefab("Shrine")]}, "prefabs[0].name", "pattern"),
    ({"prefabs": [prefab(count=0)]}, "prefabs[0].count", "greater"),
    ({"prefabs": [prefab(placement="middle")]}, "prefabs[0].placement", "critical"),
    ({"prefabs": [prefab(colour="red")]}, "prefabs[0].colour", "Extra"),
    ({"prefabs": [prefab(f"p{i}") for i in range(17)]}, "prefabs", "at most 16"),
    ({"prefabs": [prefab(count=11)]}, "prefabs[0].count", "rooms - 2"),
    (
        {"prefabs": [prefab(drawn=["##+##", "#.B.#", "#...#", "#...#", "#####"], count=2)]},
        "prefabs[0].count",
        "once",
    ),
    (
        {
            "width": 40,
            "height": 40,
            "rooms": 20,
            "prefabs": [prefab(drawn=["#" * 32, *["#" + "." * 30 + "+"] * 30, "#" * 32])],
        },
        "prefabs[0].map",
        "fit",
    ),
    ({"prefabs": [prefab(placement="critical")]}, "prefabs[0].map", "wall between them"),
    (
        {
            "rooms": 12,
            "prefabs": [prefab(drawn=["#####", "#...+", "#...+", "#...#", "#####"], placement="critical")],
        },
        "prefabs[0].map",
        "wall between them",
    ),
    (
        {"prefabs": [prefab(count=2, placement="any")], "constraints": {"critical_path_rooms": {"min": 11}}},
        "constraints.critical_path_rooms.min",
        "cannot be walked through",
    ),
    ({"constraints": {"locks": {"min": 3, "max": 2}}}, "constraints.locks.min", "above max"),
    (
        {"constraints": {"critical_path_rooms": {"min": 13}}},
        "constraints.critical_path_rooms.min",
        "above rooms",
    ),
    ({"constraints": {"critical_path_rooms": {"max": 1}}}, "constraints.critical_path_rooms.max", "below 2"),
    ({"constraints": {"locks": {"min": 12}}}, "constraints.locks.min", "at most 11"),
    ({"constraints": {"locks": {"min": -1}}}, "constraints.locks.min", "greater"),
    ({"constraints": {"locks": {"min": "2"}}}, "constraints.locks.min", "integer"),
    ({"constraints": {"locks": {"min": 2.0}}}, "constraints.locks.min", "integer"),
    ({"constraints": {"locks": {"min": None}}}, "constraints.locks.min", "null"),
    ({"constraints": {"locks": {"least": 1}}}, "constraints.locks.least", "Extra"),
    ({"constraints": {"doors": {"min": 1}}}, "constraints.doors", "Extra"),
    ({"constraints": {"pacing": "falling"}}, "constraints.pacing", "rising"),
    ({"constraints": None}, "constraints", "dictionary"),
    ({"prefabs": None}, "prefabs", "list"),
    ({"constraints": {"enemies": {"min": 34}}}, "constraints.enemies.min", "at most 33"),
    ({"constraints": {"treasures": {"min": 25}}}, "constraints.treasures.min", "at most 24"),
    (
        {
            "prefabs": [prefab(drawn=["##+##", "#eee#", "#...#", "#...#", "#####"])],
            "constraints": {"enemies": {"max": 2}},
        },
        "constraints.enemies.max",
        "prefabs draw",
    ),
    (
        {"prefabs": [prefab(drawn=SHRINE, count=2)], "constraints": {"treasures": {"max": 1}}},
        "constraints.treasures.max",
        "prefabs draw",
    ),
    (
        {
            "prefabs": [prefab(drawn=HALL, count=3, placement="critical")],
            "constraints": {"critical_path_rooms": {"max": 4}},
        },
        "prefabs[0].count",
        "max - 2",
    ),
    (
        {
            "prefabs": [
                prefab(drawn=["##+##", "#...#", "#...+", "#...#", "#####"], count=2, placement="critical")
            ],
            "constraints": {"critical_path_rooms": {"max": 4}},
        },
        "prefabs[0].map",
        "in a row",
    ),
    (
        {
            "rooms": 9,
            "prefabs": [
                prefab("a", ["##+##", "#...#", "#...+", "#...#", "#####"], count=5, placement="critical"),
                prefab("b", ["##+##", "#...#", "#...#", "#...#", "##+##"], placement="critical"),
            ],
        },
        "prefabs[1].map",
        "in a row",
    ),
    (
        {
            "prefabs": [
                prefab(drawn=["#+#+#", "#...#", "#...#", "#...#", "#####"], count=2, placement="critical")
            ],
            "constraints": {"critical_path_rooms": {"max": 4}},
        },
        "prefabs[0].map",
        "in a row",
    ),
    (
        {
            "width": 16,
            "height": 19,
            "rooms": 4,
            "prefabs": [
                prefab("a", ["#++#######", *["#........#"] * 3, "#........+", "#" * 10], placement="side"),
                prefab("b", ["#+#+#", *["#...#"] * 5, "#####"], placement="critical"),
            ],
        },
        "prefabs[1].map",
        "no room for that many",
    ),
    (
        {
            "width": 17,
            "height": 20,
            "rooms": 5,
            "prefabs": [
                prefab(drawn=["#" * 8, "+......#", *["#......#"] * 3, "#" * 8], count=3, placement="side")
            ],
        },
        "prefabs[0].count",
        "round fewer rooms",
    ),
    (
        {  # rows the door sides allow (north to south), but not on a 28x26 map as the generator lays it
            "width": 28, "height": 26, "rooms": 4, "loops": 0.39,
            "constraints": {"critical_path_rooms": {"min": 4}},
            "prefabs": [
                prefab("a", ["#########", *["#.......#"] * 5, "#+#####+#"]),
                prefab("b", ["##+#+#####", *["#........#"] * 8, "##########"]),
            ],
        },
        "prefabs[1].map",
        "not on this map",
    ),
    (
        {
            "prefabs": [prefab(drawn=["##+##", "#.B.#", "#...#", "#...#", "#####"])],
            "constraints": {"pacing": "rising"},
        },
        "prefabs[0].map",
        "exit room",
    ),
    (
        {"prefabs": [prefab(count=4, placement="side")], "constraints": {"critical_path_rooms": {"min": 9}}},
        "constraints.critical_path_rooms.min",
        "side prefab",
    ),
]


@pytest.mark.parametrize(("fields", "field", "word"), REFUSED, ids=[f for _, f, _ in REFUSED])
def test_a_spec_no_level_can_meet_is_refused_naming_the_field(
    fields: dict[str, Any], field: str, word: str
) -> None:
    """Given a spec (12 rooms in 64x40) breaking one rule of CONTRACT §4.1
    When a level is requested
    Then SpecError names the field by its path, with a message saying which rule."""
    with pytest.raises(SpecError) as refused:
        generate_level({"seed": 1, **fields})

    assert refused.value.field == field
    assert word in refused.value.message


def test_each_map_rule_has_a_message_of_its_own() -> None:
    """Given the maps breaking each drawing rule
    Then no two are refused with the same message."""
    messages = set()
    for fields, field, _ in REFUSED:
        if field == "prefabs[0].map" and len(fields) == 1:
            with pytest.raises(SpecError) as refused:
                parse_spec({"seed": 1, **fields})
            messages.add(refused.value.message)

    assert len(messages) == sum(
        1 for fields, field, _ in REFUSED if field == "prefabs[0].map" and len(fields) == 1
    )


def test_the_designer_fields_are_recorded_normalised() -> None:
    """Given the issue's example
    When it is normalised
    Then constraints are kept as given and each prefab gains its defaults, after the
    usual fields."""
    raw = copy.deepcopy(EXAMPLE)
    del raw["prefabs"][0]["placement"]
    spec = parse_spec(raw)

    assert list(spec) == [
        "seed",
        "width",
        "height",
        "rooms",
        "difficulty",
        "theme",
        "loops",
        "constraints",
        "prefabs",
    ]
    assert spec["constraints"] == EXAMPLE["constraints"]
    assert spec["prefabs"] == [{"name": "shrine", "map": SHRINE, "count": 1, "placement": "any"}]


@pytest.mark.parametrize(
    "empty", [{}, {"constraints": {}}, {"prefabs": []}, {"constraints": {}, "prefabs": []}]
)
def test_a_spec_without_designer_fields_normalises_as_before(empty: dict[str, Any]) -> None:
    """Given a spec with no (or empty) constraints and prefabs
    When it is normalised and generated
    Then it has exactly the fields of CONTRACT §4, and the same level as without them."""
    spec = parse_spec({"seed": 5, **empty})

    assert list(spec) == ["seed", "width", "height", "rooms", "difficulty", "theme", "loops"]
    assert generate_level({"seed": 5, **empty}).artifacts() == generate_level({"seed": 5}).artifacts()
