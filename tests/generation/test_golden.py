"""Golden files: the exact artifacts of a few specs, so that no change of output slips in
unnoticed (CONTRACT §4: the same spec and seed give byte-identical artifacts).

A change that is meant to change levels regenerates them on purpose, and the diff of
``tests/generation/golden/`` goes into the same commit:

    LEVELFORGE_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/generation/test_golden.py

(see ``golden/README.md``). Small levels are kept whole (``*.scene-graph.json`` and
``*.minimap.txt``); large ones by SHA-256 in ``digests.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from levelforge.generation import generate_level

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("LEVELFORGE_REGENERATE_GOLDEN") == "1"
WHOLE: dict[str, dict[str, Any]] = {
    "dungeon-64x40": {
        "seed": 42,
        "width": 64,
        "height": 40,
        "rooms": 12,
        "difficulty": 3,
        "theme": "dungeon",
        "loops": 0.15,
    },
    "crypt-48x48": {
        "seed": 7,
        "width": 48,
        "height": 48,
        "rooms": 16,
        "difficulty": 8,
        "theme": "crypt",
        "loops": 0.3,
    },
    "cave-96x64": {
        "seed": 2025,
        "width": 96,
        "height": 64,
        "rooms": 24,
        "difficulty": 5,
        "theme": "cave",
        "loops": 0.5,
    },
    "tight-16x16": {
        "seed": 1,
        "width": 16,
        "height": 16,
        "rooms": 4,
        "difficulty": 10,
        "theme": "dungeon",
        "loops": 1.0,
    },
    "one-room": {
        "seed": 0,
        "width": 16,
        "height": 16,
        "rooms": 1,
        "difficulty": 1,
        "theme": "cave",
        "loops": 0.0,
    },
}
DIGESTED: dict[str, dict[str, Any]] = {
    "dungeon-200x200": {
        "seed": 3,
        "width": 200,
        "height": 200,
        "rooms": 150,
        "difficulty": 6,
        "theme": "dungeon",
        "loops": 0.15,
    },
    "cave-300x120": {
        "seed": 11,
        "width": 300,
        "height": 120,
        "rooms": 200,
        "difficulty": 9,
        "theme": "cave",
        "loops": 0.25,
    },
}


IMPLEMENTATIONS = pytest.mark.parametrize("pure", [False, True], ids=["compiled", "pure-python"])
"""Every golden file is checked against both pipelines: the compiled core (the default when
it is built) and the pure-Python one."""


def _artifacts(spec: dict[str, Any], pure: bool) -> dict[str, bytes]:
    return generate_level(spec, pure=pure).artifacts()


@IMPLEMENTATIONS
@pytest.mark.parametrize("name", sorted(WHOLE))
def test_a_small_level_matches_its_golden_files(name: str, pure: bool) -> None:
    """Given a spec kept whole in the golden folder
    When its level is generated (on either pipeline)
    Then every artifact is byte-identical to the golden files."""
    for artifact, data in _artifacts(WHOLE[name], pure).items():
        path = GOLDEN / f"{name}.{artifact}"
        if REGENERATE:
            path.write_bytes(data)
        assert path.read_bytes() == data, f"{path.name} changed (regenerate on purpose: see golden/README.md)"


@IMPLEMENTATIONS
def test_large_levels_match_their_golden_digests(pure: bool) -> None:
    """Given specs of larger levels kept by digest
    When their levels are generated (on either pipeline)
    Then every artifact's SHA-256 is the recorded one."""
    digests = {
        name: {
            artifact: hashlib.sha256(data).hexdigest()
            for artifact, data in sorted(_artifacts(spec, pure).items())
        }
        for name, spec in sorted(DIGESTED.items())
    }
    path = GOLDEN / "digests.json"
    if REGENERATE:
        path.write_text(json.dumps({"specs": DIGESTED, "sha256": digests}, indent=2, sort_keys=True) + "\n")
    recorded = json.loads(path.read_text())
    assert recorded["specs"] == DIGESTED
    assert recorded["sha256"] == digests, (
        "a large level changed (regenerate on purpose: see golden/README.md)"
    )
