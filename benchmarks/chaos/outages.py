"""Campaigns where a server goes away: the Orchestrator killed and restarted on its port,
and the job store unreachable for a while (SQLite: an exclusive lock held by another
connection; AWS: ministack stopped and started again on its port)."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter
from typing import Any

import httpx

from benchmarks.chaos.cluster import Cluster, check_run
from benchmarks.chaos.faults import BIG_SPEC, of_job, wait_for
from benchmarks.chaos.stats import summary

BATCH = 6


def finished_figures(jobs: dict[str, dict[str, Any]], expected: list[str]) -> dict[str, Any]:
    checks = [check_run(job) for job in jobs.values()]
    return {
        "jobs": len(expected),
        "jobsMissing": len(set(expected) - set(jobs)),
        "jobsDone": sum(c["status"] == "done" for c in checks),
        "jobsFailed": dict(Counter(c["error"] for c in checks if c["status"] == "failed")),
        "jobsLeftRunning": sum(c["status"] == "running" for c in checks),
        "jobsLeftQueued": sum(c["status"] == "queued" for c in checks),
        "duplicatedStepIds": sum(c["duplicates"] for c in checks),
        "incompleteRuns": sum(not c["complete_run"] for c in checks if c["status"] == "done"),
    }


def orchestrator_restarts(
    cluster: Cluster, rounds: int, rng: random.Random, batch_size: int = BATCH,
    down: tuple[float, float] = (0.5, 3.0),
) -> dict[str, Any]:
    """Each round: ``batch_size`` jobs, the Orchestrator SIGKILLed while the workers are
    busy with them, down for a random time in ``down``, started again on its port."""
    cluster.start_orchestrator()
    workers = [cluster.start_worker(delay=0.02) for _ in range(2)]
    job_ids: list[str] = []
    records = []
    for n in range(rounds):
        batch = [cluster.submit({**BIG_SPEC, "seed": rng.randrange(2**40)}) for _ in range(batch_size)]
        job_ids += batch
        wait_for(lambda b=batch: any(w.proxy.log.find(of_job(j)) for w in workers for j in b), 20)
        time.sleep(rng.uniform(0, 0.6))
        cluster.kill_orchestrator()
        killed_at = time.monotonic()
        time.sleep(rng.uniform(*down))
        cluster.start_orchestrator()
        back_at = time.monotonic()
        jobs = cluster.wait_terminal(batch, 60 + cluster.visibility_timeout)
        refused = [e for w in workers for e in w.proxy.log.between(killed_at, back_at)]
        records.append({
            "round": n, "downSeconds": round(back_at - killed_at, 2),
            "finishSecondsAfterRestart": round(time.monotonic() - back_at, 2),
            "workerRequestsWhileDown": len(refused),
            "workersAliveAfter": sum(w.process.poll() is None for w in workers),
            **finished_figures(jobs, batch),
        })
    final = cluster.wait_terminal(job_ids, 10)
    return {
        "rounds": rounds, **finished_figures(final, job_ids),
        "downSeconds": summary([r["downSeconds"] for r in records]),
        "finishSecondsAfterRestart": summary([r["finishSecondsAfterRestart"] for r in records]),
        "workersDied": len(workers) - records[-1]["workersAliveAfter"] if records else 0,
        "workerRequestsPerSecondWhileDown": summary(
            [r["workerRequestsWhileDown"] / r["downSeconds"] / len(workers) for r in records]),
        "rounds_detail": records,
    }


class Prober(threading.Thread):
    """Asks the API every ``every`` seconds (create, status, health) and records each answer."""

    def __init__(self, cluster: Cluster, job_id: str, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.cluster, self.job_id, self.every = cluster, job_id, every
        self.answers: list[dict[str, Any]] = []
        self.created: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        asking: list[threading.Thread] = []
        with httpx.Client(base_url=self.cluster.url, timeout=30.0) as client:
            while not self.halt.is_set():
                for method, path, body in (
                    ("POST", "/jobs", {**BIG_SPEC, "seed": 7}), ("GET", f"/status/{self.job_id}", None),
                    ("GET", "/healthz", None),
                ):
                    asking.append(threading.Thread(
                        target=self.ask, args=(client, method, path, body), daemon=True))
                    asking[-1].start()
                self.halt.wait(self.every)
            for thread in asking:
                thread.join(35)

    def ask(self, client: httpx.Client, method: str, path: str, body: Any) -> None:
        sent = time.monotonic()
        try:
            response = client.request(method, path, json=body)
            status, text = response.status_code, response.text[:200]
            retry_after = response.headers.get("retry-after")
            if method == "POST" and status == 202:
                self.created.append(response.json()["id"])
        except httpx.HTTPError as exc:
            status, text, retry_after = 0, repr(exc)[:200], None
        self.answers.append({"method": method, "path": path.split("/")[1], "sent": sent,
                             "seconds": round(time.monotonic() - sent, 3), "status": status,
                             "retryAfter": retry_after, "body": text})


def hold_sqlite_lock(cluster: Cluster, seconds: float) -> None:
    connection = sqlite3.connect(cluster.database, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def store_outage(
    cluster: Cluster, rounds: int, rng: random.Random, seconds: float = 10.0, batch_size: int = BATCH,
    worker_delay: float = 0.1,
) -> dict[str, Any]:
    """Each round: ``batch_size`` jobs in flight, then the store unreachable for ``seconds``
    (every other round 1.5 times that) while a prober asks the API twice a second."""
    cluster.start_orchestrator()
    workers = [cluster.start_worker(delay=worker_delay) for _ in range(2)]
    job_ids: list[str] = []
    records = []
    for n in range(rounds):
        # every other round is longer (1.5x): an outage of a different length, past the
        # 10 s busy timeout SQLite writes had before they gave up after 2 s
        length = seconds if n % 2 == 0 else seconds * 1.5
        batch = [cluster.submit({**BIG_SPEC, "seed": rng.randrange(2**40)}) for _ in range(batch_size)]
        job_ids += batch
        # start while a step's reply is on its way to a worker: its next move is the
        # heartbeat (extend visibility) or the next step, both needing the store
        wait_for(lambda: any(e.answered and not e.delivered and e.path.endswith("/step")
                             for w in workers for e in w.proxy.log.exchanges[-3:]), 20, every=0.001)
        prober = Prober(cluster, batch[0])
        started = time.monotonic()
        prober.start()
        if cluster.backend == "sqlite":
            hold_sqlite_lock(cluster, length)
        else:
            assert cluster.ministack is not None
            cluster.ministack.stop()
            time.sleep(length)
            cluster.ministack.start()
        ended = time.monotonic()
        prober.halt.set()
        prober.join()
        time.sleep(0.3)  # answers of requests sent just before the end
        during = [a for a in prober.answers if started <= a["sent"] < ended]
        worker_requests = [e for w in workers for e in w.proxy.log.between(started, ended)]
        aws_requests = [e for w in workers if w.aws_proxy for e in w.aws_proxy.log.between(started, ended)]
        jobs = cluster.wait_terminal(batch + prober.created, 60 + cluster.visibility_timeout)
        records.append({
            "round": n, "outageSeconds": round(ended - started, 2),
            "apiAnswers": dict(Counter(f"{a['method']} /{a['path']} {a['status']}" for a in during)),
            "api500s": sum(a["status"] >= 500 and a["status"] != 503 for a in during),
            "api503WithoutRetryAfter": sum(a["status"] == 503 and not a["retryAfter"] for a in during),
            "apiSecondsP99": summary([a["seconds"] for a in during]).get("p99"),
            "apiSecondsMax": max((a["seconds"] for a in during), default=None),
            "sample503Body": next((a["body"] for a in during if a["status"] == 503), None),
            "apiNoAnswer": sum(a["status"] == 0 for a in during),
            "sampleNoAnswer": next((a["body"] for a in during if a["status"] == 0), None),
            "workerRequestsToOrchestratorPerSecond":
                round(len(worker_requests) / (ended - started) / len(workers), 2),
            "workerRequestsToAwsPerSecond": round(len(aws_requests) / (ended - started) / len(workers), 2)
            if cluster.ministack else None,
            "workerAnswers": dict(Counter(str(e.status) for e in worker_requests)),
            **finished_figures(jobs, batch + prober.created),
            "probeJobsCreated": len(prober.created),
            "workersAliveAfter": sum(w.process.poll() is None for w in workers),
            "workerExitCodes": [w.process.poll() for w in workers],
        })
    final = cluster.wait_terminal(job_ids, 10)
    return {"rounds": rounds, **finished_figures(final, job_ids),
            "api500s": sum(r["api500s"] for r in records),
            "apiNoAnswer": sum(r["apiNoAnswer"] for r in records),
            "workersDied": len(workers) - records[-1]["workersAliveAfter"] if records else 0,
            "api503WithoutRetryAfter": sum(r["api503WithoutRetryAfter"] for r in records),
            "rounds_detail": records}
