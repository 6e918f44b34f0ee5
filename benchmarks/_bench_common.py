"""What both benchmark clients share: the line protocol with the driver, the spec, the stats.

A client is a separate process started by ``bench_jobs.py``. It warms the system up, says
``ready``, then runs each phase the driver names on its standard input (``throughput``,
``latency``) and answers each with one result line; ``quit`` (or end of input) ends it. The
driver reads the servers' CPU counters between these lines, so a phase's CPU is the phase's.
Result lines start with ``MARK`` so that stray output on stdout cannot be mistaken for one.
"""

from __future__ import annotations

import itertools
import json
import math
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

MARK = "@@bench "
#: the job of the issue: a 60x40, 12-room level
WIDTH, HEIGHT, ROOMS = 60, 40, 12

Phase = Callable[[], dict[str, Any]]


def level_spec(seed: int) -> dict[str, Any]:
    return {"seed": seed, "width": WIDTH, "height": HEIGHT, "rooms": ROOMS}


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(message) + "\n")
    sys.stdout.flush()


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return math.nan
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def latency_summary(samples_ms: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(samples_ms)
    return {
        "jobs": len(ordered),
        "p50Ms": percentile(ordered, 0.50),
        "p90Ms": percentile(ordered, 0.90),
        "p99Ms": percentile(ordered, 0.99),
        "minMs": ordered[0] if ordered else math.nan,
        "maxMs": ordered[-1] if ordered else math.nan,
        "meanMs": sum(ordered) / len(ordered) if ordered else math.nan,
    }


def burst(submit: Callable[[int], None], jobs: int, submitters: int,
          setup: Callable[[], Any] | None = None) -> tuple[float, float]:
    """``submit(0 .. jobs-1)`` from ``submitters`` threads sharing one counter, all released
    at once (after ``setup``, e.g. opening a connection); (start, end) perf_counter times."""
    counter = itertools.count()
    errors: list[BaseException] = []
    start = threading.Barrier(submitters + 1)

    def submitter() -> None:
        if setup is not None:
            setup()
        start.wait()
        try:
            while (index := next(counter)) < jobs:
                submit(index)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submitter, daemon=True) for _ in range(submitters)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return started, time.perf_counter()


def stamped_summary(samples_ms: Sequence[float]) -> dict[str, Any]:
    """Latencies to the moment the server recorded the job done (its own clock, ms
    resolution): what the job took, without the client's way of noticing it."""
    summary = latency_summary(samples_ms)
    return {f"stamped{key[0].upper()}{key[1:]}": value
            for key, value in summary.items() if key.endswith("Ms")}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve_phases(warm_up: Phase, phases: dict[str, Phase]) -> int:
    """Run the client side of the protocol; the exit status of the client process."""
    try:
        emit({"event": "ready", **warm_up()})
        for line in sys.stdin:
            command = line.strip()
            if command in {"", "quit"}:
                break
            cpu_before = _cpu_seconds()
            result = phases[command]()
            result["clientCpuS"] = _cpu_seconds() - cpu_before
            emit({"event": "result", "phase": command, **result})
    except Exception as exc:
        traceback.print_exc()
        emit({"event": "error", "message": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0
