"""The soak: a steady rate near half the measured capacity for a while, sampling every
process's RSS, open file descriptors and CPU time, the p99 latencies, and the machine's own
speed (the CPU time of a fixed piece of work) every few seconds, summed up window by window."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.chaos.cluster import Cluster
from benchmarks.chaos.stats import percentile, sparkline

SPEC = {"width": 60, "height": 40, "rooms": 12}
#: growth is measured after the warm-up: the first quarter of the run, at least a minute
#: (the Orchestrator's thread pool and its per-thread store connections grow under load first)
WARMUP_SHARE = 0.25
WARMUP_MIN_SECONDS = 60.0
#: where a sampled job's time went: queued (created → its first step started), run (first
#: step started → last step ended, the reports included) and finish (→ done)
PHASES = ("wait", "run", "finish")
#: the summary splits the run into this many windows (5 minutes each in a 30-minute soak)
WINDOWS = 6
#: iterations of the reference work: a few milliseconds of pure Python
REFERENCE_LOOPS = 50_000


def phase_key(phase: str) -> str:
    return f"job{phase.title()}P99Ms"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def reference_ms() -> float:
    """The CPU time of a fixed piece of pure-Python work, the best of three: the machine's
    own speed. On a VM the neighbours' load slows every process alike (it shows as more CPU
    time for the same work, not as steal); this tells such a slowdown from the service's."""
    best = float("inf")
    for _ in range(3):
        started = time.thread_time()
        total = 0
        for n in range(REFERENCE_LOOPS):
            total += n * n % 7
        best = min(best, time.thread_time() - started)
    return round(best * 1000, 3)


def seconds_between(start: str, end: str) -> float:
    def parse(stamp: str) -> datetime:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))

    return (parse(end) - parse(start)).total_seconds()


class Submitter:
    """``cluster.submit`` from a pool of threads, each on its own keep-alive client, all
    closed at the end (a client shared by the pool's threads left a connection's socket
    unclosed now and then)."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def submit(self, spec: dict[str, Any]) -> str:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(base_url=self._cluster.url, timeout=30.0)
            with self._lock:
                self._clients.append(client)
        return self._cluster.submit(spec, client)

    def __enter__(self) -> Submitter:
        return self

    def __exit__(self, *_: object) -> None:
        with self._lock:
            for client in self._clients:
                client.close()


def measure_capacity(cluster: Cluster, jobs: int = 300) -> float:
    """Jobs per second of a burst, from the first submission to the last job's end (the
    queue is first in, first out: the last job submitted is about the last to finish),
    after a burst of a third as many that is not counted (the first burst of new
    processes runs 10 to 20% slower: connections, caches and the Orchestrator's threads)."""
    burst(cluster, jobs // 3)
    return jobs / burst(cluster, jobs)


def burst(cluster: Cluster, jobs: int) -> float:
    """Submit ``jobs`` at once from 8 threads; the seconds until the last one is done."""
    with Submitter(cluster) as submitter, ThreadPoolExecutor(8) as pool:
        started = time.monotonic()
        ids = list(pool.map(lambda n: submitter.submit({**SPEC, "seed": n}), range(jobs)))
    cluster.wait_terminal(ids[-1:], 120)
    elapsed = time.monotonic() - started
    cluster.wait_terminal(ids, 60)
    return elapsed


def soak(
    cluster: Cluster, seconds: float, sample_every: float = 5.0, capacity_jobs: int = 300,
    rate: float | None = None, retention_seconds: float | None = None,
) -> dict[str, Any]:
    """``rate`` jobs a second (default: half the capacity measured first) for ``seconds``;
    with ``retention_seconds``, terminal jobs expire that long after they ended
    (``JOB_RETENTION_DAYS``), so that the store's size should stay flat. It must exceed two
    samples (a sample reads jobs made up to two samples ago)."""
    if retention_seconds is not None:
        cluster.env["JOB_RETENTION_DAYS"] = repr(retention_seconds / 86400)
    cluster.start_orchestrator()
    for _ in range(2):
        cluster.start_worker(proxied=False)
    capacity = measure_capacity(cluster, capacity_jobs)
    rate = rate or capacity / 2
    samples: list[dict[str, Any]] = []
    # the last two windows' (when, seconds) of POST /jobs and (when, job id) of the jobs
    # created, in the order they answered: the sampler drops the older ones as it goes, so
    # that a sample costs the same at the end of the run as at its start
    latencies: deque[tuple[float, float]] = deque()
    created: deque[tuple[float, str]] = deque()
    last_ids: deque[str] = deque(maxlen=200)
    submitted = 0
    lock = threading.Lock()
    halt = threading.Event()

    def submit(n: int) -> None:
        nonlocal submitted
        sent = time.monotonic()
        try:
            job_id = submitter.submit({**SPEC, "seed": n})
        except (httpx.HTTPError, RuntimeError):
            return
        with lock:
            latencies.append((sent, time.monotonic() - sent))
            created.append((sent, job_id))
            last_ids.append(job_id)
            submitted += 1

    def pace() -> None:
        with ThreadPoolExecutor(8) as pool:
            start, n = time.monotonic(), 0
            while not halt.is_set():
                due = start + n / rate
                if (wait := due - time.monotonic()) > 0:
                    halt.wait(wait)
                pool.submit(submit, n)
                n += 1

    pacer = threading.Thread(target=pace, daemon=True)
    with Submitter(cluster) as submitter, httpx.Client(base_url=cluster.url, timeout=30.0) as client:
        begin = time.monotonic()
        pacer.start()
        while time.monotonic() - begin < seconds:
            time.sleep(sample_every)
            samples.append(sample(cluster, client, begin, sample_every, latencies, created, lock))
        halt.set()
        pacer.join()
    with lock:
        ids = list(last_ids)
    final = cluster.wait_terminal(ids, 60)
    figures = figures_of_soak(samples, capacity, rate, seconds, submitted,
                              sum(j["status"] == "done" for j in final.values()), len(final))
    figures["retentionSeconds"] = retention_seconds
    return figures


def sample(cluster: Cluster, client: httpx.Client, begin: float, window: float,
           latencies: deque[tuple[float, float]], created: deque[tuple[float, str]],
           lock: threading.Lock) -> dict[str, Any]:
    now = time.monotonic()
    with lock:
        for entries in (latencies, created):
            while entries and entries[0][0] < now - 2 * window:
                entries.popleft()
        recent = [s for t, s in latencies if t >= now - window]
        finished_ids = [j for t, j in created if t < now - window][-30:]
    job_seconds: list[float] = []
    phases: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for job_id in finished_ids:
        job = client.get(f"/status/{job_id}").json()
        if job.get("status") == "done":
            job_seconds.append(seconds_between(job["createdAt"], job["updatedAt"]))
            if steps := job.get("steps"):
                phases["wait"].append(seconds_between(job["createdAt"], steps[0]["startedAt"]))
                phases["run"].append(seconds_between(steps[0]["startedAt"], steps[-1]["endedAt"]))
                phases["finish"].append(seconds_between(steps[-1]["endedAt"], job["updatedAt"]))
    processes = {}
    for name, pid in cluster.pids().items():
        try:
            processes[name] = {"rssKiB": rss_kib(pid), "fds": open_fds(pid), "cpuSeconds": cpu_seconds(pid)}
        except OSError:
            continue
    return {"t": round(now - begin, 1), "submitP99Ms": round(percentile(recent, 0.99) * 1000, 2),
            "jobP99Ms": round(percentile(job_seconds, 0.99) * 1000, 2), "submitted": len(recent),
            **{phase_key(phase): round(percentile(values, 0.99) * 1000, 2)
               for phase, values in phases.items()},
            "processes": processes, "referenceMs": reference_ms(),
            "databaseBytes": file_size(cluster.database),
            "walBytes": file_size(cluster.database.with_name(cluster.database.name + "-wal"))}


def file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def growth(series: list[float], warm: int) -> float | None:
    """The last quarter after the warm-up against the first quarter after it (medians: a
    single sample of a p99 is too noisy a baseline)."""
    after = series[warm:]
    quarter = len(after) // 4
    if quarter < 1:
        return None
    first, last = statistics.median(after[:quarter]), statistics.median(after[-quarter:])
    if not first:
        return None
    return round((last - first) / first * 100, 1)


def windows_of(samples: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """The run in ``WINDOWS`` equal parts: the median of each latency and of the reference
    work over the part's samples, and each process's CPU milliseconds per job submitted."""
    size = len(samples) // WINDOWS
    if size < 2:
        return []
    windows = []
    for index in range(WINDOWS):
        part = samples[index * size:(index + 1) * size]
        jobs = sum(s["submitted"] for s in part[1:])
        window: dict[str, Any] = {"fromSeconds": part[0]["t"], "toSeconds": part[-1]["t"]}
        for key in ("jobP99Ms", *map(phase_key, PHASES), "submitP99Ms", "referenceMs"):
            window[key] = round(statistics.median(s[key] for s in part), 2)
        window["databaseMB"] = round((part[-1]["databaseBytes"] or 0) / 1e6, 1)
        window["cpuMsPerJob"] = {
            name: round((part[-1]["processes"][name]["cpuSeconds"]
                         - part[0]["processes"][name]["cpuSeconds"]) * 1000 / jobs, 2)
            for name in names
            if jobs and name in part[0]["processes"] and name in part[-1]["processes"]
        }
        windows.append(window)
    return windows


def figures_of_soak(samples: list[dict[str, Any]], capacity: float, rate: float, seconds: float,
                    submitted: int, done: int, checked: int) -> dict[str, Any]:
    warm = max(int(len(samples) * WARMUP_SHARE), sum(s["t"] <= WARMUP_MIN_SECONDS for s in samples))
    names = sorted({name for s in samples for name in s["processes"]})
    curves: dict[str, list[float]] = {}
    for name in names:
        for what in ("rssKiB", "fds"):
            curves[f"{name} {what}"] = [s["processes"].get(name, {}).get(what, float("nan")) for s in samples]
    curves["submit p99 ms"] = [s["submitP99Ms"] for s in samples]
    curves["job p99 ms"] = [s["jobP99Ms"] for s in samples]
    for phase in PHASES:
        curves[f"job {phase} p99 ms"] = [s[phase_key(phase)] for s in samples]
    curves["reference work ms"] = [s["referenceMs"] for s in samples]
    curves["database MB"] = [round((s["databaseBytes"] or 0) / 1e6, 1) for s in samples]
    curves["WAL MB"] = [round((s["walBytes"] or 0) / 1e6, 1) for s in samples]
    cpu = {}
    if len(samples) >= 2:
        first, last = samples[0], samples[-1]
        for name in names:
            if name in first["processes"] and name in last["processes"]:
                spent = last["processes"][name]["cpuSeconds"] - first["processes"][name]["cpuSeconds"]
                cpu[name] = round(spent / (last["t"] - first["t"]) * 100, 1)
    return {
        "seconds": seconds, "capacityJobsPerSecond": round(capacity, 1), "rateJobsPerSecond": round(rate, 1),
        "cpuPercent": cpu,
        "jobsSubmitted": submitted, "lastJobsChecked": checked, "lastJobsDone": done,
        "warmupSamples": warm,
        "growthPercentAfterWarmup": {name: growth(curve, warm) for name, curve in curves.items()},
        "curves": {name: {"min": min(c), "max": max(c), "plot": sparkline(c)} for name, c in curves.items()},
        "windows": windows_of(samples, names),
        "samples": samples,
    }
