"""Campaigns with a fault in a worker: SIGKILL at a chosen point of a job, and SIGSTOP
past the visibility timeout followed by SIGCONT.

One worker is alive at a time, so the worker holding the job is known; its proxy says what
it was doing at the moment of the fault. A replacement is started right after the fault,
and becomes the worker of the next round.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from typing import Any

from benchmarks.chaos.cluster import PIPELINE, Cluster, WorkerProcess, changed_fields, check_run, stored
from benchmarks.chaos.proxy import Exchange, ProxyLog
from benchmarks.chaos.stats import summary

#: big enough for ten distinct phases; the worker's proxy delay stretches each HTTP phase
BIG_SPEC = {"width": 200, "height": 200, "rooms": 150}
KILL_POINTS = ("inside_step", "during_step_post", "between_posts", "during_complete", "after_complete")
WORKER_DELAY = 0.05


def of_job(job_id: str) -> Any:
    return lambda e: f"/internal/jobs/{job_id}/" in e.path


def wait_for(check: Any, timeout: float, every: float = 0.002) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    return None


def step_request(log: ProxyLog, job_id: str, name: str) -> Exchange | None:
    found = log.find(lambda e: e.path == f"/internal/jobs/{job_id}/step" and e.method == "POST")
    # steps go in order: the k-th request of this job is step k (first delivery)
    index = PIPELINE.index(name)
    return found[index] if len(found) > index else None


def aim(  # noqa: PLR0911 (one return per kill point)
    cluster: Cluster, worker: WorkerProcess, job_id: str, point: str, rng: random.Random
) -> bool:
    """Wait for the moment of ``point`` in this job's run; False if it never came."""
    log = worker.proxy.log
    if point == "inside_step":
        # a step's compute runs between the previous step's reply and its own post: kill a
        # few milliseconds after a reply came back (the proxy says afterwards where it landed)
        name = PIPELINE[rng.randrange(len(PIPELINE) - 1)]
        exchange = wait_for(lambda: step_request(log, job_id, name), 20)
        if not exchange or not wait_for(lambda: exchange.delivered, 5, every=0.0005):
            return False
        time.sleep(rng.uniform(0, 0.004))
        return True
    if point in ("during_step_post", "between_posts"):
        name = PIPELINE[rng.randrange(len(PIPELINE) - (point == "between_posts"))]
        exchange = wait_for(lambda: step_request(log, job_id, name), 20)
        if not exchange:
            return False
        if point == "between_posts":
            return bool(wait_for(lambda: exchange.delivered, 5, every=0.0005))
        time.sleep(rng.uniform(0, WORKER_DELAY))
        return True
    if point == "during_complete":
        done = wait_for(lambda: log.find(lambda e: e.path.endswith(f"/{job_id}/complete")), 20)
        time.sleep(rng.uniform(0, WORKER_DELAY * 1.5))
        return bool(done)
    # after_complete: the job is done (the reply may still be on its way): before the ack
    return bool(wait_for(lambda: cluster.job(job_id)["status"] == "done", 20, every=0.001))


def landed(log: ProxyLog, job_id: str, status_at_kill: str) -> str:
    """Where the kill really landed, from what the worker had sent and received."""
    mine = log.find(of_job(job_id))
    if not mine:
        return "before_first_step"
    last = mine[-1]
    kind = "complete" if last.path.endswith("/complete") else "step"
    if last.delivered is None:
        if kind == "complete":
            return "complete_committed_reply_pending" if status_at_kill == "done" else "during_complete"
        return "during_step_post"
    if kind == "complete":
        return "after_complete_reply"
    return "after_step_reply_before_next_post" if len(mine) < len(PIPELINE) else "after_last_step_reply"


def worker_kills(
    cluster: Cluster, rounds: int, rng: random.Random, points: tuple[str, ...] = KILL_POINTS
) -> dict[str, Any]:
    """Each round: a job, its worker SIGKILLed at one of ``points`` (in turn), a
    replacement started; then the invariants over every job."""
    cluster.start_orchestrator()
    worker = cluster.start_worker(delay=WORKER_DELAY)
    records: list[dict[str, Any]] = []
    job_ids: list[str] = []
    snapshots: dict[str, dict[str, Any]] = {}
    for n in range(rounds):
        point = points[n % len(points)]
        job_id = cluster.submit({**BIG_SPEC, "seed": rng.randrange(2**40)})
        job_ids.append(job_id)
        hit = aim(cluster, worker, job_id, point, rng)
        worker.kill()
        killed_at = time.monotonic()
        status = cluster.job(job_id)["status"]
        where = landed(worker.proxy.log, job_id, status) if hit else "missed"
        if status == "done":
            snapshots[job_id] = cluster.job(job_id)
        worker = cluster.start_worker(delay=WORKER_DELAY)
        final = cluster.wait_terminal([job_id], cluster.visibility_timeout + 40)[job_id]
        done_at = time.monotonic()
        # the message comes back unless the dead worker had acknowledged it: the
        # replacement's first answer for this job (a 409 when the job was done already)
        again = wait_for(lambda w=worker, j=job_id: [e for e in w.proxy.log.find(of_job(j)) if e.status],
                         cluster.visibility_timeout + 3 if final["status"] == "done" else 0.001)
        records.append({
            "round": n, "aimed": point, "landed": where, "statusAtKill": status,
            "redelivered": bool(again),
            "recoverySeconds": round(again[0].sent - killed_at, 3) if again else None,
            "killToDoneSeconds": None if status == "done" else round(done_at - killed_at, 3),
            "redeliveryAnswers": sorted({e.status for e in again or []}),
            **check_run(final),
        })
    time.sleep(1.0)  # let any late redelivery land before the final look
    final_jobs = cluster.wait_terminal(job_ids, 10)
    changed = [j for j, before in snapshots.items() if stored(final_jobs[j]) != stored(before)]
    return figures_of_kills(records, final_jobs, changed, cluster.visibility_timeout)


def figures_of_kills(
    records: list[dict[str, Any]], final_jobs: dict[str, dict[str, Any]], changed: list[str],
    visibility: float,
) -> dict[str, Any]:
    checks = [check_run(job) for job in final_jobs.values()]
    recoveries = [r["recoverySeconds"] for r in records if r["recoverySeconds"] is not None]
    return {
        "rounds": len(records),
        "jobsLost": sum(c["status"] != "done" for c in checks if c["status"] != "running"),
        "jobsNotDone": sum(c["status"] != "done" for c in checks),
        "duplicatedStepIds": sum(c["duplicates"] for c in checks),
        "incompleteRuns": sum(not c["complete_run"] for c in checks if c["status"] == "done"),
        "jobsLeftRunning": sum(c["status"] == "running" for c in checks),
        "terminalJobsChanged": len(changed),
        "killPoints": dict(Counter(r["landed"] for r in records)),
        "redelivered": sum(r["redelivered"] for r in records),
        "redeliveryAnswersWhenDoneAtKill": sorted({s for r in records if r["statusAtKill"] == "done"
                                                   for s in r["redeliveryAnswers"]}),
        "recoverySeconds": summary(recoveries),
        "killToDoneSeconds": summary([r["killToDoneSeconds"] for r in records if r["killToDoneSeconds"]]),
        "visibilityTimeoutSeconds": visibility,
        "recoveryWithinVisibilityTimeout": sum(r <= visibility + 1.0 for r in recoveries),
        "rounds_detail": records,
    }


def worker_stalls(cluster: Cluster, rounds: int, rng: random.Random) -> dict[str, Any]:
    cluster.start_orchestrator()
    worker = cluster.start_worker(delay=WORKER_DELAY)
    records = []
    for n in range(rounds):
        job_id = cluster.submit({**BIG_SPEC, "seed": rng.randrange(2**40)})
        stall_after = rng.choice((*PIPELINE[:-1], "complete"))
        if stall_after == "complete":
            aim(cluster, worker, job_id, "during_complete", rng)
        else:
            wait_for(lambda w=worker, j=job_id, s=stall_after: step_request(w.proxy.log, j, s), 20)
        worker.signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        rescuer = cluster.start_worker(delay=WORKER_DELAY)
        cluster.wait_terminal([job_id], cluster.visibility_timeout + 40)
        time.sleep(max(0.0, stopped_at + cluster.visibility_timeout + 0.5 - time.monotonic()))
        before = cluster.job(job_id)
        metrics_before = metric_counts(cluster)
        resumed_at = time.monotonic()
        worker.signal(signal.SIGCONT)
        # the stale worker goes on with its job until the Orchestrator says it is terminal
        wait_for(lambda w=worker, t=resumed_at, j=job_id: [
            e for e in w.proxy.log.find(of_job(j)) if e.sent >= t and e.status == 409], 15, every=0.02)
        time.sleep(0.5)
        after = cluster.job(job_id)
        stale_alive = worker.process.poll() is None
        metrics_after = metric_counts(cluster)
        stale = [e for e in worker.proxy.log.find(of_job(job_id)) if e.sent >= resumed_at]
        records.append({
            "round": n, "stalledAfter": stall_after, "stalledSeconds": round(resumed_at - stopped_at, 2),
            "statusBeforeResume": before["status"],
            "staleRequests": len(stale),
            "staleAnswers": dict(Counter(str(e.status) for e in stale)),
            "staleWritesAccepted": stale_writes(stale, metrics_before, metrics_after),
            "jobChangedByStaleWorker": stored(after) != stored(before),
            "changedFields": changed_fields(before, after),
            "staleWorkerAliveAfter": stale_alive,
            **check_run(after),
        })
        worker.kill()
        worker = rescuer
    return {
        "rounds": len(records),
        "staleWritesAccepted": sum(r["staleWritesAccepted"] for r in records),
        "jobsChangedByStaleWorker": sum(r["jobChangedByStaleWorker"] for r in records),
        "duplicatedStepIds": sum(r["duplicates"] for r in records),
        "jobsNotDone": sum(r["status"] != "done" for r in records),
        "incompleteRuns": sum(not r["complete_run"] for r in records),
        "staleWorkerAnswers": dict(sum((Counter(r["staleAnswers"]) for r in records), Counter())),
        "roundsWithStaleRequests": sum(r["staleRequests"] > 0 for r in records),
        "staleWorkersDied": sum(not r["staleWorkerAliveAfter"] for r in records),
        "roundsWhereStaleWorkerWasRefused": sum("409" in r["staleAnswers"] for r in records),
        "rounds_detail": records,
    }


def stale_writes(stale: list[Exchange], before: dict[str, float], after: dict[str, float]) -> int:
    """Terminal writes the stale worker got through, plus steps recorded meanwhile (it was
    the only one posting)."""
    finished = sum(e.status == 200 and e.path.endswith(("/complete", "/fail")) for e in stale)
    counter = "levelforge_steps_recorded_total"
    recorded = after.get(counter, 0) - before.get(counter, 0)
    return finished + max(0, int(recorded))


def metric_counts(cluster: Cluster) -> dict[str, float]:
    text = cluster.client.get("/metrics").text
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line.split(" ")[0]:
            name, _, value = line.partition(" ")
            try:
                counts[name] = float(value)
            except ValueError:
                continue
    return counts
