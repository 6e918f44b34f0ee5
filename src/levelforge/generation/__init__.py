"""The pure, deterministic generation pipeline: a level spec in, a level out.

Nothing here does I/O, reads a clock, or touches global random state; each step draws
from its own generator derived from the seed (see ``seeding``). Only the standard
library, NumPy (integer grid work in ``grid``), pydantic (for the spec) and
``levelforge.errors`` are imported.
"""

from levelforge.generation.pipeline import (
    ARTIFACT_CONTENT_TYPES,
    GENERATION_STEPS,
    IMPLEMENTATION,
    Level,
    StepDone,
    encode_json,
    generate_level,
    run_pipeline,
)

__all__ = [
    "ARTIFACT_CONTENT_TYPES",
    "GENERATION_STEPS",
    "IMPLEMENTATION",
    "Level",
    "StepDone",
    "encode_json",
    "generate_level",
    "run_pipeline",
]
