"""The job burst of ``bench_jobs.py`` on the AWS backends (DynamoDB + SQS + S3, on ministack),
with the CPU of each process and a profile of where the time goes.

It starts ministack (the local AWS emulator of the tests, ``tests/aws/emulator.py``) on a free
127.0.0.1 port, and for each run: wipes it, creates a table, bucket and queues with
``levelforge aws-init``, starts ``levelforge serve --workers 2`` with the AWS variables set
(as an IAM user holding the documented Orchestrator and Worker policies, so that the emulator
checks signatures and policies as it does in the tests), and runs ``levelforge_client.py``:
a warm-up, a burst of ``--burst`` jobs (jobs/s), then ``--latency-jobs`` jobs one at a time
(p50). CPU per job is read from /proc for each process: the Orchestrator, each worker, and
ministack apart (the emulator is not levelforge).

After the ``--runs`` measured runs, one more run is profiled (``aws_profile/sitecustomize.py``
in the levelforge processes): the Orchestrator's and the workers' CPU by function during the
burst (cProfile, each thread's CPU clock), and every AWS request timed and counted by
operation (a botocore hook), during the burst and during the one-at-a-time jobs. From these:
where the CPU goes, how much of a job's wall time is spent waiting on the emulator, and the
requests per job, checked against docs/aws.md. See benchmarks/README.md.

    .venv/bin/python benchmarks/bench_jobs_aws.py [--burst 1000] [--latency-jobs 50] [--runs 3]
        [--no-profile] [--out benchmarks/results/jobs-aws.json]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import pstats
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for folder in (HERE, REPO):  # bench_jobs is run as a script: import it (and the tests) the same way
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from _bench_common import percentile  # noqa: E402
from bench_jobs import (  # noqa: E402
    BIN,
    CLK_TCK,
    NON_EMBEDDED_ENV,
    BenchmarkError,
    Client,
    Processes,
    busy_cpu_seconds,
    free_port,
    healthy,
    interrupt,
    process_tree,
    wait_for_quiet,
    wait_until,
)

PROFILE_HOOK = HERE / "aws_profile"
STEPS = 10
#: what one job costs, as docs/aws.md §5 counts it (one job, no Idempotency-Key)
DOCUMENTED_PER_JOB = {
    "dynamodb:PutItem": 1, "dynamodb:UpdateItem": 11, "dynamodb:GetItem": 0,
    "sqs:SendMessage": 1, "sqs:ReceiveMessage": 1, "sqs:DeleteMessage": 1,
    "sqs:ChangeMessageVisibility": 0, "s3:PutObject": 4,
}
DYNAMODB_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")
DYNAMODB_READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")
#: requests a job makes for itself (the rest: the client's reads, idle polls, dead letters)
JOB_OPERATIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:TransactWriteItems",
                  "sqs:SendMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                  "s3:PutObject")
TOP = 15
#: entry points whose cumulative CPU tells a layer's cost: label → (file ends with, function)
LAYERS = {
    "AWS SDK calls (botocore's _make_api_call, all included)": ("botocore/client.py", "_make_api_call"),
    "the pipeline's generation steps (worker next_summary)": ("levelforge/worker.py", "next_summary"),
    "the artifacts' rendering (Level.artifacts)": ("levelforge/generation/pipeline.py", "artifacts"),
    "posting steps and results to the Orchestrator (Reporter post)": ("levelforge/reporter.py", "post"),
}


# -- the emulator and one run's AWS resources ------------------------------------------------


@dataclass
class Emulator:
    """ministack: the tests' start-up code (``tests.aws.emulator.start``), or one already running."""

    handle: Any  # tests.aws.emulator.Emulator
    owned: bool

    @property
    def pid(self) -> int:
        return int(self.handle.process.pid)

    def stop(self) -> None:
        if self.owned:
            self.handle.stop()


def start_emulator(args: argparse.Namespace, tmp: Path) -> Emulator:
    from tests.aws import emulator  # noqa: PLC0415 (needs REPO on sys.path, set above)

    if args.emulator_port:  # e.g. the test session's ministack: never reset, never stopped
        running = emulator.Emulator(port=args.emulator_port, process=_Pid(args.emulator_pid),
                                    log=tmp / "ministack.log")  # type: ignore[arg-type]
        running.admin = running.user(emulator.unique("admin"), emulator.EVERYTHING)
        return Emulator(running, owned=False)
    if not emulator.EXECUTABLE.exists():
        raise BenchmarkError(f"{emulator.EXECUTABLE} is missing: run `make emulator`")
    try:
        return Emulator(emulator.start(tmp / "ministack.log"), owned=True)
    except RuntimeError as exc:  # it exited, or was not ready in time: the message says which
        raise BenchmarkError(str(exc)) from exc


@dataclass
class _Pid:
    """Enough of a Popen for a process this driver did not start."""

    pid: int


def resources(emu: Emulator, workdir: Path, fresh: bool) -> dict[str, str]:
    """A new table, bucket and queues (``levelforge aws-init``, as the emulator's admin) and
    the environment of a ``levelforge serve`` using them as an IAM user holding both
    documented policies (Orchestrator and Worker: serve runs both)."""
    from tests.aws.conftest import documented_policy  # noqa: PLC0415
    from tests.aws.emulator import ACCOUNT, REGION, unique  # noqa: PLC0415

    if fresh:
        emu.handle.reset()  # wipes the previous run's tables, objects and users
    table, bucket, queue = unique("jobs"), unique("artifacts"), unique("jobs")
    names = {"JOBS_TABLE": table, "ARTIFACTS_BUCKET": bucket,
             "JOBS_QUEUE_URL": f"{emu.handle.url}/{ACCOUNT}/{queue}"}
    base = {key: value for key, value in os.environ.items()
            if key not in NON_EMBEDDED_ENV and not key.startswith("AWS_")}
    base.update(names, DATABASE_PATH=str(workdir / "unused.db"), LOG_LEVEL="WARNING")
    init = subprocess.run([*levelforge_program(), "aws-init"], capture_output=True, text=True,
                          env=base | emu.handle.environment(emu.handle.admin), timeout=120, check=False)
    if init.returncode:
        raise BenchmarkError(f"levelforge aws-init failed:\n{init.stdout}{init.stderr}")
    placeholders = {"REGION": REGION, "ACCOUNT": ACCOUNT, "TABLE": table, "BUCKET": bucket, "QUEUE": queue}
    statements = [statement for role in ("orchestrator", "worker")
                  for statement in documented_policy(role, placeholders)["Statement"]]
    user = emu.handle.user(unique("levelforge"), {"Version": "2012-10-17", "Statement": statements})
    return base | emu.handle.environment(user)


def levelforge_program() -> list[str]:
    if (BIN / "levelforge").exists():
        return [str(BIN / "levelforge")]
    return [sys.executable, "-m", "levelforge"]


# -- one run ---------------------------------------------------------------------------------


class Serve:
    """``levelforge serve --workers N`` on AWS, and who is who in its process tree."""

    def __init__(self, args: argparse.Namespace, procs: Processes, workdir: Path,
                 env: dict[str, str], hook_dir: Path, cprofile: bool) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = dict(env, INTERNAL_TOKEN=secrets.token_hex(16), ORCHESTRATOR_URL=self.url)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(PROFILE_HOOK), env.get("PYTHONPATH"))))
        env["LF_BENCH_PROFILE_DIR"] = str(hook_dir)
        if cprofile:
            env["LF_BENCH_CPROFILE"] = "1"
        self.log = workdir / "serve.log"
        self.process = procs.start(
            "levelforge serve",
            [*levelforge_program(), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(args.workers),
             *(["--worker-concurrency", str(args.worker_concurrency)] if args.worker_concurrency else [])],
            self.log, cwd=workdir, env=env,
        )
        wait_until("levelforge serve", lambda: healthy(self.url), self.process, self.log, 120)
        deadline = time.monotonic() + 30
        while len(self.roles()) < 1 + args.workers:  # the workers start with the server
            if time.monotonic() > deadline:
                raise BenchmarkError(f"serve has not started {args.workers} workers")
            time.sleep(0.05)

    def roles(self) -> dict[int, str]:
        """pid → "orchestrator" | "worker-1" … (workers in the order of their pids)."""
        tree = process_tree([self.process.pid])
        workers = sorted(pid for pid in tree if pid != self.process.pid)
        return {self.process.pid: "orchestrator"} | {pid: f"worker-{n}" for n, pid in enumerate(workers, 1)}


def cpu_by_process(serve: Serve, emu: Emulator) -> dict[str, float]:
    """CPU seconds so far of each levelforge process and of the emulator (its whole tree)."""
    tree = process_tree([serve.process.pid])
    roles = serve.roles()
    cpu = {role: tree[pid][1] / CLK_TCK for pid, role in roles.items() if pid in tree}
    cpu["emulator"] = sum(ticks for _, ticks in process_tree([emu.pid]).values()) / CLK_TCK
    return cpu


def measure(phase: str, client: Client, serve: Serve, emu: Emulator) -> dict[str, Any]:
    before, wall_before, busy_before = cpu_by_process(serve, emu), time.perf_counter(), busy_cpu_seconds()
    client.send(phase)
    result = client.expect("result", 1800)
    after = cpu_by_process(serve, emu)
    wall = time.perf_counter() - wall_before
    busy = busy_cpu_seconds() - busy_before
    if result["failed"]:
        raise BenchmarkError(f"{result['failed']} jobs failed in {phase}")
    jobs = result["jobs"]
    cpu = {role: after[role] - before.get(role, 0.0) for role in after}
    levelforge = sum(value for role, value in cpu.items() if role != "emulator")
    others = busy - levelforge - cpu["emulator"] - result["clientCpuS"]
    result.update(
        wallS=wall,
        cpuMsPerJob={role: value * 1000 / jobs for role, value in cpu.items()}
        | {"levelforge": levelforge * 1000 / jobs},
        coresBusy={role: value / wall for role, value in cpu.items()} | {"levelforge": levelforge / wall},
        clientCpuMsPerJob=result["clientCpuS"] * 1000 / jobs,
        otherCoresBusy=max(others, 0.0) / wall,
    )
    if result["otherCoresBusy"] > 0.2:
        print(f"  warning: other processes kept {result['otherCoresBusy']:.2f} cores busy during "
              f"{phase}: figures disturbed", file=sys.stderr, flush=True)
    return result


def run_one(args: argparse.Namespace, procs: Processes, emu: Emulator, workdir: Path,
            cprofile: bool = False) -> dict[str, Any]:
    """One run; its processes' request counts (every run) and CPU profile (``cprofile``) go
    to ``workdir/hooks``."""
    hook_dir = workdir / "hooks"
    hook_dir.mkdir(parents=True)
    record: dict[str, Any] = {"loadavg1Before": os.getloadavg()[0], "profiled": cprofile}
    try:
        env = resources(emu, workdir, fresh=emu.owned)
        serve = Serve(args, procs, workdir, env, hook_dir, cprofile)
        command = [sys.executable, str(HERE / "levelforge_client.py"), "--url", serve.url,
                   "--burst", str(args.burst), "--latency-jobs", str(args.latency_jobs),
                   "--warmup", str(args.warmup), "--submitters", str(args.submitters),
                   *(["--latency-mode", args.latency_mode] if args.latency_mode else [])]
        client = Client(procs, command, workdir, dict(os.environ))
        record["warmup"] = client.expect("ready", 300)
        record["pids"] = {role: pid for pid, role in serve.roles().items()}
        for phase in ("throughput", "latency"):
            window(serve, hook_dir, signal.SIGUSR1, "on")
            record[phase] = measure(phase, client, serve, emu)
            window(serve, hook_dir, signal.SIGUSR2, "off")
        client.send("quit")
        client.process.wait(30)
    finally:
        for _, process in reversed(procs.started):
            procs.stop(process)
    return record


def window(serve: Serve, hook_dir: Path, signum: int, state: str) -> None:
    """Start or end a profiling window in every levelforge process; wait until each says so."""
    pids = list(serve.roles())
    expected: dict[int, str] = {}
    for pid in pids:
        ack = hook_dir / f"ack-{pid}"
        number = int(ack.read_text().split()[0]) if ack.exists() else 0
        expected[pid] = f"{number + 1 if state == 'on' else number} {state}"
        os.kill(pid, signum)
    deadline = time.monotonic() + 20
    for pid, wanted in expected.items():
        ack = hook_dir / f"ack-{pid}"
        while not (ack.exists() and ack.read_text().strip() == wanted):
            if time.monotonic() > deadline:
                raise BenchmarkError(f"pid {pid} did not acknowledge profiling {state}")
            time.sleep(0.01)


# -- the profile -----------------------------------------------------------------------------


def function_name(key: tuple[str, int, str]) -> str:
    file, line, name = key
    if file == "~":
        return name  # a C function: "<method 'send' of '_socket.socket' objects>"
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{file}:{line}({name})"


def package_of(key: tuple[str, int, str]) -> str:
    file = key[0]
    if file == "~":
        return "(C functions)"
    if "/src/levelforge/" in file or "site-packages/levelforge/" in file:
        part = file.split("levelforge/", 1)[1].split("/")
        return f"levelforge.{part[0].removesuffix('.py')}" if len(part) > 1 else "levelforge"
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/")[0].removesuffix(".py")
    if "/lib/python3" in file:
        return "stdlib"
    return "other"


def cpu_profile(paths: list[Path], proc_cpu_s: float, jobs: int) -> dict[str, Any]:
    """Top functions by their own CPU, and CPU by package, of the merged profiles ``paths``."""
    stats = pstats.Stats(*map(str, paths))
    entries: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in entries.values())
    by_package: dict[str, float] = {}
    for key, entry in entries.items():
        by_package[package_of(key)] = by_package.get(package_of(key), 0.0) + entry[2]
    top_self = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:TOP]
    own = [item for item in entries.items() if package_of(item[0]).startswith("levelforge")
           and "<module>" not in item[0][2]]
    top_cumulative = sorted(own, key=lambda item: item[1][3], reverse=True)[:TOP]

    def row(key: tuple[str, int, str], seconds: float) -> dict[str, Any]:
        return {"function": function_name(key), "msPerJob": seconds * 1000 / jobs,
                "share": seconds / total if total else 0.0}

    layers = {}
    for label, (file_end, function) in LAYERS.items():
        seconds = sum(entry[3] for key, entry in entries.items()
                      if key[0].endswith(file_end) and key[2] == function)
        if seconds:
            layers[label] = {"msPerJob": seconds * 1000 / jobs, "share": seconds / total}
    return {
        "profiledCpuMsPerJob": total * 1000 / jobs,
        # cumulative CPU of a few entry points: what the AWS SDK's calls cost, all included
        "layers": layers,
        # the profile's CPU against the process's own counter (cProfile's overhead is in both)
        "procCpuMsPerJob": proc_cpu_s * 1000 / jobs,
        "topSelf": [row(key, entry[2]) for key, entry in top_self],
        "topLevelforgeCumulative": [row(key, entry[3]) for key, entry in top_cumulative],
        "byPackage": [{"package": name, "msPerJob": seconds * 1000 / jobs, "share": seconds / total}
                      for name, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])
                      if total],
    }


def requests(hook_dir: Path, roles: dict[str, int], number: int, jobs: int) -> dict[str, Any]:
    """The requests of window ``number`` by operation: calls, the whole call's time and its
    HTTP exchange's time per job, and the same by process (orchestrator, worker)."""
    ops: dict[str, dict[str, Any]] = {}
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    for role, pid in roles.items():
        path = hook_dir / f"requests-{pid}-{number}.json"
        if not path.exists():
            raise BenchmarkError(f"no request counts from {role} (pid {pid})")
        taken = json.loads(path.read_text())
        sent.update(taken["sent"])
        for message, at in taken["received"].items():
            received[message] = min(at, received.get(message, at))
        for name, entry in taken["calls"].items():
            op = ops.setdefault(name, {"calls": 0, "seconds": 0.0, "httpSeconds": 0.0, "byProcess": {}})
            mine = op["byProcess"].setdefault(role.split("-")[0], {"calls": 0, "seconds": 0.0})
            for into in (op, mine):
                into["calls"] += entry["calls"]
                into["seconds"] += entry["seconds"]
            op["httpSeconds"] += entry["httpSeconds"]
    delays = sorted((received[message] - at) * 1000 for message, at in sent.items() if message in received)
    per_op = {
        name: {
            "callsPerJob": op["calls"] / jobs, "msPerJob": op["seconds"] * 1000 / jobs,
            "httpMsPerJob": op["httpSeconds"] * 1000 / jobs,
            "msPerCall": op["seconds"] * 1000 / op["calls"] if op["calls"] else 0.0,
            "httpMsPerCall": op["httpSeconds"] * 1000 / op["calls"] if op["calls"] else 0.0,
            "calls": op["calls"],
            "byProcess": {role: {"callsPerJob": v["calls"] / jobs, "msPerJob": v["seconds"] * 1000 / jobs}
                          for role, v in op["byProcess"].items()},
        }
        for name, op in sorted(ops.items(), key=lambda kv: -kv[1]["seconds"])
    }
    # SendMessage returned → the worker's ReceiveMessage returned with it (the queue's delivery)
    delivery = {"messages": len(delays), "p50Ms": percentile(delays, 0.5) if delays else None,
                "meanMs": statistics.fmean(delays) if delays else None}
    return {"operations": per_op, "delivery": delivery}


def cost_check(per_op: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Requests per job against docs/aws.md §5 (``ReceiveMessage`` counts those that got a job)."""
    def per_job(name: str) -> float:
        return float(per_op.get(name, {}).get("callsPerJob", 0.0))

    counted = {name: per_job(name) for name in DOCUMENTED_PER_JOB}
    writes = sum(per_job(f"dynamodb:{op}") for op in DYNAMODB_WRITES)
    reads = sum(per_job(f"dynamodb:{op}") for op in DYNAMODB_READS)
    sqs = per_job("sqs:SendMessage") + per_job("sqs:ReceiveMessage") + per_job("sqs:DeleteMessage") \
        + per_job("sqs:ChangeMessageVisibility")
    return {
        "perJob": counted,
        "documented": DOCUMENTED_PER_JOB,
        "dynamodbWrites": writes, "dynamodbReads": reads, "s3Puts": per_job("s3:PutObject"),
        "sqsRequests": sqs,
        "documentedTotals": {"dynamodbWrites": STEPS + 2, "dynamodbReads": 0, "s3Puts": 4, "sqsRequests": 3},
        "others": {name: op["callsPerJob"] for name, op in per_op.items() if name not in DOCUMENTED_PER_JOB},
    }


def wall_split(phase: dict[str, Any], taken: dict[str, Any]) -> dict[str, Any]:
    """A job's wall time and the time of the job's own requests (its writes, its message's
    send and delete, its artifacts' PUTs): the HTTP exchanges (waiting on the emulator) and
    botocore's work around them; the queue's delivery (SendMessage returned → the receive that
    got the message returned); everything else. The other requests (the client's reads, the
    receives' long polls) are listed apart. One job at a time these parts follow each other and
    add up to the wall time; in a burst, jobs' requests overlap."""
    per_op = taken["operations"]
    wall_ms = phase["meanMs"] if "meanMs" in phase else phase["elapsedS"] * 1000 / phase["jobs"]
    own = {name: per_op[name] for name in JOB_OPERATIONS if name in per_op}
    http = sum(op["httpMsPerJob"] for op in own.values())
    calls = sum(op["msPerJob"] for op in own.values())
    delivery = taken["delivery"]["meanMs"] or 0.0
    rest = wall_ms - calls - delivery
    return {
        "wallMsPerJob": wall_ms,
        "emulatorWaitMsPerJob": http,
        "botocoreMsPerJob": calls - http,
        "queueDeliveryMsPerJob": delivery,
        "everythingElseMsPerJob": rest,
        "emulatorWaitShare": http / wall_ms,
        "botocoreShare": (calls - http) / wall_ms,
        "queueDeliveryShare": delivery / wall_ms,
        "everythingElseShare": rest / wall_ms,
        "jobRequestsMsPerJob": {name: op["msPerJob"] for name, op in own.items()},
        "otherRequestsMsPerJob": {name: op["msPerJob"] for name, op in per_op.items()
                                  if name not in JOB_OPERATIONS},
    }


def analyse_requests(record: dict[str, Any], hook_dir: Path) -> dict[str, Any]:
    """The requests of one run's burst (window 1) and one-at-a-time jobs (window 2)."""
    roles: dict[str, int] = record["pids"]
    burst, latency = record["throughput"], record["latency"]
    burst_ops = requests(hook_dir, roles, 1, burst["jobs"])
    latency_ops = requests(hook_dir, roles, 2, latency["jobs"])
    # the jobs' own requests under way at once, on average over the burst
    in_flight = sum(op["msPerJob"] for name, op in burst_ops["operations"].items()
                    if name in JOB_OPERATIONS) * burst["jobs"] / 1000 / burst["elapsedS"]
    return {
        "burst": {
            "jobs": burst["jobs"], "jobsPerS": burst["jobsPerS"], "requests": burst_ops,
            # with jobs in flight together, requests overlap: their time per job can pass
            # the wall time per job
            "wall": wall_split(burst, burst_ops) | {"requestsInFlight": in_flight},
            "costCheck": cost_check(burst_ops["operations"]),
        },
        "oneAtATime": {
            "jobs": latency["jobs"], "p50Ms": latency["p50Ms"], "meanMs": latency["meanMs"],
            "requests": latency_ops, "wall": wall_split(latency, latency_ops),
            "costCheck": cost_check(latency_ops["operations"]),
        },
    }


def analyse_cpu(record: dict[str, Any], hook_dir: Path) -> dict[str, Any]:
    """The profiled run's burst: the Orchestrator's and the first worker's CPU by function."""
    roles: dict[str, int] = record["pids"]
    burst = record["throughput"]
    jobs = burst["jobs"]
    profiles: dict[str, Any] = {}
    workers = sorted(role for role in roles if role.startswith("worker"))
    for role in ("orchestrator", *workers[:1]):
        path = hook_dir / f"profile-{roles[role]}.prof"
        if not path.exists():
            raise BenchmarkError(f"{role} wrote no profile ({path.name})")
        profiles[role] = cpu_profile([path], burst["cpuMsPerJob"][role] * jobs / 1000, jobs)
    return {"run": record["run"], "jobs": jobs, "jobsPerS": burst["jobsPerS"],
            "cpuMsPerJob": burst["cpuMsPerJob"], "cpuByFunction": profiles}


# -- report ----------------------------------------------------------------------------------

FIGURES: list[tuple[str, str, Callable[[dict[str, Any]], float | None]]] = [
    ("burst, jobs/s", "throughput", lambda p: p["jobsPerS"]),
    ("one at a time, p50 ms", "latency", lambda p: p["p50Ms"]),
    ("one at a time, p90 ms", "latency", lambda p: p["p90Ms"]),
    ("submits/s (burst)", "throughput", lambda p: p["submitsPerS"]),
]


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    measured = [run for run in runs if not run["profiled"]]
    if not measured:
        return {}
    summary: dict[str, Any] = {"runs": len(measured), "latencyMode": measured[0]["latency"].get("mode"),
                               "loadavg1Before": [run["loadavg1Before"] for run in measured]}
    for label, phase, get in FIGURES:
        summary[label] = statistics.median(float(get(run[phase]) or 0.0) for run in measured)
    for phase in ("throughput", "latency"):
        roles = measured[0][phase]["cpuMsPerJob"].keys()
        summary[f"{phase}.cpuMsPerJob"] = {
            role: statistics.median(run[phase]["cpuMsPerJob"][role] for run in measured) for role in roles
        }
        summary[f"{phase}.coresBusy"] = {
            role: statistics.median(run[phase]["coresBusy"][role] for run in measured) for role in roles
        }
        summary[f"{phase}.clientCpuMsPerJob"] = statistics.median(
            run[phase]["clientCpuMsPerJob"] for run in measured)
        summary[f"{phase}.otherCoresBusy"] = statistics.median(
            run[phase]["otherCoresBusy"] for run in measured)
    summary["jobsPerSByRun"] = [run["throughput"]["jobsPerS"] for run in measured]
    middle = sorted(measured, key=lambda run: run["throughput"]["jobsPerS"])[(len(measured) - 1) // 2]
    summary["whereTheTimeGoes"] = middle["whereTheTimeGoes"] | {"fromRun": middle["run"]}
    return summary


def print_summary(summary: dict[str, Any]) -> None:
    if not summary:
        return
    print(f"AWS backends on ministack: medians of {summary['runs']} run(s), load average before each: "
          + ", ".join(f"{load:.2f}" for load in summary["loadavg1Before"]))
    for label, _, _ in FIGURES:
        print(f"  {label:34}{summary[label]:10.2f}")
    print("  jobs/s of each run: " + ", ".join(f"{rate:.1f}" for rate in summary["jobsPerSByRun"]))
    print(f"  {'CPU ms per job (cores busy)':34}{'burst':>18}{'one at a time':>20}")
    for role in summary["throughput.cpuMsPerJob"]:
        label = "emulator (ministack, not levelforge)" if role == "emulator" else role
        cells = [f"{summary[f'{phase}.cpuMsPerJob'][role]:10.2f} ({summary[f'{phase}.coresBusy'][role]:.2f})"
                 for phase in ("throughput", "latency")]
        print(f"    {label:32}{cells[0]:>18}{cells[1]:>20}")
    print(f"    {'client':32}{summary['throughput.clientCpuMsPerJob']:10.2f}"
          f"{summary['latency.clientCpuMsPerJob']:>20.2f}")
    print(f"    {'other processes, cores':32}{summary['throughput.otherCoresBusy']:10.2f}"
          f"{summary['latency.otherCoresBusy']:>20.2f}")


def print_profile(profile: dict[str, Any]) -> None:
    print(f"\nCPU by function, the profiled run's burst: {profile['jobs']} jobs, {profile['jobsPerS']:.1f} "
          "jobs/s (cProfile slows the processes down)")
    for role, prof in profile["cpuByFunction"].items():
        print(f"  {role}: {prof['profiledCpuMsPerJob']:.2f} ms CPU per job profiled "
              f"({prof['procCpuMsPerJob']:.2f} by /proc), of it:")
        for label, layer in prof["layers"].items():
            print(f"    {layer['share']:6.1%} {layer['msPerJob']:7.2f} ms  {label}")
        print("   by package (own CPU):")
        for row in prof["byPackage"][:8]:
            print(f"    {row['share']:6.1%} {row['msPerJob']:7.2f} ms  {row['package']}")
        print("   top functions by own CPU:")
        for row in prof["topSelf"][:10]:
            print(f"    {row['share']:6.1%} {row['msPerJob']:7.2f} ms  {row['function'][:95]}")
        print("   levelforge's functions by cumulative CPU:")
        for row in prof["topLevelforgeCumulative"][:6]:
            print(f"    {row['share']:6.1%} {row['msPerJob']:7.2f} ms  {row['function'][:95]}")


def print_time(where: dict[str, Any]) -> None:
    print(f"\nwhere the wall time goes (run {where['fromRun']}, the median run)")
    for title, part in (("burst", where["burst"]), ("one at a time", where["oneAtATime"])):
        wall = part["wall"]
        print(f"  {title}: {wall['wallMsPerJob']:.2f} ms wall per job; the job's own AWS requests: "
              f"{wall['emulatorWaitMsPerJob']:.2f} ms waiting on the emulator (HTTP), "
              f"{wall['botocoreMsPerJob']:.2f} ms in botocore around it"
              + (f" (overlapping: {wall['requestsInFlight']:.1f} of them under way on average)"
                 if "requestsInFlight" in wall else
                 f"; the queue's delivery {wall['queueDeliveryMsPerJob']:.2f} ms; everything else "
                 f"{wall['everythingElseMsPerJob']:.2f} ms ({wall['emulatorWaitShare']:.0%} / "
                 f"{wall['botocoreShare']:.0%} / {wall['queueDeliveryShare']:.0%} / "
                 f"{wall['everythingElseShare']:.0%})"))
        delivery = part["requests"]["delivery"]
        if delivery["messages"]:
            what = "a message's time in the queue (the burst's backlog)" if "requestsInFlight" in wall \
                else "the queue's delivery"
            print(f"    {what}, SendMessage returned → a ReceiveMessage returned it: p50 "
                  f"{delivery['p50Ms']:.1f} ms, mean {delivery['meanMs']:.1f} ms over {delivery['messages']}")
        print(f"    {'operation':34}{'calls/job':>10}{'ms/job':>10}{'ms/call':>10}{'HTTP ms/call':>14}")
        for name, op in part["requests"]["operations"].items():
            print(f"    {name:34}{op['callsPerJob']:10.2f}{op['msPerJob']:10.2f}{op['msPerCall']:10.2f}"
                  f"{op['httpMsPerCall']:14.2f}")
        check = part["costCheck"]
        docs = check["documentedTotals"]
        print(f"    per job: {check['dynamodbWrites']:.2f} DynamoDB writes (docs {docs['dynamodbWrites']}), "
              f"{check['dynamodbReads']:.2f} reads (docs 0: these are the client's), "
              f"{check['s3Puts']:.2f} S3 PUTs (docs 4), {check['sqsRequests']:.2f} SQS requests (docs 3)")


def machine() -> dict[str, Any]:
    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    emu_python = REPO / ".emu" / "bin" / "python"
    ministack = None
    if emu_python.exists():
        ministack = subprocess.run(
            [str(emu_python), "-c", "import importlib.metadata as m; print(m.version('ministack'))"],
            capture_output=True, text=True, check=False).stdout.strip() or None
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "levelforge": version("levelforge"), "boto3": version("boto3"), "botocore": version("botocore"),
            "ministack": ministack}


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000, help="jobs in the throughput burst")
    parser.add_argument("--latency-jobs", type=int, default=50, help="jobs, one at a time")
    parser.add_argument("--runs", type=int, default=3, help="measured runs (the profiled one is extra)")
    parser.add_argument("--warmup", type=int, default=20, help="jobs before measuring")
    parser.add_argument("--submitters", type=int, default=4, help="concurrent submitters")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of serve")
    parser.add_argument("--worker-concurrency", type=int, default=0,
                        help="jobs in flight per worker process (default: serve's own)")
    parser.add_argument("--latency-mode", choices=("longpoll", "events", "poll"), default=None,
                        help="how the client learns a job is done (default: levelforge_client.py's own)")
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled run")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "jobs-aws.json")
    parser.add_argument("--wait-quiet", type=float, default=30.0, metavar="SECONDS",
                        help="before each run, wait up to this long for an idle machine")
    parser.add_argument("--keep-temp", action="store_true", help="keep logs and profiles")
    parser.add_argument("--emulator-port", type=int, default=0,
                        help="use the ministack already listening on this 127.0.0.1 port (not reset)")
    parser.add_argument("--emulator-pid", type=int, default=0, help="its pid, for its CPU")
    args = parser.parse_args(argv)
    if bool(args.emulator_port) != bool(args.emulator_pid):
        parser.error("--emulator-port and --emulator-pid go together")
    return args


def run_all(args: argparse.Namespace, procs: Processes, emu: Emulator, tmp: Path,
            runs: list[dict[str, Any]], profile: dict[str, Any]) -> None:
    plan = [(number, False) for number in range(1, args.runs + 1)]
    if not args.no_profile:
        plan.append((args.runs + 1, True))
    for number, profiled in plan:
        name = "profiled run" if profiled else f"run {number}/{args.runs}"
        print(f"{name}: levelforge serve on DynamoDB + SQS + S3 (ministack) ...", file=sys.stderr, flush=True)
        if args.wait_quiet > 0 and (busy := wait_for_quiet(args.wait_quiet)) >= 0.25:
            print(f"  the machine is busy ({busy:.2f} cores): measuring anyway", file=sys.stderr, flush=True)
        workdir = tmp / f"run{number}"
        record = run_one(args, procs, emu, workdir, cprofile=profiled)
        record["run"] = number
        if profiled:
            profile.update(analyse_cpu(record, workdir / "hooks"))
        else:
            record["whereTheTimeGoes"] = analyse_requests(record, workdir / "hooks")
        runs.append(record)
        print(f"  {record['throughput']['jobsPerS']:.1f} jobs/s, p50 {record['latency']['p50Ms']:.2f} ms, "
              f"CPU ms/job: levelforge {record['throughput']['cpuMsPerJob']['levelforge']:.2f}, "
              f"emulator {record['throughput']['cpuMsPerJob']['emulator']:.2f}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="bench-jobs-aws-"))
    runs: list[dict[str, Any]] = []
    profile: dict[str, Any] = {}
    status = 0
    emu: Emulator | None = None
    try:
        emu = start_emulator(args, tmp)
        run_all(args, procs, emu, tmp, runs, profile)
    except KeyboardInterrupt:
        print("interrupted: stopping everything", file=sys.stderr)
        status = 130
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        status = 2
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        procs.stop_all()
        if emu is not None:
            with contextlib.suppress(Exception):
                emu.stop()
        if args.keep_temp or status:
            print(f"logs and profiles kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if not runs:
        return status or 2
    write_report(args, runs, profile, complete=status == 0)
    return status


def write_report(args: argparse.Namespace, runs: list[dict[str, Any]], profile: dict[str, Any],
                 *, complete: bool) -> None:
    summary = summarise(runs)
    if not complete:
        print(f"INCOMPLETE: only {len(runs)} run(s) finished before the failure")
    print_summary(summary)
    if summary:
        print_time(summary["whereTheTimeGoes"])
    if profile:
        print_profile(profile)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "jobs-aws",
        "complete": complete,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "config": {key: str(value) if isinstance(value, Path) else value
                   for key, value in vars(args).items()},
        "summary": summary,
        "profile": profile,
        "runs": runs,
    }, indent=2) + "\n")
    out = args.out.resolve()
    print(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")


if __name__ == "__main__":
    sys.exit(main())
