"""The levelforge client of ``bench_jobs.py``: run in its own process, talks HTTP only.

HTTP goes through ``--http-client``: urllib3 (the default; the HTTP layer of requests and
botocore) or httpx; the ``latencyHttpx`` phase measures the latency again on httpx, for the
report to show both (see ``Urllib3Http``).

throughput: ``--submitters`` threads, each with its own keep-alive connection, share
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

Jobs are parsed with orjson (a dependency of levelforge; ``levelforge.client`` parses with
pydantic's compiled parser): the done job is ~40 kB with its four artifacts inline, and
the standard library's ``json`` takes ~3x as long over it.

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
from urllib.parse import urlencode

import httpx
import orjson
import urllib3
from _bench_common import burst, latency_summary, level_spec, serve_phases, stamped_summary

JSON_HEADERS = {"Content-Type": "application/json"}
TERMINAL = frozenset({"done", "failed"})
STEPS = 10
WARMUP_SEED_BASE, BURST_SEED_BASE, LATENCY_SEED_BASE = 10_000, 1_000_000, 2_000_000


class Answer:
    """What the client reads of an answer, on either HTTP library."""

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    def json(self) -> Any:
        return orjson.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.content[:300]!r}")


class Urllib3Http:
    """One keep-alive connection through urllib3 (the HTTP layer of requests and botocore),
    with the few methods of ``httpx.Client`` this client uses. On this machine httpx spends
    ~300 µs more of the client's own CPU per request (its URL, header, cookie and
    transport layers), which a one-job-in-flight latency would count as the service's."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib3.util.parse_url(url)
        self.pool = urllib3.HTTPConnectionPool(
            parts.host, parts.port, maxsize=1, timeout=urllib3.Timeout(timeout), retries=False
        )

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json: Any = None, timeout: float | None = None) -> Answer:
        if params:
            path = f"{path}?{urlencode(params)}"
        body = None if json is None else orjson.dumps(json)
        answer = self.pool.request(
            method, path, body=body, headers=JSON_HEADERS if body is not None else None,
            timeout=None if timeout is None else urllib3.Timeout(timeout),
        )
        return Answer(answer.status, answer.data)

    def get(self, path: str, *, params: dict[str, Any] | None = None, timeout: float | None = None) -> Answer:
        return self.request("GET", path, params=params, timeout=timeout)

    def post(self, path: str, *, json: Any = None) -> Answer:
        return self.request("POST", path, json=json)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> Urllib3Http:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


Http = httpx.Client | Urllib3Http


class LevelforgeClient:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.timeout_s = args.timeout_s

    def http(self, library: str | None = None) -> Http:
        """A keep-alive connection on ``--http-client`` (or ``library``); the events mode
        reads a stream, which only the httpx client here does."""
        library = library or self.args.http_client
        if library == "httpx" or self.args.latency_mode == "events":
            return httpx.Client(base_url=self.args.url, timeout=30.0)
        return Urllib3Http(self.args.url, 30.0)

    def submit(self, http: Http, seed: int) -> str:
        response = http.post("/jobs", json=level_spec(seed))
        if response.status_code != 202:
            raise RuntimeError(f"POST /jobs answered {response.status_code}: {response.text[:300]}")
        return str(orjson.loads(response.content)["id"])

    def poll_until_terminal(self, http: Http, job_id: str, interval_s: float,
                            duty: float = 1.0) -> dict[str, Any]:
        """GET the job until it is terminal, sleeping ``interval_s`` between answers, or
        longer when answers are slow: polls then keep the server busy at most ``duty`` of
        the time (a poll that took 2 ms is followed by 8 ms of quiet at duty 0.2)."""
        deadline = time.perf_counter() + self.timeout_s
        while True:
            asked = time.perf_counter()
            response = http.get(f"/status/{job_id}")
            response.raise_for_status()
            job: dict[str, Any] = orjson.loads(response.content)
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
        return dict(orjson.loads(final.content))

    def long_poll(self, http: Http, job_id: str) -> dict[str, Any]:
        """``GET /status/{id}?wait=30`` until the job is terminal (one request, normally)."""
        deadline = time.perf_counter() + self.timeout_s
        while True:
            response = http.get(f"/status/{job_id}", params={"wait": 30}, timeout=40)
            response.raise_for_status()
            job: dict[str, Any] = orjson.loads(response.content)
            if job["status"] in TERMINAL:
                return job
            if time.perf_counter() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {self.timeout_s} s")

    def wait(self, http: Http, job_id: str) -> dict[str, Any]:
        if self.args.latency_mode == "events":
            assert isinstance(http, httpx.Client)
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

    def any_with_status(self, http: Http, status: str) -> bool:
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

    def wait_burst_over(self, http: Http, deadline: float) -> tuple[float, int]:
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

    def latency(self, library: str | None = None) -> dict[str, Any]:
        samples: list[float] = []
        stamped: list[float] = []
        failed = 0
        with self.http(library) as http:
            for k in range(self.args.latency_jobs):
                started_wall, started = time.time(), time.perf_counter()
                job = self.wait(http, self.submit(http, LATENCY_SEED_BASE + k))
                samples.append((time.perf_counter() - started) * 1000)
                done_at = datetime.fromisoformat(job["updatedAt"]).timestamp()
                stamped.append((done_at - started_wall) * 1000)
                failed += job["status"] != "done"
        return {"mode": self.args.latency_mode, "httpClient": library or self.args.http_client,
                "failed": failed, **latency_summary(samples),
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
    parser.add_argument("--http-client", choices=("urllib3", "httpx"), default="urllib3")
    parser.add_argument("--poll-interval-ms", type=float, default=1.0)
    parser.add_argument("--poll-duty", type=float, default=0.2)
    parser.add_argument("--coarse-poll-ms", type=float, default=50.0)
    parser.add_argument("--fine-poll-ms", type=float, default=2.0)
    parser.add_argument("--timeout-s", type=float, default=300.0)
    client = LevelforgeClient(parser.parse_args())
    return serve_phases(
        client.warm_up,
        {"throughput": client.throughput, "latency": client.latency,
         "latencyHttpx": lambda: client.latency("httpx")},
    )


if __name__ == "__main__":
    sys.exit(main())
