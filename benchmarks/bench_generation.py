"""Generation speed: levelforge's whole pipeline against python-tcod's BSP generator.

levelforge: ``generate_level`` (the spec checked as ``POST /jobs`` checks it, every step,
the checks of ``validate``, the scene graph, the minimap) and ``level.artifacts()`` (all
four published artifacts: ``scene-graph.json``, ``minimap.txt``, ``tiled.json`` and
``preview.svg``), each level from its own seed. The peer:
``tcod.bsp.BSP(...).split_recursive(...)``, one room per leaf, each leaf joined to the
next by an L-shaped tunnel, carved into a NumPy grid: geometry only.

Both run in this process, alternating batch by batch, several runs; the figures are
medians over the runs (the ratio is the median of the runs' own ratios, so that load
from other processes, which hits both alike, cancels out). Peak memory of one 512x512
level is measured in a fresh subprocess (``ru_maxrss`` and ``tracemalloc``).

    .venv/bin/python benchmarks/bench_generation.py [--runs 7] [--quick] [--constrained-only]

Writes ``benchmarks/results/generation.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tcod.bsp
import tcod.random

from levelforge.generation import IMPLEMENTATION, generate_level

RESULTS = Path(__file__).parent / "results" / "generation.json"
SIZES: list[dict[str, Any]] = [
    {"width": 60, "height": 40, "rooms": 12, "levels": 200, "min_leaf": 11},
    {"width": 200, "height": 200, "rooms": 150, "levels": 20, "min_leaf": 10},
    {"width": 512, "height": 512, "rooms": 2000, "levels": 2, "min_leaf": 5},
]
TARGETS = {
    60: "ratio >= 0.22 and >= 2000 levels/s (aim ratio 0.43)",
    200: "ratio >= 0.24 and >= 200 levels/s (aim ratio 0.48)",
    512: "< 100 ms, < 150 MB max RSS (aim < 50 ms)",
}
JOB_SPEC = {"width": 60, "height": 40, "rooms": 12}
"""The level of a ``make bench-jobs`` job, whose pipeline CPU the benchmark also reports
on both pipelines (compiled and pure-Python)."""
DESIGNED = {
    "constraints": {
        "critical_path_rooms": {"min": 5},
        "locks": {"min": 1, "max": 3},
        "treasures": {"min": 2},
        "pacing": "rising",
    },
    "prefabs": [
        {"name": "shrine", "placement": "side", "map": ["##+##", "#...#", "+.$.#", "#...#", "#####"]}
    ],
}
"""The constrained row (issue 21): 60x40, 12 rooms, every kind of constraint and one prefab."""


def levelforge_level(
    width: int, height: int, rooms: int, seed: int, *, pure: bool = False, designed: bool = False
) -> int:
    spec = {"seed": seed, "width": width, "height": height, "rooms": rooms, **(DESIGNED if designed else {})}
    level = generate_level(spec, pure=pure)
    return sum(len(data) for data in level.artifacts().values())


def tcod_level(width: int, height: int, rooms: int, seed: int, min_leaf: int) -> int:
    """python-tcod's BSP: split, a room per leaf, leaves joined in order; geometry only."""
    grid = np.zeros((height, width), dtype=np.uint8)
    rng = tcod.random.Random(seed=seed)
    root = tcod.bsp.BSP(x=0, y=0, width=width, height=height)
    root.split_recursive(
        depth=math.ceil(math.log2(rooms)) + 1,
        min_width=min_leaf,
        min_height=min_leaf,
        max_horizontal_ratio=1.5,
        max_vertical_ratio=1.5,
        seed=rng,
    )
    centres = []
    for leaf in root.inverted_level_order():
        if leaf.children:
            continue
        w = rng.randint(3, max(3, leaf.width - 2))
        h = rng.randint(3, max(3, leaf.height - 2))
        x = leaf.x + rng.randint(1, max(1, leaf.width - w - 1))
        y = leaf.y + rng.randint(1, max(1, leaf.height - h - 1))
        grid[y : y + h, x : x + w] = 1
        centres.append((x + w // 2, y + h // 2))
    for (x0, y0), (x1, y1) in itertools.pairwise(centres):
        grid[y0, min(x0, x1) : max(x0, x1) + 1] = 1
        grid[min(y0, y1) : max(y0, y1) + 1, x1] = 1
    return len(centres)


def timed(batch: Callable[[int], object], levels: int, first_seed: int) -> float:
    """Levels per second over ``levels`` levels (CPU time of this process)."""
    start = time.process_time()
    for seed in range(first_seed, first_seed + levels):
        batch(seed)
    return levels / (time.process_time() - start)


def bench_size(size: dict[str, Any], runs: int) -> dict[str, Any]:
    width, height, rooms, levels = size["width"], size["height"], size["rooms"], size["levels"]

    def ours(seed: int) -> int:
        return levelforge_level(width, height, rooms, seed)

    def peer(seed: int) -> int:
        return tcod_level(width, height, rooms, seed, size["min_leaf"])

    ours(0), peer(0)  # warm up (imports, caches)
    lf_rates, tcod_rates = [], []
    for run in range(runs):
        first = 1000 * (run + 1)
        order = [(ours, lf_rates), (peer, tcod_rates)]
        for batch, rates in order if run % 2 == 0 else reversed(order):
            rates.append(timed(batch, levels, first))
    leaves = statistics.mean(peer(seed) for seed in range(50))
    ratios = [ours / theirs for ours, theirs in zip(lf_rates, tcod_rates, strict=True)]
    return {
        "size": f"{width}x{height}",
        "rooms": rooms,
        "levels_per_run": levels,
        "runs": runs,
        "levelforge_levels_per_s": statistics.median(lf_rates),
        "levelforge_ms_per_level": 1000 / statistics.median(lf_rates),
        "tcod_levels_per_s": statistics.median(tcod_rates),
        "tcod_mean_rooms": leaves,
        "ratio": statistics.median(ratios),
        "levelforge_runs": lf_rates,
        "tcod_runs": tcod_rates,
    }


def pipeline_per_job(runs: int, levels: int = 200) -> dict[str, Any]:
    """CPU ms of one job's pipeline (``generate_level`` + ``artifacts()``, 60x40, 12 rooms)
    on the compiled core and on the pure-Python pipeline, alternating; medians of runs."""
    width, height, rooms = JOB_SPEC["width"], JOB_SPEC["height"], JOB_SPEC["rooms"]
    compiled: list[float] = []
    pure: list[float] = []
    order = [(False, compiled), (True, pure)]
    for run in range(runs):
        for is_pure, times in order if run % 2 == 0 else reversed(order):

            def batch(seed: int, is_pure: bool = is_pure) -> int:
                return levelforge_level(width, height, rooms, seed, pure=is_pure)

            times.append(1000 / timed(batch, levels, 1000 * (run + 1)))
    return {
        "spec": JOB_SPEC,
        "compiled_ms": statistics.median(compiled),
        "pure_python_ms": statistics.median(pure),
        "compiled_runs_ms": compiled,
        "pure_python_runs_ms": pure,
    }


def constrained_row(runs: int, levels: int = 200) -> dict[str, Any]:
    """CPU ms of a constrained 60x40, 12-room level with one prefab (``DESIGNED``: planned
    and built by the Python steps, then checked, composed and exported on the compiled
    core) beside the unconstrained one, each on the default pipeline and on the pure one,
    with artifacts; batches alternate, medians of runs, ratios the medians of the runs'
    own ratios."""
    width, height, rooms = JOB_SPEC["width"], JOB_SPEC["height"], JOB_SPEC["rooms"]
    kinds = {
        "unconstrained": (False, False),
        "unconstrained_pure": (True, False),
        "constrained": (False, True),
        "constrained_pure": (True, True),
    }
    times: dict[str, list[float]] = {name: [] for name in kinds}
    for run in range(runs):
        names = list(kinds) if run % 2 == 0 else list(reversed(kinds))
        for name in names:
            pure, designed = kinds[name]

            def batch(seed: int, pure: bool = pure, designed: bool = designed) -> int:
                return levelforge_level(width, height, rooms, seed, pure=pure, designed=designed)

            times[name].append(1000 / timed(batch, levels, 1000 * (run + 1)))

    def ratio(over: str, under: str) -> float:
        return statistics.median(a / b for a, b in zip(times[over], times[under], strict=True))

    return {
        "spec": {**JOB_SPEC, **DESIGNED},
        **{f"{name}_ms": statistics.median(values) for name, values in times.items()},
        "ratio_to_unconstrained": ratio("constrained", "unconstrained"),
        "ratio_to_unconstrained_pure": ratio("constrained", "unconstrained_pure"),
        "ratio_pure_to_unconstrained_pure": ratio("constrained_pure", "unconstrained_pure"),
        "runs_ms": times,
    }


def measure_memory(width: int, height: int, rooms: int) -> dict[str, float]:
    """Peak memory of one level in a fresh process."""
    result = subprocess.run(
        [sys.executable, __file__, "--memory-child", f"{width},{height},{rooms}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def memory_child(arg: str) -> None:
    width, height, rooms = (int(part) for part in arg.split(","))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    start = time.perf_counter()
    levelforge_level(width, height, rooms, 7)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "maxrss_mb": maxrss,
                "maxrss_before_mb": baseline,
                "tracemalloc_peak_mb": peak / 2**20,
                "ms_under_tracemalloc": elapsed * 1000,
            }
        )
    )


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"{'size':>9} {'rooms':>5} {'levelforge/s':>13} {'ms/level':>9} {'tcod/s':>9} {'ratio':>6}  target")
    for row in results:
        print(
            f"{row['size']:>9} {row['rooms']:>5} {row['levelforge_levels_per_s']:>13.0f} "
            f"{row['levelforge_ms_per_level']:>9.2f} {row['tcod_levels_per_s']:>9.0f} {row['ratio']:>6.2f}  "
            f"{TARGETS[int(row['size'].split('x')[0])]}"
        )
        if "memory" in row:
            memory = row["memory"]
            print(
                f"{'':>9} peak memory: {memory['maxrss_mb']:.0f} MB max RSS "
                f"({memory['maxrss_before_mb']:.0f} MB before the level), "
                f"{memory['tracemalloc_peak_mb']:.0f} MB traced by tracemalloc"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="fewer levels per run")
    parser.add_argument(
        "--constrained-only", action="store_true", help="only the constrained row, printed, nothing written"
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if args.constrained_only:
        print_constrained(constrained_row(args.runs, 50 if args.quick else 200))
        return
    load_before = os.getloadavg()
    results = []
    for full in SIZES:
        size = {**full, "levels": max(1, full["levels"] // 4)} if args.quick else full
        row = bench_size(size, args.runs)
        if size["width"] == 512:
            row["memory"] = measure_memory(size["width"], size["height"], size["rooms"])
        results.append(row)
        print(
            f"{row['size']}: {row['levelforge_levels_per_s']:.0f} levels/s, ratio {row['ratio']:.2f}",
            flush=True,
        )
    per_job = pipeline_per_job(args.runs, 50 if args.quick else 200)
    constrained = constrained_row(args.runs, 50 if args.quick else 200)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "pipeline": IMPLEMENTATION,
                "load_average_before": load_before,
                "timing": "CPU time of the benchmark process, median of runs; batches alternate",
                "results": results,
                "pipeline_per_job": per_job,
                "constrained_60x40": constrained,
            },
            indent=2,
        )
        + "\n"
    )
    print_table(results)
    print(
        f"pipeline: {IMPLEMENTATION}; load average before: {load_before[0]:.2f}; one job's pipeline "
        f"(60x40, 12 rooms, with artifacts): {per_job['compiled_ms']:.3f} ms compiled, "
        f"{per_job['pure_python_ms']:.3f} ms pure Python"
    )
    print_constrained(constrained)


def print_constrained(row: dict[str, Any]) -> None:
    print(
        f"constrained 60x40, 12 rooms, one prefab: {row['constrained_ms']:.3f} ms beside unconstrained "
        f"{row['unconstrained_ms']:.3f} ms ({IMPLEMENTATION}: {row['ratio_to_unconstrained']:.2f}x, "
        "aim 1.5x); "
        f"pure Python {row['constrained_pure_ms']:.3f} ms beside {row['unconstrained_pure_ms']:.3f} ms "
        f"({row['ratio_pure_to_unconstrained_pure']:.2f}x)"
    )


if __name__ == "__main__":
    main()
