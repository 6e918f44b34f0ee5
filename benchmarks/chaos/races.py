"""Races at scale: rounds of concurrent posters (steps with the same and different
stepIds, mixed with complete, fail and cancel) on one job, through the HTTP API."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from benchmarks.chaos.cluster import Cluster, stored
from tests.e2e.processes import TOKEN

POSTERS = 32
STEP_NAMES = ("plan_layout", "carve_rooms", "connect_rooms", "place_doors", "place_keys", "place_enemies")
STAMP = "2026-01-01T00:00:00.000Z"


def step_body(job_id: str, name: str) -> dict[str, Any]:
    return {"stepId": f"{job_id}:{name}", "name": name, "startedAt": STAMP, "endedAt": STAMP,
            "durationMs": 1, "summary": f"race {name}", "status": "ok"}


def action(job_id: str, kind: str, name: str) -> tuple[str, str, dict[str, Any] | None]:
    if kind == "step":
        return "POST", f"/internal/jobs/{job_id}/step", step_body(job_id, name)
    if kind == "complete":
        return "POST", f"/internal/jobs/{job_id}/complete", {"result": {"summary": {"by": name}}}
    if kind == "fail":
        return "POST", f"/internal/jobs/{job_id}/fail", {"error": {"message": f"race {name}", "code": "race"}}
    return "POST", f"/jobs/{job_id}/cancel", None


def plan(rng: random.Random) -> list[tuple[str, str, float]]:
    """32 moves: 24 steps over 6 names (so both same and different stepIds), 3 complete,
    3 fail, 2 cancel. After the common start, a step waits 0-6 ms and a terminal write 2-12
    ms, so that steps race each other and land before, between and after the terminal
    writes."""
    kinds = ["step"] * 24 + ["complete"] * 3 + ["fail"] * 3 + ["cancel"] * 2
    rng.shuffle(kinds)
    return [
        (kind, rng.choice(STEP_NAMES), rng.uniform(0, 0.006)) if kind == "step"
        else (kind, f"p{n}", rng.uniform(0.002, 0.012))
        for n, kind in enumerate(kinds)
    ]


class Posters:
    """32 threads, each with its own keep-alive client, released together by a barrier."""

    def __init__(self, url: str) -> None:
        self.local = threading.local()
        self.url = url
        self.clients: list[httpx.Client] = []
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(POSTERS)

    def client(self) -> httpx.Client:
        client = getattr(self.local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.url, timeout=30.0, headers={"X-INTERNAL-TOKEN": TOKEN})
            self.local.client = client
            with self.lock:
                self.clients.append(client)
        return client

    def run(self, job_id: str, moves: list[tuple[str, str, float]]) -> list[dict[str, Any]]:
        barrier = threading.Barrier(len(moves))

        def post(move: tuple[str, str, float]) -> dict[str, Any]:
            kind, name, pause = move
            method, path, body = action(job_id, kind, name)
            client = self.client()
            barrier.wait(10)
            time.sleep(pause)
            try:
                response = client.request(method, path, json=body)
            except httpx.HTTPError as exc:
                return {"kind": kind, "name": name, "status": 0, "body": type(exc).__name__}
            try:
                answer = response.json()
            except ValueError:
                answer = {"raw": response.text[:200]}
            return {"kind": kind, "name": name, "status": response.status_code, "body": answer}

        return list(self.pool.map(post, moves))

    def close(self) -> None:
        self.pool.shutdown()
        for client in self.clients:
            client.close()


def judge(job_id: str, answers: list[dict[str, Any]], job: dict[str, Any]) -> dict[str, Any]:
    steps = [s["stepId"] for s in job["steps"]]
    recorded = [f"{job_id}:{a['name']}" for a in answers
                if a["kind"] == "step" and a["status"] == 200 and a["body"].get("recorded")]
    winners = [a for a in answers if a["kind"] != "step" and a["status"] == 200]
    outcomes = {"complete": ("done", None), "fail": ("failed", "race"), "cancel": ("failed", "cancelled")}
    expected = outcomes[winners[0]["kind"]] if len(winners) == 1 else None
    actual = (job["status"], (job.get("error") or {}).get("code"))
    return {
        "duplicates": len(steps) - len(set(steps)),
        "lostSteps": len(set(recorded) - set(steps)),
        "stepsRecordedTwice": len(recorded) - len(set(recorded)),
        "phantomSteps": len(set(steps) - set(recorded)),
        "terminalWinners": len(winners),
        "outcomeMatchesWinner": expected == actual,
        "serverErrors": sum(a["status"] >= 500 or a["status"] == 0 for a in answers),
        "answers": Counter(f"{a['kind']} {a['status']}" for a in answers),
    }


def races(cluster: Cluster, rounds: int, rng: random.Random) -> dict[str, Any]:
    cluster.start_orchestrator()  # no workers: the posters are the only writers
    posters = Posters(cluster.url)
    totals: Counter[str] = Counter()
    answers_seen: Counter[str] = Counter()
    failures = []
    try:
        for n in range(rounds):
            job_id = cluster.submit({"width": 40, "height": 30, "rooms": 4, "seed": n})
            answers = posters.run(job_id, plan(rng))
            job = cluster.job(job_id)
            verdict = judge(job_id, answers, job)
            # afterwards nothing changes the outcome: one more of each, all refused
            late = posters.run(job_id, [("complete", "late", 0), ("fail", "late", 0), ("cancel", "late", 0),
                                        ("step", "validate", 0)])
            later = cluster.job(job_id)
            verdict["lateAccepted"] = sum(a["status"] == 200 for a in late)
            verdict["changedAfterwards"] = stored(later) != stored(job)
            answers_seen.update(verdict.pop("answers"))
            for key in ("duplicates", "lostSteps", "stepsRecordedTwice", "phantomSteps", "serverErrors",
                        "lateAccepted"):
                totals[key] += verdict[key]
            totals["roundsWithoutExactlyOneTerminalWinner"] += verdict["terminalWinners"] != 1
            totals["roundsWhereOutcomeDiffersFromWinner"] += not verdict["outcomeMatchesWinner"]
            totals["roundsChangedAfterwards"] += verdict["changedAfterwards"]
            broken = ("duplicates", "lostSteps", "phantomSteps", "serverErrors", "lateAccepted",
                      "changedAfterwards")
            if any(verdict[k] for k in broken) or verdict["terminalWinners"] != 1:
                failures.append({"round": n, "job": job_id, **verdict})
    finally:
        posters.close()
    return {"rounds": rounds, "postersPerRound": POSTERS, **{k: totals[k] for k in (
        "duplicates", "lostSteps", "stepsRecordedTwice", "phantomSteps", "serverErrors", "lateAccepted",
        "roundsWithoutExactlyOneTerminalWinner", "roundsWhereOutcomeDiffersFromWinner",
        "roundsChangedAfterwards")}, "answers": dict(answers_seen), "failedRounds": failures[:10]}
