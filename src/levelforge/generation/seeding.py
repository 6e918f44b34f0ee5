"""Per-step random generators, derived from (seed, attempt, step name) with BLAKE2b.

Each step draws from its own ``random.Random`` so that changing one step does not
reshuffle the others, and so that the result is the same in every process and on every
machine (Python's ``hash()`` is salted per process and is never used).
"""

from __future__ import annotations

import hashlib
import random


def step_random(seed: int, attempt: int, step: str) -> random.Random:
    """The generator of ``step`` for the given seed and attempt (attempts count from 1)."""
    digest = hashlib.blake2b(f"levelforge:{seed}:{attempt}:{step}".encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))
