"""Designed specs the tests share (CONTRACT §4.1): the issue's example, and maps."""

from __future__ import annotations

from typing import Any

SHRINE = ["##+##", "#...#", "+.$.#", "#...#", "#####"]
EXAMPLE: dict[str, Any] = {
    "seed": 7,
    "rooms": 14,
    "constraints": {
        "critical_path_rooms": {"min": 6},
        "locks": {"min": 2, "max": 3},
        "treasures": {"min": 3},
        "pacing": "rising",
    },
    "prefabs": [{"name": "shrine", "placement": "side", "count": 1, "map": SHRINE}],
}
"""The spec of issue 21's ``curl`` example."""
HALL = ["###+###", "#.....#", "+.e.e.+", "#.....#", "###+###"]
"""A hall walked through: doors on every side."""
