"""validate finds each kind of broken level: it is a real check, not a formality.

Each test takes a valid blueprint, breaks one thing, and expects validate to name it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from levelforge.generation import pipeline
from levelforge.generation.blueprint import Blueprint, Rect
from levelforge.generation.spec import parse_spec
from levelforge.generation.validate import validate

SPECS = [
    {"seed": 11, "width": 60, "height": 40, "rooms": 12},
    {"seed": 12, "width": 96, "height": 64, "rooms": 24, "theme": "cave"},
    {"seed": 13, "width": 48, "height": 48, "rooms": 16, "theme": "crypt"},
]


def blueprint_of(raw: dict[str, Any]) -> Blueprint:
    spec = parse_spec(raw)
    blueprint = pipeline._drain(pipeline._build(spec, 1))
    assert validate(blueprint, spec["rooms"]) == []
    return blueprint


def with_rooms(blueprint: Blueprint, rooms: tuple[Any, ...]) -> Blueprint:
    return dataclasses.replace(blueprint, rooms=rooms, memo={})


def with_corridor_tiles(blueprint: Blueprint, index: int, tiles: tuple[tuple[int, int], ...]) -> Blueprint:
    corridors = list(blueprint.network.corridors)
    corridors[index] = corridors[index]._replace(tiles=tiles)
    network = dataclasses.replace(blueprint.network, corridors=tuple(corridors))
    return dataclasses.replace(blueprint, network=network, memo={})


@pytest.mark.parametrize("raw", SPECS)
def test_overlapping_rooms_are_found_at_their_first_shared_tile(raw: dict[str, Any]) -> None:
    """Given a valid blueprint whose room 1 is moved onto room 0
    When it is validated
    Then validate names the first shared tile (row by row) of the rooms' grown rectangles."""
    blueprint = blueprint_of(raw)
    rooms = list(blueprint.rooms)
    x0, y0, _, _ = rooms[0].floor
    moved = Rect(x0 + 1, y0 + 1, x0 + 3, y0 + 3)
    rooms[1] = rooms[1]._replace(floor=moved, spans=None)
    grown = [set(_tiles(room.floor.grown(1))) for room in rooms]
    shared = {tile for i, tiles in enumerate(grown) for other in grown[:i] for tile in tiles & other}
    x, y = min(shared, key=lambda tile: (tile[1], tile[0]))

    failures = validate(with_rooms(blueprint, tuple(rooms)), len(rooms))

    assert f"rooms overlap at {x},{y}" in failures


@pytest.mark.parametrize("raw", SPECS)
def test_a_corridor_through_a_room_or_off_the_map_is_found(raw: dict[str, Any]) -> None:
    """Given a corridor with a tile on a room's floor, or two tiles off the map
    When the blueprint is validated
    Then validate names the tile, or counts the tiles off the map."""
    blueprint = blueprint_of(raw)
    floor = blueprint.rooms[0].floor
    tiles = blueprint.network.corridors[0].tiles

    into_room = with_corridor_tiles(blueprint, 0, (*tiles, (floor.x0, floor.y0 + 1)))
    off_map = with_corridor_tiles(blueprint, 0, ((-1, 0), *tiles, (0, blueprint.layout.height)))

    rooms = len(blueprint.rooms)
    assert f"a corridor breaks into a room at {floor.x0},{floor.y0 + 1}" in validate(into_room, rooms)
    assert "2 corridor tiles off the map" in validate(off_map, rooms)


@pytest.mark.parametrize("raw", SPECS)
def test_a_door_off_its_wall_or_not_between_walls_is_found(raw: dict[str, Any]) -> None:
    """Given a door moved onto its room's floor
    When the blueprint is validated
    Then validate says it is neither between two walls nor in its room's wall."""
    blueprint = blueprint_of(raw)
    door = blueprint.doors[0]
    floor = blueprint.rooms[door.room].floor
    doors = (door._replace(pos=(floor.x0 + 1, floor.y0 + 1)), *blueprint.doors[1:])
    locks = dataclasses.replace(blueprint.locks, doors=doors)

    failures = validate(dataclasses.replace(blueprint, locks=locks, memo={}), len(blueprint.rooms))

    assert f"door d0 at {floor.x0 + 1},{floor.y0 + 1} is not between two walls" in failures
    assert f"door d0 is not in the wall of r{door.room}" in failures


@pytest.mark.parametrize("raw", SPECS)
def test_a_thing_off_its_floor_or_on_another_is_found(raw: dict[str, Any]) -> None:
    """Given the exit moved onto its room's wall, or onto the entrance's tile
    When the blueprint is validated
    Then validate says so."""
    blueprint = blueprint_of(raw)
    locks = blueprint.locks
    floor = blueprint.rooms[locks.exit.room].floor
    on_wall = locks.exit._replace(pos=(floor.x0 - 1, floor.y0))
    shared = locks.exit._replace(room=locks.entrance.room, pos=locks.entrance.pos)

    def moved(exit_: Any) -> list[str]:
        changed = dataclasses.replace(locks, exit=exit_)
        return validate(dataclasses.replace(blueprint, locks=changed, memo={}), len(blueprint.rooms))

    assert f"exit is not on the floor of room r{locks.exit.room}" in moved(on_wall)
    assert "two things share a tile" in moved(shared)


def test_the_wrong_number_of_rooms_or_a_room_off_the_map_is_found() -> None:
    """Given a blueprint checked against another room count, or with a room off the map
    When it is validated
    Then validate says so."""
    blueprint = blueprint_of(SPECS[0])
    rooms = list(blueprint.rooms)
    rooms[2] = rooms[2]._replace(floor=Rect(-3, 2, 0, 6), spans=None)

    assert validate(blueprint, 13) == ["12 rooms instead of 13"]
    assert "room r2 outside the map" in validate(with_rooms(blueprint, tuple(rooms)), 12)


def _tiles(rect: Rect) -> list[tuple[int, int]]:
    return [(x, y) for y in range(rect.y0, rect.y1 + 1) for x in range(rect.x0, rect.x1 + 1)]
