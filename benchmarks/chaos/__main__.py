"""``python -m benchmarks.chaos``: run the chaos campaigns of issue 6 on real processes,
print each campaign's figures and a summary table, and write them as JSON.

    python -m benchmarks.chaos [--short] [--campaign NAME ...] [--backend sqlite|aws ...]
        [--rounds N] [--soak-seconds S] [--seed N] [--out benchmarks/results/chaos-<when>.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.chaos.cluster import BACKENDS, Cluster, ClusterScope
from benchmarks.chaos.creations import creation_kills
from benchmarks.chaos.faults import worker_kills, worker_stalls
from benchmarks.chaos.outages import orchestrator_restarts, store_outage
from benchmarks.chaos.races import races
from benchmarks.chaos.soak import PHASES, phase_key, soak

RESULTS = Path(__file__).resolve().parents[1] / "results"
#: rounds of the full run and of --short
ROUNDS = {
    "worker-kills": (200, 10), "worker-stalls": (20, 3), "orchestrator-restarts": (10, 2),
    "store-outage": (3, 1), "races": (100, 20), "creation-kills": (100, 10), "soak": (1, 1),
}
#: the figures that must be zero, per campaign (the table's verdict)
MUST_BE_ZERO = {
    "worker-kills": ("jobsNotDone", "duplicatedStepIds", "jobsLeftRunning", "terminalJobsChanged",
                     "incompleteRuns"),
    "worker-stalls": ("staleWritesAccepted", "jobsChangedByStaleWorker", "duplicatedStepIds", "jobsNotDone",
                      "staleWorkersDied"),
    "orchestrator-restarts": ("jobsLeftRunning", "jobsLeftQueued", "duplicatedStepIds", "incompleteRuns",
                              "jobsMissing", "workersDied"),
    "store-outage": ("api500s", "api503WithoutRetryAfter", "apiNoAnswer", "jobsLeftRunning", "jobsLeftQueued",
                     "duplicatedStepIds", "jobsMissing", "workersDied"),
    "races": ("duplicates", "lostSteps", "phantomSteps", "serverErrors", "lateAccepted",
              "roundsWithoutExactlyOneTerminalWinner", "roundsWhereOutcomeDiffersFromWinner",
              "roundsChangedAfterwards"),
    "creation-kills": ("roundsNotKilled", "jobsNotDone", "jobsLeftQueued", "duplicatedStepIds",
                       "incompleteRuns", "extraJobs", "replaysOfAnotherJob"),
    "soak": (),
}


def run_campaign(name: str, backend: str, rounds: int, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(f"{args.seed}-{name}-{backend}")
    campaigns: dict[str, Callable[[Cluster], dict[str, Any]]] = {
        "worker-kills": lambda c: worker_kills(c, rounds, rng),
        "worker-stalls": lambda c: worker_stalls(c, rounds, rng),
        "orchestrator-restarts": lambda c: orchestrator_restarts(c, rounds, rng),
        "store-outage": lambda c: store_outage(c, rounds, rng, seconds=args.outage_seconds),
        "races": lambda c: races(c, rounds, rng),
        "creation-kills": lambda c: creation_kills(c, rounds),
        "soak": lambda c: soak(c, args.soak_seconds, rate=args.soak_rate,
                               retention_seconds=args.retention_seconds),
    }
    started = time.monotonic()
    with ClusterScope(backend, keep=args.keep, visibility_timeout=args.visibility_timeout) as cluster:
        figures = campaigns[name](cluster)
    figures["wallSeconds"] = round(time.monotonic() - started, 1)
    broken = {key: figures.get(key) for key in MUST_BE_ZERO[name] if figures.get(key)}
    figures["verdict"] = "held" if not broken else f"BROKEN: {broken}"
    return figures


def headline(name: str, figures: dict[str, Any]) -> str:
    keys = [k for k, v in figures.items() if not isinstance(v, (list, dict)) and k not in ("verdict",)]
    extra = {"worker-kills": ["recoverySeconds", "killPoints"], "soak": ["cpuPercent"],
             "creation-kills": ["retryAnswers", "doneSecondsAfterRetry"],
             "worker-stalls": ["staleWorkerAnswers"], "races": ["answers"]}.get(name, [])
    parts = [f"{k}={figures[k]}" for k in keys] + [f"{k}={figures[k]}" for k in extra if k in figures]
    return "; ".join(parts)


def print_soak(figures: dict[str, Any]) -> None:
    for curve, shape in figures.get("curves", {}).items():
        growth = figures["growthPercentAfterWarmup"].get(curve)
        print(f"    {curve:<26} {shape['plot']}  [{shape['min']} … {shape['max']}] growth {growth}%")
    if windows := figures.get("windows"):
        print("    window (s)     job p99  queued     run  finish  POST p99  reference  file MB  CPU ms/job")
        for w in windows:
            cpu = ", ".join(f"{name} {ms}" for name, ms in w["cpuMsPerJob"].items())
            latencies = [w["jobP99Ms"], *(w[phase_key(phase)] for phase in PHASES)]
            print(f"    {w['fromSeconds']:>5.0f}-{w['toSeconds']:<5.0f} {latencies[0]:>9}"
                  + "".join(f" {value:>7}" for value in latencies[1:])
                  + f" {w['submitP99Ms']:>9} {w['referenceMs']:>10} {w['databaseMB']:>8}  {cpu}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="a few rounds of each campaign")
    parser.add_argument("--campaign", action="append", choices=list(ROUNDS), help="repeatable; default all")
    parser.add_argument("--backend", action="append", choices=BACKENDS, help="repeatable; default both")
    parser.add_argument("--rounds", type=int, default=None, help="override every campaign's rounds")
    parser.add_argument("--soak-seconds", type=float, default=None, help="default 1800 (120 with --short)")
    parser.add_argument("--soak-rate", type=float, default=None,
                        help="jobs/s (default half the measured capacity), to repeat an earlier soak's rate")
    parser.add_argument("--retention-seconds", type=float, default=None,
                        help="soak: JOB_RETENTION_DAYS in seconds (a few: the store's size stays flat)")
    parser.add_argument("--outage-seconds", type=float, default=10.0)
    parser.add_argument("--visibility-timeout", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep each cluster's folder and logs")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.soak_seconds is None:
        args.soak_seconds = 120.0 if args.short else 1800.0
    names = args.campaign or list(ROUNDS)
    backends = args.backend or list(BACKENDS)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or RESULTS / f"chaos-{'short-' if args.short else ''}{stamp}.json"
    report: dict[str, Any] = {"startedAt": stamp, "short": args.short, "seed": args.seed,
                              "visibilityTimeoutSeconds": args.visibility_timeout, "campaigns": {}}
    table = []
    for name in names:
        rounds = args.rounds or ROUNDS[name][args.short]
        for backend in backends:
            print(f"== {name} on {backend}: {rounds} round(s)", flush=True)
            try:
                figures = run_campaign(name, backend, rounds, args)
            except Exception as exc:
                figures = {"verdict": f"ERROR: {type(exc).__name__}: {exc}"}
            report["campaigns"].setdefault(name, {})[backend] = figures
            print(f"   {headline(name, figures)}")
            if name == "soak":
                print_soak(figures)
            print(f"   verdict: {figures['verdict']}", flush=True)
            table.append((name, backend, figures.get("rounds", "-"), figures.get("wallSeconds", "-"),
                          figures["verdict"]))
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\n{'campaign':<22} {'backend':<7} {'rounds':>6} {'seconds':>8}  verdict")
    for row in table:
        print(f"{row[0]:<22} {row[1]:<7} {row[2]!s:>6} {row[3]!s:>8}  {row[4]}")
    print(f"\nfigures written to {out}")
    return 0 if all(row[4] == "held" for row in table) else 1


if __name__ == "__main__":
    sys.exit(main())
