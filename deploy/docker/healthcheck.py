"""The container's health check (Dockerfile HEALTHCHECK, the ECS task's healthCheck).

An Orchestrator is healthy when its ``GET /healthz`` answers 200 (its store answers); a
Worker is healthy while its process runs (it exits on a fatal error, and ECS replaces it),
so the check passes for it. Which role the container runs is read from PID 1's command
line, or ``HEALTHCHECK_ROLE``. Exit status 0 healthy, 1 not (Docker's convention).
Only the standard library: it runs in the image's Python without importing levelforge.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000/healthz"


def role() -> str:
    chosen = os.environ.get("HEALTHCHECK_ROLE")
    if chosen:
        return chosen
    try:
        arguments = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "orchestrator"
    return "worker" if b"worker" in arguments else "orchestrator"


def main() -> int:
    if role() == "worker":
        return 0
    url = os.environ.get("HEALTHCHECK_URL", DEFAULT_URL)
    try:
        with urllib.request.urlopen(url, timeout=4) as answer:  # noqa: S310 (a fixed local URL)
            healthy = answer.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
