"""The peer: a Celery app whose one task runs a 10-step level pipeline, one progress update
per step, like a levelforge worker reporting each step to its Orchestrator.

Broker and result backend are the Redis at ``PEER_REDIS_URL`` (started by the driver with no
persistence). Each step does a small, fixed amount of CPU work (carving tiles into a grid),
about 0.1 ms, so a whole level costs about 1 ms, as a 60x40, 12-room levelforge level does.
The task measures its own pure work time and returns it, so the report can show it.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from celery import Celery

REDIS_URL = os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/0")

#: the steps of levelforge's built-in pipeline (CONTRACT §7), same names, same order
STEPS = (
    "plan_layout",
    "carve_rooms",
    "connect_rooms",
    "place_doors",
    "place_keys",
    "place_enemies",
    "validate",
    "compose_scene_graph",
    "render_ascii_minimap",
    "store_artifacts",
)
#: tile writes per step: about 0.1 ms of CPython work per step on the benchmark machine
STEP_UNITS = int(os.environ.get("PEER_STEP_UNITS", "130"))

app = Celery("peer_celery", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


def run_step(rng: random.Random, grid: bytearray, width: int, height: int, index: int) -> str:
    """One step's work: write ``STEP_UNITS`` tiles of a rectangle-ish region of the grid."""
    tile = b".#+L@>k$eB"[index]
    x0, y0 = rng.randrange(width - 8), rng.randrange(height - 6)
    for _ in range(STEP_UNITS):
        x = x0 + rng.randrange(8)
        y = y0 + rng.randrange(6)
        grid[y * width + x] = tile
    return f"{STEPS[index]}: {STEP_UNITS} tiles at ({x0}, {y0})"


def generate_level(spec: dict[str, Any], progress: Any = None) -> dict[str, Any]:
    """The pipeline: 10 steps, ``progress(index, name, summary, ms)`` after each."""
    width, height = int(spec.get("width", 64)), int(spec.get("height", 40))
    rng = random.Random(int(spec.get("seed", 0)))
    grid = bytearray(b" " * (width * height))
    work_ms = 0.0
    for index, name in enumerate(STEPS):
        started = time.perf_counter()
        summary = run_step(rng, grid, width, height, index)
        if name == "render_ascii_minimap":
            minimap = "".join(
                grid[row * width : (row + 1) * width].decode() + "\n" for row in range(height)
            )
        step_ms = (time.perf_counter() - started) * 1000
        work_ms += step_ms
        if progress is not None:
            progress(index, name, summary, step_ms)
    return {
        "summary": {"rooms": int(spec.get("rooms", 12)), "steps": len(STEPS)},
        "asciiMinimap": minimap,
        "workMs": work_ms,
    }


@app.task(bind=True, name="peer.generate")
def generate(self: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """The job: run the pipeline, storing a PROGRESS state after every step."""

    def progress(index: int, name: str, summary: str, step_ms: float) -> None:
        self.update_state(
            state="PROGRESS",
            meta={"step": name, "index": index + 1, "of": len(STEPS), "summary": summary,
                  "durationMs": step_ms},
        )

    return generate_level(spec, progress)
