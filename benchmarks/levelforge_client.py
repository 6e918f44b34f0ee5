"""The levelforge client of ``bench_jobs.py``: run in its own process, talks HTTP only.

throughput: ``--submitters`` threads, each with its own keep-alive ``httpx.Client``, share
one counter and POST the burst as fast as the server answers. Once every POST has been
answered, completion is detected without reading a single result: the job store is fresh,
so the burst is over exactly when ``GET /jobs?status=queued&limit=1`` and then
``GET /jobs?status=running&limit=1`` both come back empty (asked in that order, because a
job only ever moves queued → running → terminal, a job cannot slip between the two). While
jobs are still queued it asks every ``--coarse-poll-ms`` (one tiny request, a few per
second); once the queue is empty only the last few jobs are running, and it asks every
``--fine-poll-ms``, so the end is seen within a few ms without loading the server during
the burst. Failed jobs are counted afterwards and a sample of jobs is checked for 10 steps.

latency: one job in flight: POST, then, by ``--latency-mode``:

- ``longpoll`` (the default): ``GET /status/{id}?wait=30``, which the server answers as
  soon as the job is terminal, with its result (asked again if 30 s pass first);
- ``events``: ``GET /jobs/{id}/events`` (server push) to the terminal status, then one GET;
- ``poll``: ``GET /status/{id}`` in a loop until the job is ``done``; between answers it
  sleeps ``--poll-interval-ms`` (1 ms), or longer when the answers are slow, so that the
  polls keep the server busy at most ``--poll-duty`` (0.2) of the time.

Each job's time to ``updatedAt`` of the done job (the server's clock) is reported too: that
one has no noticing in it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from datetime import datetime
from typing import Any

import httpx
from _bench_common import burst, latency_summary, level_spec, serve_phases, stamped_summary

TERMINAL = frozenset({"done", "failed"})
STEPS = 10
WARMUP_SEED_BASE, BURST_SEED_BASE, LATENCY_SEED_BASE = 10_000, 1_000_000, 2_000_000


class LevelforgeClient:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.timeout_s = args.timeout_s

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.args.url, timeout=30.0)

    def submit(self, http: httpx.Client, seed: int) -> str:
        response = http.post("/jobs", json=level_spec(seed))
        if response.status_code != 202:
            raise RuntimeError(f"POST /jobs answered {response.status_code}: {response.text[:300]}")
        return str(response.json()["id"])

    def poll_until_terminal(self, http: httpx.Client, job_id: str, interval_s: float,
                            duty: float = 1.0) -> dict[str, Any]:
        """GET the job until it is terminal, sleeping ``interval_s`` between answers, or
        longer when answers are slow: polls then keep the server busy at most ``duty`` of
        the time (a poll that took 2 ms is followed by 8 ms of quiet at duty 0.2)."""
        deadline = time.perf_counter() + self.timeout_s
        while True:
            asked = time.perf_counter()
            response = http.get(f"/status/{job_id}")
            response.raise_for_status()
            job: dict[str, Any] = response.json()
            if job["status"] in TERMINAL:
                return job
            answered = time.perf_counter()
            if answered > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {self.timeout_s} s")
            time.sleep(max(interval_s, (answered - asked) * (1 / duty - 1)))

    def follow_events(self, http: httpx.Client, job_id: str) -> dict[str, Any]:
        """Read the job's event stream to its end (it ends after the terminal status)."""
        with http.stream("GET", f"/jobs/{job_id}/events", timeout=self.timeout_s) as response:
            response.raise_for_status()
            event = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line.partition(":")[2].strip()
                elif line.startswith("data:") and event == "status":
                    data = json.loads(line.partition(":")[2])
                    status = data.get("status") if isinstance(data, dict) else data
                    if status in TERMINAL:
                        break
        final = http.get(f"/status/{job_id}")
        final.raise_for_status()
        return dict(final.json())

    def long_poll(self, http: httpx.Client, job_id: str) -> dict[str, Any]:
        """``GET /status/{id}?wait=30`` until the job is terminal (one request, normally)."""
        deadline = time.perf_counter() + self.timeout_s
        while True:
            response = http.get(f"/status/{job_id}", params={"wait": 30}, timeout=40)
            response.raise_for_status()
            job: dict[str, Any] = response.json()
            if job["status"] in TERMINAL:
                return job
            if time.perf_counter() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {self.timeout_s} s")

    def wait(self, http: httpx.Client, job_id: str) -> dict[str, Any]:
        if self.args.latency_mode == "events":
            return self.follow_events(http, job_id)
        if self.args.latency_mode == "longpoll":
            return self.long_poll(http, job_id)
        return self.poll_until_terminal(
            http, job_id, self.args.poll_interval_ms / 1000, self.args.poll_duty
        )

    # -- phases ----------------------------------------------------------------------------

    def warm_up(self) -> dict[str, Any]:
        work_ms: list[float] = []
        done_bytes = 0
        with self.http() as http:
            for k in range(self.args.warmup):
                job_id = self.submit(http, WARMUP_SEED_BASE + k)
                check_job(self.poll_until_terminal(http, job_id, 0.002))
                done = http.get(f"/status/{job_id}")
                done_bytes = len(done.content)
                work_ms.append(sum(float(step["durationMs"]) for step in done.json()["steps"]))
        return {
            "warmupJobs": self.args.warmup,
            # the pipeline's own time, as the steps' durationMs add up (median job)
            "workMsPerJob": sorted(work_ms)[len(work_ms) // 2] if work_ms else None,
            "doneJobBytes": done_bytes,
        }

    def any_with_status(self, http: httpx.Client, status: str) -> bool:
        response = http.get("/jobs", params={"status": status, "limit": 1})
        response.raise_for_status()
        return bool(response.json()["jobs"])

    def throughput(self) -> dict[str, Any]:
        jobs = self.args.burst
        ids = [""] * jobs
        local = threading.local()

        def connect() -> None:
            local.http = self.http()
            local.http.get("/healthz")  # open the keep-alive connection before the clock starts

        def submit(index: int) -> None:
            ids[index] = self.submit(local.http, BURST_SEED_BASE + index)

        started, submitted = burst(submit, jobs, self.args.submitters, connect)
        with self.http() as http:
            finished, polls = self.wait_burst_over(http, submitted + self.timeout_s)
            failed = http.get("/jobs", params={"status": "failed", "limit": 100}).json()["jobs"]
            for job_id in [ids[0], ids[-1], *random.Random(1).sample(ids, min(8, jobs))]:
                check_job(http.get(f"/status/{job_id}").json())
        elapsed = finished - started
        return {
            "jobs": jobs,
            "failed": len(failed),
            "elapsedS": elapsed,
            "jobsPerS": (jobs - len(failed)) / elapsed,
            "submitS": submitted - started,
            "submitsPerS": jobs / (submitted - started),
            "completionPolls": polls,
        }

    def wait_burst_over(self, http: httpx.Client, deadline: float) -> tuple[float, int]:
        """When no job is queued and then none running: (that moment, requests made)."""
        polls = 0
        while True:
            polls += 1
            if self.any_with_status(http, "queued"):
                time.sleep(self.args.coarse_poll_ms / 1000)
            else:
                polls += 1
                if not self.any_with_status(http, "running"):
                    return time.perf_counter(), polls
                time.sleep(self.args.fine_poll_ms / 1000)
            if time.perf_counter() > deadline:
                raise TimeoutError(f"burst not finished after {self.timeout_s} s")

    def latency(self) -> dict[str, Any]:
        samples: list[float] = []
        stamped: list[float] = []
        failed = 0
        with self.http() as http:
            for k in range(self.args.latency_jobs):
                started_wall, started = time.time(), time.perf_counter()
                job = self.wait(http, self.submit(http, LATENCY_SEED_BASE + k))
                samples.append((time.perf_counter() - started) * 1000)
                done_at = datetime.fromisoformat(job["updatedAt"]).timestamp()
                stamped.append((done_at - started_wall) * 1000)
                failed += job["status"] != "done"
        return {"mode": self.args.latency_mode, "failed": failed, **latency_summary(samples),
                **stamped_summary(stamped)}


def check_job(job: dict[str, Any]) -> None:
    if job["status"] != "done" or len(job["steps"]) != STEPS:
        raise RuntimeError(
            f"job {job['id']} is {job['status']} with {len(job['steps'])} steps: {job.get('error')}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--latency-jobs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--submitters", type=int, default=4)
    parser.add_argument("--latency-mode", choices=("longpoll", "events", "poll"), default="longpoll")
    parser.add_argument("--poll-interval-ms", type=float, default=1.0)
    parser.add_argument("--poll-duty", type=float, default=0.2)
    parser.add_argument("--coarse-poll-ms", type=float, default=50.0)
    parser.add_argument("--fine-poll-ms", type=float, default=2.0)
    parser.add_argument("--timeout-s", type=float, default=300.0)
    client = LevelforgeClient(parser.parse_args())
    return serve_phases(
        client.warm_up, {"throughput": client.throughput, "latency": client.latency}
    )


if __name__ == "__main__":
    sys.exit(main())
