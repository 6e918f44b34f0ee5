"""What a retention sweep costs the clients: the latency of ``POST /jobs`` while the
sweeper deletes thousands of expired jobs, against the same load on the same kind of file
with nothing to delete (issue 16).

Each run seeds a fresh SQLite file with ``--jobs`` finished jobs of ~40 KB (a job with its
inline artifacts) that ended long ago, starts a real ``levelforge orchestrator`` on it, and
posts jobs at ``--rate`` a second from 4 threads for ``--seconds``. In the "sweep" runs
``JOB_RETENTION_DAYS`` is 0.0001, so every seeded job has expired and the sweeper starts
within a second and runs through the whole load; in the "baseline" runs it is 30 days
(nothing to delete). Runs alternate; the figures are the medians over the runs.

    python benchmarks/bench_retention.py [--jobs 4000] [--rate 100] [--seconds 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.chaos.stats import percentile  # noqa: E402
from levelforge import jobs  # noqa: E402
from levelforge.jobs import JobStatus  # noqa: E402
from levelforge.stores.retention import KEEP_FREE_PAGES, VACUUM_PAGES  # noqa: E402
from levelforge.stores.sqlite import SqliteJobStore  # noqa: E402
from tests.e2e.processes import environment, free_port, levelforge, wait_healthy  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
LONG_AGO = "2020-01-01T00:00:00.000Z"
KEPT_FREE_PAGES = KEEP_FREE_PAGES + VACUUM_PAGES
RESULT = {"summary": {"rooms": 12}, "asciiMinimap": "#." * 20_000}


def seed(path: Path, count: int) -> None:
    store = SqliteJobStore(path)
    try:
        for _ in range(count):
            job_id = store.insert(jobs.new_job({"seed": 1})).job.id
            store.transition(job_id, to=JobStatus.DONE, allowed_from=jobs.FINISH_ALLOWED_FROM,
                             now=LONG_AGO, result=RESULT)
    finally:
        store.close()


def count_jobs(path: Path) -> tuple[int, int]:
    """The finished jobs left, and the file's free pages."""
    with sqlite3.connect(path, timeout=10) as connection:
        done = connection.execute("SELECT count(*) FROM jobs WHERE status = 'done'").fetchone()[0]
        free = connection.execute("PRAGMA freelist_count").fetchone()[0]
    return int(done), int(free)


def run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-retention-{kind}-"))
    database = tmp / "levelforge.db"
    seed(database, args.jobs)
    size_before = database.stat().st_size
    retention = "0.0001" if kind == "sweep" else "30"
    port = free_port()
    process = levelforge("orchestrator", "--port", str(port), log=tmp / "orchestrator.log",
                         env=environment(database, JOB_RETENTION_DAYS=retention, LOG_LEVEL="WARNING"))
    url = f"http://127.0.0.1:{port}"
    latencies: list[tuple[float, float]] = []
    remaining: list[tuple[float, int, int]] = []
    lock = threading.Lock()
    try:
        wait_healthy(url, process, timeout=30)
        local = threading.local()

        def post(n: int) -> None:
            client = getattr(local, "client", None) or httpx.Client(base_url=url, timeout=30)
            local.client = client
            sent = time.monotonic()
            response = client.post("/jobs", json={"seed": n})
            if response.status_code == 202:
                with lock:
                    latencies.append((sent, time.monotonic() - sent))

        def watch(halt: threading.Event) -> None:
            while not halt.wait(0.1):
                remaining.append((time.monotonic(), *count_jobs(database)))

        halt = threading.Event()
        watcher = threading.Thread(target=watch, args=(halt,), daemon=True)
        started = time.monotonic()
        watcher.start()
        with ThreadPoolExecutor(4) as pool:
            for n in range(int(args.rate * args.seconds)):
                due = started + n / args.rate
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                pool.submit(post, n)
        halt.set()
        watcher.join()
    finally:
        process.kill()
        process.wait()
    # the sweep: from the first job deleted until every one is and the pages are given back
    swept = [t for t, left, _free in remaining if left < args.jobs]
    sweep_from = swept[0] if swept else None
    sweep_to = next((t for t, left, free in remaining if left == 0 and free <= KEPT_FREE_PAGES), None)
    during = [s for t, s in latencies if sweep_from is not None and sweep_from <= t <= (sweep_to or t)]
    measured = during if kind == "sweep" else [s for _t, s in latencies]
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size_after = database.stat().st_size
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "kind": kind, "posts": len(latencies), "postsMeasured": len(measured),
        "sweepSeconds": round(sweep_to - sweep_from, 2) if sweep_from and sweep_to else None,
        "jobsLeft": remaining[-1][1] if remaining else None,
        "freePagesLeft": remaining[-1][2] if remaining else None,
        "p50Ms": round(percentile(measured, 0.5) * 1000, 2),
        "p99Ms": round(percentile(measured, 0.99) * 1000, 2),
        "maxMs": round(max(measured) * 1000, 2) if measured else None,
        "fileMBBefore": round(size_before / 1e6, 1), "fileMBAfter": round(size_after / 1e6, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for n in range(args.runs):
        for kind in ("baseline", "sweep") if n % 2 == 0 else ("sweep", "baseline"):
            runs.append(run(kind, args))
            print(json.dumps(runs[-1]), flush=True)
    summary = {
        kind: {key: statistics.median(r[key] for r in runs if r["kind"] == kind and r[key] is not None)
               for key in ("p50Ms", "p99Ms", "maxMs", "fileMBBefore", "fileMBAfter")}
        for kind in ("baseline", "sweep")
    }
    summary["sweep"]["sweepSeconds"] = statistics.median(
        r["sweepSeconds"] for r in runs if r["kind"] == "sweep" and r["sweepSeconds"] is not None)
    report = {"at": datetime.now(UTC).isoformat(), "args": vars(args), "runs": runs, "summary": summary}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"retention-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(summary, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
