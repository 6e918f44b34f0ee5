"""Real levelforge processes for end-to-end tests: started, awaited, stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")
TOKEN = "e2e-internal-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(database: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBS_", "ARTIFACTS_", "AWS_"))}
    env.update({"DATABASE_PATH": str(database), "INTERNAL_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def levelforge(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "levelforge", *args],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until(check: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.02) -> T:
    """Poll ``check`` until it returns something other than None (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    def healthy() -> bool | None:
        if process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before it was healthy")
        try:
            return True if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200 else None
        except httpx.TransportError:
            return None

    wait_until(healthy, timeout=timeout, what=f"{base_url}/healthz")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGTERM, and the exit status (SIGKILL of the whole group if it does not stop)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
