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


class Dice:
    """Fast integer draws from a ``random.Random``: ``random()`` scaled, which is exact and
    the same on every machine (IEEE doubles), and several times cheaper than ``randint``."""

    __slots__ = ("random",)

    def __init__(self, rng: random.Random) -> None:
        self.random = rng.random

    def between(self, low: int, high: int) -> int:
        """An integer in ``low … high`` (inclusive)."""
        return low + int(self.random() * (high - low + 1))

    def below(self, count: int) -> int:
        """An integer in ``0 … count - 1``."""
        return int(self.random() * count)

    def chance(self, probability: float) -> bool:
        return self.random() < probability


def step_dice(seed: int, attempt: int, step: str) -> Dice:
    """The dice of ``step`` for the given seed and attempt."""
    return Dice(step_random(seed, attempt, step))
