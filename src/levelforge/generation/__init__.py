"""The pure, deterministic generation pipeline: a level spec in, a level out.

Nothing here does I/O, reads a clock, or touches global random state; each step draws
from its own generator derived from the seed (see ``seeding``). Only the standard
library, NumPy (integer grid work in ``grid``), pydantic (for the spec) and
``levelforge.errors`` are imported.

The steps run on the compiled core (``_core.pyx``, typed Cython) when it is built, else in
pure Python (``LEVELFORGE_PURE_PYTHON=1`` forces that); both give the same bytes, and
``IMPLEMENTATION`` says which runs.
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
