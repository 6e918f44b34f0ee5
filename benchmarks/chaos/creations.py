"""The campaign of issue 16: the Orchestrator SIGKILLed between a job's insert and its
queue message, by the fault point of ``levelforge.outbox`` (armed one kill at a time by a
fuse file that ``LEVELFORGE_FAULT_KILL_AFTER_INSERT`` names).

Each round arms the fuse and posts a job with an ``Idempotency-Key``; the Orchestrator dies
in the middle of that request and is started again; the client, which got no answer,
retries with the same key. On SQLite the killed transaction held the job and its message
together, so neither survived and the retry creates the job (``202``); on AWS the insert
stood and the message was never sent, so the retry replays the queued job (``200``) and
the requeuer sends it once it has been queued ``REQUEUE_AFTER_SECONDS``. Either way every
job must end ``done``, each step once, one job per key, none left queued. Each round waits
for its job (the seconds from the retry to ``done`` are a figure: on AWS about the grace
period, the requeuer's doing).
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from typing import Any

import httpx

from benchmarks.chaos.cluster import Cluster, check_run
from benchmarks.chaos.stats import summary

FAULT_VARIABLE = "LEVELFORGE_FAULT_KILL_AFTER_INSERT"
SPEC = {"width": 64, "height": 40, "rooms": 12}
#: REQUEUE_AFTER_SECONDS of the campaign: the grace period a stranded job waits
GRACE_SECONDS = 3.0


def every_job(client: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = client.get("/jobs", params=params).json()
        found += page["jobs"]
        if not page.get("nextCursor"):
            return found
        params["cursor"] = page["nextCursor"]


def create(cluster: Cluster, n: int) -> httpx.Response:
    """Round ``n``'s job, with the round's own Idempotency-Key."""
    headers = {"Idempotency-Key": f"chaos-create-{n}"}
    return cluster.client.post("/jobs", json={**SPEC, "seed": n}, headers=headers)


def creation_kills(cluster: Cluster, rounds: int, grace: float = GRACE_SECONDS) -> dict[str, Any]:
    fuse = cluster.tmp / "fault-fuse"
    cluster.env.update({FAULT_VARIABLE: str(fuse), "REQUEUE_AFTER_SECONDS": str(grace)})
    cluster.start_orchestrator()
    workers = [cluster.start_worker(proxied=False) for _ in range(2)]
    job_ids: list[str] = []
    records = []
    for n in range(rounds):
        fuse.touch()
        first: int | str
        try:
            first = create(cluster, n).status_code
        except httpx.TransportError as exc:
            first = type(exc).__name__
        assert cluster.orchestrator is not None
        exit_code = cluster.orchestrator.wait(30)
        cluster.start_orchestrator()
        retried_at = time.monotonic()
        retry = create(cluster, n)
        job_ids.append(retry.json()["id"])
        # each round's job is awaited: the next kill must not land in a worker's report
        done = cluster.wait_terminal(job_ids[-1:], grace * 4 + 30)
        records.append({"round": n, "firstAnswer": first, "killedBySigkill": exit_code == -signal.SIGKILL,
                        "retryStatus": retry.status_code, "jobId": job_ids[-1],
                        "status": done.get(job_ids[-1], {}).get("status"),
                        "doneSecondsAfterRetry": round(time.monotonic() - retried_at, 3)})
    jobs = cluster.wait_terminal(job_ids, grace * 4 + 60)
    checks = [check_run(job) for job in jobs.values()]
    stored = every_job(cluster.client)
    # the same key once more: each gives back its one job
    replays = [create(cluster, n) for n in range(rounds)]
    done_after = [r["doneSecondsAfterRetry"] for r in records if r["status"] == "done"]
    return {
        "rounds": rounds,
        "graceSeconds": grace,
        "killsReached": sum(r["killedBySigkill"] for r in records),
        "roundsNotKilled": sum(not r["killedBySigkill"] for r in records),
        "retryAnswers": dict(Counter(str(r["retryStatus"]) for r in records)),
        "jobs": len(job_ids),
        "jobsDone": sum(c["status"] == "done" for c in checks),
        "jobsNotDone": sum(c["status"] != "done" for c in checks),
        "jobsLeftQueued": sum(c["status"] == "queued" for c in checks),
        "duplicatedStepIds": sum(c["duplicates"] for c in checks),
        "incompleteRuns": sum(not c["complete_run"] for c in checks if c["status"] == "done"),
        "jobsStored": len(stored),
        "extraJobs": len(stored) - len(set(job_ids)),
        "replaysOfAnotherJob": sum(r.json().get("id") != j for r, j in zip(replays, job_ids, strict=True)),
        "workersAlive": sum(w.process.poll() is None for w in workers),
        "rounds_detail": records,
        "doneSecondsAfterRetry": summary(done_after),
    }
