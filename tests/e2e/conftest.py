from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import environment, free_port, levelforge, wait_healthy


@dataclass
class Deployment:
    """Real levelforge processes on one SQLite file; stopped at teardown."""

    tmp: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        process = levelforge(*args, env=env or self.env, log=self.tmp / "processes.log")
        self.processes.append(process)
        return process

    def serve(self, workers: int = 2) -> subprocess.Popen[bytes]:
        process = self.start("serve", "--port", str(self.port), "--workers", str(workers))
        wait_healthy(self.url, process)
        return process

    def orchestrator(self) -> subprocess.Popen[bytes]:
        process = self.start("orchestrator", "--port", str(self.port))
        wait_healthy(self.url, process)
        return process

    def worker(self, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        env = dict(env or self.env)
        env["ORCHESTRATOR_URL"] = self.url
        return self.start("worker", env=env)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0)

    def log(self) -> str:
        path = self.tmp / "processes.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    env = environment(tmp_path / "levelforge.db", VISIBILITY_TIMEOUT_SECONDS="2")
    deployment = Deployment(tmp=tmp_path, env=env)
    try:
        yield deployment
    finally:
        deployment.close()
