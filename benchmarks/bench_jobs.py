"""Job throughput and latency of levelforge against its named peer (Celery + Redis).

For each run, alternating the order of the systems, it starts the system under test as real
processes on a free 127.0.0.1 port with a fresh temporary store, then starts a client in a
separate process that warms it up and measures, on the driver's word:

- throughput: a burst of ``--burst`` 60x40, 12-room jobs from several submitters, followed to
  ``done``; jobs/s = burst / (first submit → last job seen done);
- latency: ``--latency-jobs`` jobs one at a time, submit → ``done`` seen; p50/p90/p99;
- CPU per job: user+sys CPU of the system's server processes (the whole process tree, read
  from /proc before and after each phase), divided by the phase's jobs.

It prints a table of medians over the runs with the ratio levelforge/peer and writes JSON.
Everything it starts is stopped on exit, failure or Ctrl-C. See benchmarks/README.md.

    .venv/bin/python benchmarks/bench_jobs.py [--burst 1000] [--latency-jobs 200] [--runs 3]
        [--skip-peer] [--out benchmarks/results/jobs.json]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import queue
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent
MARK = "@@bench "  # as in _bench_common
CLK_TCK = os.sysconf("SC_CLK_TCK")
PHASES = ("throughput", "latency")
#: levelforge's latency again with its client on httpx rather than urllib3 (reported beside
#: the gate's row, against the same peer figure)
EXTRA_PHASES = {"levelforge": ("latencyHttpx",)}
#: issue 15's gates, ratios levelforge/peer in the same run: (metric, gate, aim, higher is better)
GATES: list[tuple[str, str, float, float, bool]] = [
    ("burst jobs/s", "throughput.jobsPerS", 1.0, 1.5, True),
    ("client p50", "latency.p50Ms", 1.0, 0.7, False),
    ("server CPU per job (burst)", "throughput.serverCpuMsPerJob", 1.0, 0.8, False),
]
#: environment that would take levelforge off its embedded default
NON_EMBEDDED_ENV = (
    "JOBS_TABLE", "ARTIFACTS_BUCKET", "JOBS_QUEUE_URL", "API_KEYS", "RATE_LIMIT_PER_MINUTE",
)


class BenchmarkError(RuntimeError):
    pass


# -- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, start time, user+sys ticks of itself and its reaped children) of a process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # fields[0] is field 3, "state"
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return int(fields[1]), int(fields[19]), utime + stime + cutime + cstime


def busy_cpu_seconds() -> float:
    """Non-idle CPU time of the whole machine so far (the first line of /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / CLK_TCK


def wait_for_quiet(limit_s: float, cores: float = 0.25) -> float:
    """Wait (up to ``limit_s``) for a second in which the machine's busy CPU stays under
    ``cores``; the busy cores of the last second looked at."""
    deadline = time.monotonic() + limit_s
    while True:
        before = busy_cpu_seconds()
        time.sleep(1.0)
        busy = busy_cpu_seconds() - before
        if busy < cores or time.monotonic() >= deadline:
            return busy


def process_tree(roots: list[int]) -> dict[int, tuple[int, int]]:
    """pid → (start time, CPU ticks) for the roots and all their descendants."""
    stats: dict[int, tuple[int, int, int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := read_stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    tree: dict[int, tuple[int, int]] = {}
    pending = [pid for pid in roots if pid in stats]
    while pending:
        pid = pending.pop()
        if pid not in tree:
            tree[pid] = (stats[pid][1], stats[pid][2])
            pending.extend(children.get(pid, ()))
    return tree


class Processes:
    """Every process this driver starts, each in a session of its own (so that a Ctrl-C on
    the terminal reaches only the driver), and every descendant seen; stops them all."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen[Any]]] = []
        self.seen: dict[int, int] = {}  # pid → start time, to never signal a reused pid

    def start(self, name: str, command: list[str], log: Path, **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``command`` in a new session; what it prints (stderr only, when stdout is
        a pipe) goes to ``log``."""
        with log.open("ab") as output:
            if kwargs.get("stdout") is subprocess.PIPE:
                kwargs["stderr"] = output
            else:
                kwargs.update(stdout=output, stderr=subprocess.STDOUT)
            process = subprocess.Popen(command, start_new_session=True, **kwargs)
        self.started.append((name, process))
        return process

    def note(self, tree: dict[int, tuple[int, int]]) -> None:
        self.seen.update({pid: start for pid, (start, _) in tree.items()})

    def cpu_seconds(self, roots: list[int]) -> float:
        return sum(self.cpu_by_process(roots).values())

    def cpu_by_process(self, roots: list[int]) -> dict[int, float]:
        """pid → CPU seconds so far, for the roots and all their descendants."""
        tree = process_tree(roots)
        self.note(tree)
        return {pid: ticks / CLK_TCK for pid, (_, ticks) in tree.items()}

    def stop(self, process: subprocess.Popen[Any], grace_s: float = 10.0) -> None:
        """SIGTERM (a clean stop); SIGKILL to its process group after ``grace_s``, and to
        any of its descendants still there."""
        tree = process_tree([process.pid])
        self.note(tree)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(grace_s)
            except subprocess.TimeoutExpired:
                print(f"  pid {process.pid} ignored SIGTERM for {grace_s} s: killing it",
                      file=sys.stderr)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.kill_survivors({pid: start for pid, (start, _) in tree.items()})
        self.started = [(name, p) for name, p in self.started if p is not process]

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            self.stop(process)
        self.kill_survivors(self.seen)
        self.seen.clear()

    @staticmethod
    def kill_survivors(processes: dict[int, int]) -> None:
        """SIGKILL each pid still running with the start time it was seen with."""
        for pid, start in processes.items():
            stat = read_stat(pid)
            if stat is not None and stat[1] == start:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)


def wait_until(what: str, ready: Any, process: subprocess.Popen[Any], log: Path,
               timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if process.poll() is not None:
            raise BenchmarkError(f"{what} exited with {process.returncode}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise BenchmarkError(f"{what} not ready after {timeout_s} s:\n{tail(log)}")
        time.sleep(0.05)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


# -- the systems under test ------------------------------------------------------------------


class Levelforge:
    """``levelforge serve`` on its embedded default: SQLite store and local queue."""

    name = "levelforge"

    def __init__(self, args: argparse.Namespace, procs: Processes) -> None:
        self.args, self.procs = args, procs
        self.roots: list[int] = []

    @staticmethod
    def unavailable() -> str | None:
        if (BIN / "levelforge").exists() or importlib.util.find_spec("levelforge.cli"):
            return None
        return "levelforge.cli is not there yet"

    def start(self, workdir: Path) -> list[str]:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {key: value for key, value in os.environ.items() if key not in NON_EMBEDDED_ENV}
        env.update(DATABASE_PATH=str(workdir / "levelforge.db"),
                   INTERNAL_TOKEN=secrets.token_hex(16), ORCHESTRATOR_URL=url)
        program = ([str(BIN / "levelforge")] if (BIN / "levelforge").exists()
                   else [sys.executable, "-m", "levelforge"])
        command = [*program, "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(self.args.workers)]
        log = workdir / "serve.log"
        serve = self.procs.start("levelforge serve", command, log, cwd=workdir, env=env)
        self.roots = [serve.pid]
        wait_until("levelforge serve", lambda: healthy(url), serve, log, 60)
        return [sys.executable, str(HERE / "levelforge_client.py"), "--url", url,
                "--latency-mode", self.args.latency_mode,
                "--poll-interval-ms", str(self.args.poll_interval_ms),
                "--poll-duty", str(self.args.poll_duty)]


class CeleryPeer:
    """Redis 7 without persistence + a Celery 5.7 prefork worker of ``--workers`` processes."""

    name = "peer"

    def __init__(self, args: argparse.Namespace, procs: Processes) -> None:
        self.args, self.procs = args, procs
        self.roots: list[int] = []

    @staticmethod
    def unavailable() -> str | None:
        if shutil.which("redis-server") is None:
            return "redis-server is not installed (apt-get install -y redis-server)"
        if importlib.util.find_spec("celery") is None or importlib.util.find_spec("redis") is None:
            return "celery[redis] is not installed (pip install -r benchmarks/requirements-peer.txt)"
        return None

    def start(self, workdir: Path) -> list[str]:
        port = free_port()
        log = workdir / "redis.log"
        redis = self.procs.start(
            "redis-server",
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no"],
            log, cwd=workdir,
        )
        wait_until("redis-server", lambda: port_open(port), redis, log, 20)
        self.env = dict(os.environ, PEER_REDIS_URL=f"redis://127.0.0.1:{port}/0",
                        PYTHONPATH=str(HERE))
        log = workdir / "celery.log"
        worker = self.procs.start(
            "celery worker",
            [sys.executable, "-m", "celery", "-A", "peer_celery.app", "worker",
             "--pool", "prefork", "--concurrency", str(self.args.workers), "--loglevel", "WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--hostname", f"peer{port}@127.0.0.1"],
            log, cwd=HERE, env=self.env,
        )
        self.roots = [redis.pid, worker.pid]
        # the client's warm-up waits for the worker to take its first task
        return [sys.executable, "-m", "peer_celery.client"]


# -- one run of one system -------------------------------------------------------------------


class Client:
    """The client process and its result lines."""

    def __init__(self, procs: Processes, command: list[str], workdir: Path, env: dict[str, str]):
        self.log = workdir / "client.log"
        self.process = procs.start("client", command, self.log, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True, cwd=HERE, env=env)
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            if line.startswith(MARK):
                self.lines.put(json.loads(line[len(MARK) :]))
        self.lines.put(None)

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def expect(self, event: str, timeout_s: float) -> dict[str, Any]:
        try:
            message = self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise BenchmarkError(f"client: no {event} after {timeout_s} s:\n{tail(self.log)}") from None
        if message is None or message.get("event") != event:
            raise BenchmarkError(f"client: {message} instead of {event}:\n{tail(self.log)}")
        return message


def run_one(system: Levelforge | CeleryPeer, args: argparse.Namespace, procs: Processes,
            workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True)
    record: dict[str, Any] = {"system": system.name, "loadavg1Before": os.getloadavg()[0]}
    try:
        command = system.start(workdir)
        command += ["--burst", str(args.burst), "--latency-jobs", str(args.latency_jobs),
                    "--warmup", str(args.warmup), "--submitters", str(args.submitters)]
        client = Client(procs, command, workdir, getattr(system, "env", dict(os.environ)))
        record["warmup"] = client.expect("ready", 180)
        for phase in (*PHASES, *EXTRA_PHASES.get(system.name, ())):
            record[phase] = measure(phase, client, system.roots, procs)
            if record[phase]["failed"]:
                raise BenchmarkError(f"{system.name}: {record[phase]['failed']} jobs failed in {phase}")
        client.send("quit")
        client.process.wait(30)
    finally:
        for _, process in reversed(procs.started):
            procs.stop(process)
    return record


def process_name(pid: int) -> str:
    """What a server process is, from its command line: ``orchestrator``, ``worker``,
    ``redis-server``, ``celery`` (the peer's main process) or ``celery-pool``."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gone"
    words = [arg.decode(errors="replace") for arg in argv]
    if "worker" in words and any("levelforge" in word for word in words):
        return "worker"
    if any(word in ("serve", "orchestrator") for word in words):
        return "orchestrator"
    if any("redis-server" in word for word in words):
        return "redis-server"
    if any("celery" in word for word in words):
        return "celery"
    return "celery-pool" if any("python" in word for word in words) else Path(words[0]).name


def cpu_ms_per_job_by_process(
    before: dict[int, float], after: dict[int, float], jobs: int
) -> dict[str, float]:
    """Each server process's CPU during a phase, ms per job, named ``orchestrator``,
    ``worker-1``, ``worker-2`` … in pid order (processes of one kind numbered when several)."""
    names = {pid: process_name(pid) for pid in sorted(after)}
    kinds = list(names.values())
    counters: dict[str, int] = {}
    result: dict[str, float] = {}
    for pid, kind in names.items():
        label = kind
        if kinds.count(kind) > 1:
            counters[kind] = counters.get(kind, 0) + 1
            label = f"{kind}-{counters[kind]}"
        result[label] = (after[pid] - before.get(pid, 0.0)) * 1000 / jobs
    return result


def measure(phase: str, client: Client, roots: list[int], procs: Processes) -> dict[str, Any]:
    """Run one phase in the client; add the servers' CPU (and everyone else's) meanwhile."""
    by_process_before, wall_before = procs.cpu_by_process(roots), time.perf_counter()
    busy_before = busy_cpu_seconds()
    client.send(phase)
    result = client.expect("result", 900)
    by_process_after = procs.cpu_by_process(roots)
    server_cpu = sum(by_process_after.values()) - sum(by_process_before.values())
    wall = time.perf_counter() - wall_before
    others = busy_cpu_seconds() - busy_before - server_cpu - result["clientCpuS"]
    jobs = result["jobs"]
    result.update(
        serverCpuS=server_cpu,
        serverCpuMsPerJob=server_cpu * 1000 / jobs,
        serverCpuMsPerJobByProcess=cpu_ms_per_job_by_process(by_process_before, by_process_after, jobs),
        serverCoresBusy=server_cpu / wall,
        clientCpuMsPerJob=result["clientCpuS"] * 1000 / jobs,
        # anything else on the machine meanwhile: near 0 on a quiet machine
        otherCoresBusy=max(others, 0.0) / wall,
    )
    if result["otherCoresBusy"] > 0.2:
        print(f"  warning: other processes kept {result['otherCoresBusy']:.2f} cores busy during "
              f"{phase}: figures disturbed", file=sys.stderr, flush=True)
    return result


# -- report ----------------------------------------------------------------------------------

METRICS: list[tuple[str, str, str, bool]] = [
    # label, phase, key, higher is better
    ("burst throughput, jobs/s", "throughput", "jobsPerS", True),
    ("latency p50, ms", "latency", "p50Ms", False),
    ("latency p90, ms", "latency", "p90Ms", False),
    ("latency p99, ms", "latency", "p99Ms", False),
    ("  p50 to done by the server clock", "latency", "stampedP50Ms", False),
    ("  p50, levelforge's client on httpx", "latencyHttpx", "p50Ms", False),
    ("server CPU per job (burst), ms", "throughput", "serverCpuMsPerJob", False),
    ("server CPU per job (latency), ms", "latency", "serverCpuMsPerJob", False),
    ("server cores busy (burst)", "throughput", "serverCoresBusy", False),
    ("client CPU per job (burst), ms", "throughput", "clientCpuMsPerJob", False),
    ("other processes, cores (burst)", "throughput", "otherCoresBusy", False),
    ("submits/s (burst)", "throughput", "submitsPerS", True),
    ("pipeline work per job, ms", "warmup", "workMsPerJob", False),
]


def summarise(runs: list[dict[str, Any]], systems: list[str]) -> dict[str, dict[str, float]]:
    summary: dict[str, dict[str, float]] = {}
    for name in systems:
        mine = [run for run in runs if run["system"] == name]
        summary[name] = {
            f"{phase}.{key}": statistics.median(
                float(run[phase][key]) for run in mine if run.get(phase, {}).get(key) is not None
            )
            for _, phase, key, _ in METRICS
            if mine and any(run.get(phase, {}).get(key) is not None for run in mine)
        }
    return summary


def report(summary: dict[str, dict[str, float]], runs: int) -> tuple[str, dict[str, float]]:
    lf, peer = summary.get("levelforge", {}), summary.get("peer", {})
    ratios: dict[str, float] = {}
    lines = [f"medians of {runs} run(s)",
             f"{'':34}{'levelforge':>12}{'peer':>12}{'lf/peer':>10}"]
    for label, phase, key, _higher in METRICS:
        metric = f"{phase}.{key}"
        # the extra phases have no peer run of their own: the peer's latency is their match
        a, b = lf.get(metric), peer.get(metric.replace("latencyHttpx.", "latency."))
        if a is not None and b:
            ratios[metric] = a / b
        cells = [f"{v:12.2f}" if v is not None else f"{'-':>12}" for v in (a, b)]
        ratio = f"{ratios[metric]:9.2f}x" if metric in ratios else f"{'-':>10}"
        lines.append(f"{label:34}{cells[0]}{cells[1]}{ratio}")
    return "\n".join(lines), ratios


def gates(summary: dict[str, dict[str, float]], ratios: dict[str, float]) -> dict[str, Any]:
    """Issue 15's gates: each figure as a ratio levelforge/peer measured in the same run."""
    verdict: dict[str, Any] = {}
    for label, metric, gate, aim, higher in GATES:
        ratio = ratios.get(metric)
        if ratio is None:
            continue
        met = ratio >= gate if higher else ratio <= gate
        reached = ratio >= aim if higher else ratio <= aim
        verdict[metric] = {"label": label, "ratio": ratio, "gate": gate, "aim": aim, "passed": met,
                           "aimReached": reached, "higherIsBetter": higher}
    if verdict:
        verdict["passed"] = all(row["passed"] for row in verdict.values() if isinstance(row, dict))
    return verdict


def by_process_medians(runs: list[dict[str, Any]], name: str, phase: str) -> dict[str, float]:
    mine = [run[phase].get("serverCpuMsPerJobByProcess", {}) for run in runs if run["system"] == name]
    keys = sorted({key for row in mine for key in row})
    return {key: statistics.median(row[key] for row in mine if key in row) for key in keys}


def machine() -> dict[str, Any]:
    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    redis = None
    if shutil.which("redis-server"):
        redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True,
                               check=False).stdout.strip()
    return {
        "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
        "levelforge": version("levelforge"), "celery": version("celery"), "redisServer": redis,
        "httpx": version("httpx"),
    }


# -- main ------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000, help="jobs in the throughput burst")
    parser.add_argument("--latency-jobs", type=int, default=200, help="jobs, one at a time")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20, help="jobs before measuring")
    parser.add_argument("--submitters", type=int, default=4, help="concurrent submitters")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each system")
    parser.add_argument("--latency-mode", choices=("longpoll", "events", "poll"), default="longpoll",
                        help="levelforge: long-poll GET /status/{id}?wait=, follow /jobs/{id}/events, "
                             "or poll GET /status/{id}")
    parser.add_argument("--poll-interval-ms", type=float, default=1.0,
                        help="levelforge latency: shortest sleep between status polls")
    parser.add_argument("--poll-duty", type=float, default=0.2,
                        help="levelforge latency: most of the server's time polls may take")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--skip-levelforge", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "jobs.json")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when levelforge misses a gate (ratios to the peer)")
    parser.add_argument("--wait-quiet", type=float, default=30.0, metavar="SECONDS",
                        help="before each measurement, wait up to this long for an idle machine")
    parser.add_argument("--keep-temp", action="store_true", help="keep logs and stores")
    return parser.parse_args()


def choose_systems(args: argparse.Namespace, procs: Processes) -> list[Levelforge | CeleryPeer]:
    systems: list[Levelforge | CeleryPeer] = []
    for cls, skip in ((Levelforge, args.skip_levelforge), (CeleryPeer, args.skip_peer)):
        if skip:
            continue
        if (why := cls.unavailable()) is not None:
            print(f"skipping {cls.name}: {why}", file=sys.stderr)
            continue
        systems.append(cls(args, procs))
    if not systems:
        raise BenchmarkError("nothing to measure")
    return systems


def interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_all(systems: list[Levelforge | CeleryPeer], args: argparse.Namespace, procs: Processes,
            tmp: Path, runs: list[dict[str, Any]]) -> None:
    """Each run measures every system, in alternating order; records go into ``runs``."""
    for number in range(1, args.runs + 1):
        for system in systems if number % 2 else systems[::-1]:
            print(f"run {number}/{args.runs}: {system.name} ...", file=sys.stderr, flush=True)
            if args.wait_quiet > 0 and (busy := wait_for_quiet(args.wait_quiet)) >= 0.25:
                print(f"  the machine is busy ({busy:.2f} cores): measuring anyway",
                      file=sys.stderr, flush=True)
            record = run_one(system, args, procs, tmp / f"run{number}-{system.name}")
            record["run"] = number
            runs.append(record)
            print(f"  {record['throughput']['jobsPerS']:.1f} jobs/s, "
                  f"p50 {record['latency']['p50Ms']:.2f} ms, "
                  f"{record['throughput']['serverCpuMsPerJob']:.2f} ms CPU/job",
                  file=sys.stderr, flush=True)


def main() -> int:
    args = parse_args()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    runs: list[dict[str, Any]] = []
    names: list[str] = []
    status = 0
    try:
        systems = choose_systems(args, procs)
        names = [system.name for system in systems]
        run_all(systems, args, procs, tmp, runs)
    except KeyboardInterrupt:
        print("interrupted: stopping everything", file=sys.stderr)
        status = 130
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        status = 2
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        procs.stop_all()
        if args.keep_temp or status:
            print(f"logs and stores kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if not runs:
        return status or 2
    passed = write_report(args, runs, names, complete=status == 0)
    if status:
        return status
    return 1 if args.check and passed is False else 0


def write_report(args: argparse.Namespace, runs: list[dict[str, Any]], names: list[str],
                 *, complete: bool) -> bool | None:
    """Print the table and write the JSON (also for the runs done before a failure);
    whether levelforge reached the must-reach figures (None: not measured)."""
    summary = summarise(runs, names)
    done = max(run["run"] for run in runs)
    table, ratios = report(summary, done)
    verdict = gates(summary, ratios)
    by_process = {name: by_process_medians(runs, name, "throughput") for name in names}
    if not complete:
        print(f"INCOMPLETE: only the {len(runs)} measurement(s) finished before the failure")
    print(table)
    for name, cpu in by_process.items():
        print(f"{name} CPU per job (burst) by process, ms: "
              + ", ".join(f"{key} {value:.2f}" for key, value in cpu.items()))
    print("load average before each run: " + ", ".join(
        f"{run['system']} {run['loadavg1Before']:.2f}" for run in runs))
    for row in verdict.values():
        if isinstance(row, dict):
            sign = ">=" if row["higherIsBetter"] else "<="
            print(f"gate {row['label']}: ratio {row['ratio']:.2f} (gate {sign} {row['gate']:g}, aim "
                  f"{sign} {row['aim']:g}): {'PASS' if row['passed'] else 'FAIL'}"
                  f"{', aim reached' if row['aimReached'] else ''}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "jobs",
        "complete": complete,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "config": {key: str(value) if isinstance(value, Path) else value
                   for key, value in vars(args).items()},
        "summary": summary, "ratiosLevelforgeOverPeer": ratios, "gates": verdict,
        "cpuMsPerJobByProcess": by_process, "runs": runs,
    }, indent=2) + "\n")
    out = args.out.resolve()
    print(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")
    return verdict.get("passed") if verdict else None


if __name__ == "__main__":
    sys.exit(main())
