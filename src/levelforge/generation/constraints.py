"""The spec's constraints and prefab placements (CONTRACT §4.1), checked on a blueprint
before it is published, as ``validate`` checks §5: what is missed, by constraint name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from levelforge.generation.blueprint import Blueprint
from levelforge.generation.contents import asked

COUNTED = ("critical_path_rooms", "locks", "enemies", "treasures")


def counts(blueprint: Blueprint) -> dict[str, int]:
    """The ``stats`` counts that constraints range over."""
    return {
        "critical_path_rooms": len(blueprint.locks.critical_path),
        "locks": sum(door.key is not None for door in blueprint.doors),
        "enemies": len(blueprint.population.enemies),
        "treasures": len(blueprint.population.treasures),
    }


def unmet(spec: Mapping[str, Any], blueprint: Blueprint) -> list[tuple[str, str]]:
    """Each (constraint, what is wrong) the blueprint misses; empty when it meets all."""
    missed: list[tuple[str, str]] = []
    found = counts(blueprint)
    for name in COUNTED:
        bounds = asked(spec, name)
        if bounds is not None and not bounds[0] <= found[name] <= bounds[1]:
            missed.append((name, f"{found[name]} {name}, not within {bounds[0]} … {bounds[1]}"))
    if spec.get("constraints", {}).get("pacing") == "rising":
        missed.extend(("pacing", problem) for problem in _pacing_problems(blueprint))
    missed.extend(("prefabs", problem) for problem in _prefab_problems(spec, blueprint))
    return missed


def _pacing_problems(blueprint: Blueprint) -> list[str]:
    locks, enemies = blueprint.locks, blueprint.population.enemies
    strongest: dict[int, int] = {}
    for enemy in enemies:
        strongest[enemy.room] = max(strongest.get(enemy.room, 0), enemy.level)
    problems = []
    highest = 0
    for room in locks.critical_path:
        if room in strongest:
            if strongest[room] < highest:
                problems.append(f"enemy levels fall at r{room} along the critical path")
            highest = max(highest, strongest[room])
    if any(enemy.boss and enemy.room != locks.exit.room for enemy in enemies):
        problems.append("the boss is not in the exit room")
    return problems


def _prefab_problems(spec: Mapping[str, Any], blueprint: Blueprint) -> list[str]:
    """Copies that are the entrance or exit, ``critical`` ones off the path, ``side`` ones on it."""
    locks = blueprint.locks
    placement = {raw["name"]: raw["placement"] for raw in spec.get("prefabs", ())}
    on_path = set(locks.critical_path)
    problems = []
    for room, name in blueprint.prefab_names.items():
        if room in (locks.entrance.room, locks.exit.room):
            problems.append(f"prefab {name} is the entrance or exit room r{room}")
        if placement[name] == "critical" and room not in on_path:
            problems.append(f"prefab {name} (critical) at r{room}, off the critical path")
        if placement[name] == "side" and room in on_path:
            problems.append(f"prefab {name} (side) at r{room}, on the critical path")
    return problems
