"""The peer's client of ``bench_jobs.py``: the same two measurements through Celery's client
API, run in its own process (``python -m peer_celery.client``, ``benchmarks/`` on the path).

throughput: ``--submitters`` threads share one counter and call ``generate.delay(spec)``
for the burst; then ``AsyncResult.get()`` for each, in order (the Redis backend subscribes to
each task's channel when it is sent, so completion is pushed, not polled; results that came
in while waiting for an earlier one are already cached when their turn comes).
latency: one job in flight: ``generate.delay(spec).get()`` (also pushed through pub/sub).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from _bench_common import burst, latency_summary, level_spec, serve_phases, stamped_summary
from celery.result import AsyncResult

from peer_celery.app import STEPS, generate

WARMUP_SEED_BASE, BURST_SEED_BASE, LATENCY_SEED_BASE = 10_000, 1_000_000, 2_000_000


class PeerClient:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def warm_up(self) -> dict[str, Any]:
        work_ms: list[float] = []
        # the first waits for the worker to come up
        first = generate.delay(level_spec(WARMUP_SEED_BASE)).get(timeout=60)
        for k in range(1, self.args.warmup):
            work_ms.append(generate.delay(level_spec(WARMUP_SEED_BASE + k)).get(timeout=30)["workMs"])
        return {
            "warmupJobs": self.args.warmup,
            "workMsPerJob": sorted(work_ms)[len(work_ms) // 2] if work_ms else first["workMs"],
            "steps": len(STEPS),
        }

    def throughput(self) -> dict[str, Any]:
        jobs = self.args.burst
        results: list[AsyncResult | None] = [None] * jobs

        def submit(index: int) -> None:
            results[index] = generate.delay(level_spec(BURST_SEED_BASE + index))

        started, submitted = burst(submit, jobs, self.args.submitters)
        # each submitter thread has its own result backend (Celery's are thread-local) and so
        # its own pub/sub subscription; those threads are gone, so one thread may drain them all
        values = [result.get(timeout=self.args.timeout_s, propagate=False)
                  for result in results if result is not None]
        finished = time.perf_counter()
        failed = sum(1 for value in values if not (isinstance(value, dict) and "workMs" in value))
        failed += jobs - len(values)
        elapsed = finished - started
        return {
            "jobs": jobs,
            "failed": failed,
            "elapsedS": elapsed,
            "jobsPerS": (jobs - failed) / elapsed,
            "submitS": submitted - started,
            "submitsPerS": jobs / (submitted - started),
        }

    def latency(self) -> dict[str, Any]:
        samples: list[float] = []
        stamped: list[float] = []
        failed = 0
        for k in range(self.args.latency_jobs):
            started_wall, started = time.time(), time.perf_counter()
            result = generate.delay(level_spec(LATENCY_SEED_BASE + k))
            value = result.get(timeout=30)
            samples.append((time.perf_counter() - started) * 1000)
            stamped.append((result.date_done.timestamp() - started_wall) * 1000)
            failed += not (isinstance(value, dict) and "workMs" in value)
        return {"mode": "get", "failed": failed, **latency_summary(samples),
                **stamped_summary(stamped)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--latency-jobs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--submitters", type=int, default=4)
    parser.add_argument("--timeout-s", type=float, default=300.0)
    client = PeerClient(parser.parse_args())
    return serve_phases(client.warm_up, {"throughput": client.throughput, "latency": client.latency})


if __name__ == "__main__":
    sys.exit(main())
