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


BEYOND_THE_BANDS = {
    "two-side-copies-in-4-rooms": {
        "width": 54, "height": 20, "rooms": 4, "loops": 0.85,
        "prefabs": [{"name": "vault", "count": 2, "placement": "side", "map": [
            "#########", "#..e..$.#", "#.......#", "#....$..#", "#.......#", "#.......+", "#########"]}],
        "constraints": {"critical_path_rooms": {"min": 2}},
    },
    "four-side-copies-in-6-rooms-of-17x45": {
        "width": 17, "height": 45, "rooms": 6, "loops": 0.8,
        "prefabs": [{"name": "vault", "count": 4, "placement": "side", "map": [
            "########", "#......#", "#....$.#", "#......+", "#......#", "#......#", "#...$..#",
            "#......#", "#......#", "####+###"]}],
    },
    "three-copies-in-5-rooms-of-16x24": {
        "width": 16, "height": 24, "rooms": 5, "loops": 0.57,
        "prefabs": [{"name": "vault", "count": 3, "placement": "any", "map": [
            "######", "#....#", "#e...#", "+...e#", "#$...#", "+....#", "######"]}],
    },
}  # fmt: skip
"""Copies off the path outnumbering the rooms to hang them off one to a room, on maps where
the banded layout with the exit in a band does not fit: refused until the witness search
(``design.witness_plan``) let in what the generator can plan. Whether that bounded search
finds a plan depends on all the spec's planning reads (its ``loops`` too), never the seed."""


ONLY_ON_PAPER = {
    "three-one-sided-critical-copies-in-7-rooms": {
        "width": 28, "height": 24, "rooms": 7, "loops": 0.58,
        "prefabs": [
            {"name": "hall", "count": 1, "placement": "any", "map": [
                "#+##+#", "#....#", "#..$.+", "#....#", "#....#", "#....#", "######"]},
            {"name": "vault", "count": 3, "placement": "critical", "map": [
                "#####", "#..e#", "#...#", "#...#", "#...#", "#..e#", "#+#+#"]},
        ],
    },
}  # fmt: skip
"""Specs once accepted whose levels met the critical path only on the room graph: their
copies were "walked through" by one door, or by two whose corridors ran together along the
line outside, so a player walked past them, the exit fewer rooms on than the critical path
said (the checker's walk rule). Their copies cannot stand astride their two neighbours
(``design.straddle``) where the generator's whole search looks, so they are refused."""
