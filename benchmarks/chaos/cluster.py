"""Real levelforge processes for the campaigns: one Orchestrator (``levelforge
orchestrator``) and separate ``levelforge worker`` processes, on the embedded default
(SQLite file, local queue, inline results) or on AWS (a ministack of the campaign's own,
with the table, bucket and queues of ``aws-init`` and the documented IAM users).

Every worker reaches the Orchestrator through its own ``Proxy`` (and, on AWS, the
emulator through another), so a campaign sees exactly what each worker sent and got.
Everything binds to 127.0.0.1; ``close()`` kills whatever was started, by process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.chaos.proxy import Proxy
from tests.e2e.processes import environment, free_port, levelforge, wait_healthy

REPO = Path(__file__).resolve().parents[2]
MINISTACK = REPO / ".emu" / "bin" / "ministack"
BACKENDS = ("sqlite", "aws")
PIPELINE = (
    "plan_layout", "carve_rooms", "connect_rooms", "place_doors", "place_keys", "place_enemies",
    "validate", "compose_scene_graph", "render_ascii_minimap", "store_artifacts",
)
TERMINAL = ("done", "failed")


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    proxy: Proxy
    aws_proxy: Proxy | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGCONT)
            self.kill()
        self.proxy.close()
        if self.aws_proxy is not None:
            self.aws_proxy.close()


class Ministack:
    """A ministack of one campaign, persisting its state across a graceful stop, so
    that it can be stopped and started again on the same port (the store outage)."""

    def __init__(self, tmp: Path) -> None:
        if not MINISTACK.exists():
            raise SystemExit(f"{MINISTACK} is missing: run scripts/install-emulator.sh")
        self.port = free_port()
        self.state = tmp / "ministack-state"
        self.log = tmp / "ministack.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({
            "BIND_HOST": "127.0.0.1", "GATEWAY_PORT": str(self.port), "IOT_MTLS_ENABLED": "0",
            "SFTP_ENABLED": "0", "AUTH": "true", "LOG_LEVEL": "WARNING",
            "PERSIST_STATE": "1", "STATE_DIR": str(self.state),
        })
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [str(MINISTACK)], env=env, stdout=sink, stderr=subprocess.STDOUT,
                cwd=self.state.parent, start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"ministack exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{self.url}/_ministack/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("ministack was not ready after 30 s")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: ministack saves its state and exits."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process and self.process.poll() is None else []


@dataclass
class Cluster:
    backend: str
    tmp: Path
    visibility_timeout: float = 2.0
    max_deliveries: int = 5
    port: int = field(default_factory=free_port)
    orchestrator: subprocess.Popen[bytes] | None = None
    workers: list[WorkerProcess] = field(default_factory=list)
    ministack: Ministack | None = None  # given: shared, left running by close()
    env: dict[str, str] = field(default_factory=dict)
    worker_env: dict[str, str] = field(default_factory=dict)
    database: Path = field(init=False)
    _client: httpx.Client | None = None
    _owns_ministack: bool = False

    def __post_init__(self) -> None:
        self.database = self.tmp / "levelforge.db"
        extra = {"VISIBILITY_TIMEOUT_SECONDS": str(self.visibility_timeout),
                 "MAX_DELIVERIES": str(self.max_deliveries), "LOG_LEVEL": "WARNING"}
        if self.backend == "sqlite":
            self.env = environment(self.database, **extra)
            self.worker_env = dict(self.env)
            return
        # AWS: imported here so that the SQLite campaigns need neither boto3 nor pytest
        from tests.aws.conftest import make_stack  # noqa: PLC0415
        from tests.aws.emulator import EVERYTHING, Emulator, unique  # noqa: PLC0415

        self._owns_ministack = self.ministack is None
        if self.ministack is None:
            self.ministack = Ministack(self.tmp)
        assert self.ministack.process is not None
        emulator = Emulator(port=self.ministack.port, process=self.ministack.process, log=self.ministack.log)
        try:
            emulator.admin = emulator.user(unique("admin"), EVERYTHING)
            stack = make_stack(emulator, visibility_timeout=self.visibility_timeout,
                               max_deliveries=self.max_deliveries)
            self.env = stack.environment(self.database, stack.user("orchestrator"), LOG_LEVEL="WARNING")
            self.worker_env = stack.environment(self.database, stack.user("worker"), LOG_LEVEL="WARNING")
        except BaseException:
            self.close()  # nothing else would stop the emulator started above
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=30.0)
        return self._client

    def start_orchestrator(self) -> subprocess.Popen[bytes]:
        self.orchestrator = levelforge("orchestrator", "--port", str(self.port), env=self.env,
                                       log=self.tmp / "orchestrator.log")
        wait_healthy(self.url, self.orchestrator, timeout=30)
        return self.orchestrator

    def kill_orchestrator(self) -> None:
        if self.orchestrator is not None and self.orchestrator.poll() is None:
            os.killpg(self.orchestrator.pid, signal.SIGKILL)
            self.orchestrator.wait()

    def start_worker(
        self, *, delay: float = 0.0, concurrency: int = 1, proxied: bool = True
    ) -> WorkerProcess:
        proxy = Proxy(self.port, delay=delay)
        env = dict(self.worker_env, ORCHESTRATOR_URL=proxy.url if proxied else self.url)
        aws_proxy = None
        if self.ministack is not None and proxied:
            aws_proxy = Proxy(self.ministack.port)
            env["AWS_ENDPOINT_URL"] = aws_proxy.url
        process = levelforge("worker", "--concurrency", str(concurrency), env=env,
                             log=self.tmp / "workers.log")
        worker = WorkerProcess(process, proxy, aws_proxy)
        self.workers.append(worker)
        return worker

    def submit(self, spec: dict[str, Any], client: httpx.Client | None = None) -> str:
        """``POST /jobs`` through ``client`` (by default the cluster's own); the new id."""
        response = (client or self.client).post("/jobs", json=spec)
        if response.status_code != 202:
            raise RuntimeError(f"POST /jobs: {response.status_code} {response.text[:300]}")
        job_id: str = response.json()["id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.client.get(f"/status/{job_id}")
        response.raise_for_status()
        job: dict[str, Any] = response.json()
        return job

    def wait_terminal(self, job_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
        """The jobs as they are when all are terminal, or when ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        jobs: dict[str, dict[str, Any]] = {}
        left = list(job_ids)
        while True:
            still = []
            for job_id in left:
                try:
                    jobs[job_id] = self.job(job_id)
                except httpx.HTTPError:
                    still.append(job_id)
                    continue
                if jobs[job_id]["status"] not in TERMINAL:
                    still.append(job_id)
            left = still
            if not left or time.monotonic() > deadline:
                return jobs
            time.sleep(0.02)

    def pids(self) -> dict[str, int]:
        found = {}
        if self.orchestrator is not None and self.orchestrator.poll() is None:
            found["orchestrator"] = self.orchestrator.pid
        for n, worker in enumerate(self.workers):
            if worker.process.poll() is None:
                found[f"worker-{n}"] = worker.pid
        if self.ministack is not None:
            for pid in self.ministack.pids():
                found["ministack"] = pid
        return found

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        for worker in self.workers:
            worker.close()
        self.kill_orchestrator()
        stack = self.ministack.process if self.ministack is not None and self._owns_ministack else None
        if stack is not None and stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()


class ClusterScope:
    """``with ClusterScope(backend) as cluster:`` a cluster in a temporary folder, kept
    when ``keep`` (or when the body raised) for its logs."""

    def __init__(self, backend: str, *, keep: bool = False, **options: Any) -> None:
        self.backend, self.keep, self.options = backend, keep, options
        self.tmp = Path(tempfile.mkdtemp(prefix=f"chaos-{backend}-"))

    def __enter__(self) -> Cluster:
        self.cluster = Cluster(self.backend, self.tmp, **self.options)
        return self.cluster

    def __exit__(self, kind: object, *_: object) -> None:
        self.cluster.close()
        if kind is None and not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif kind is not None:
            print(f"  (logs kept in {self.tmp})")


def stored(job: dict[str, Any]) -> dict[str, Any]:
    """The job as stored: without the presigned URLs, which are made afresh at each read."""
    result = job.get("result")
    if isinstance(result, dict):
        job = {**job, "result": {k: v for k, v in result.items() if not k.endswith("Url")}}
    return job


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    before, after = stored(before), stored(after)
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def check_run(job: dict[str, Any]) -> dict[str, Any]:
    """What one finished job says about the invariants."""
    step_ids = [step["stepId"] for step in job.get("steps", [])]
    return {
        "status": job.get("status"),
        "duplicates": len(step_ids) - len(set(step_ids)),
        "complete_run": [step["name"] for step in job.get("steps", [])] == list(PIPELINE),
        "error": (job.get("error") or {}).get("code"),
    }
