"""Make docs/viewer.png, the README's picture of the viewer, from a real run.

Starts `levelforge serve` on a free port over a fresh SQLite file, submits a job, waits
for it, opens its page in headless Chromium (Debian's `/usr/bin/chromium`, driven by
Playwright: no browser download) and screenshots it. The PNG must stay under 300 KB.

    .venv/bin/python scripts/screenshot.py [--out docs/viewer.png] [--seed 7]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

logger = logging.getLogger("screenshot")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 860}
MAX_BYTES = 300 * 1024
SPEC = {"width": 64, "height": 40, "rooms": 12, "difficulty": 4, "theme": "dungeon", "loops": 0.2}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(check: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def start_service(database: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBS_", "ARTIFACTS_", "AWS_", "API_"))}
    env["DATABASE_PATH"] = str(database)
    command = [sys.executable, "-m", "levelforge", "serve", "--port", str(port), "--workers", "1"]
    with log.open("wb") as sink:
        return subprocess.Popen(
            command, env=env, start_new_session=True, stdout=sink, stderr=subprocess.STDOUT
        )


def healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def run_job(client: httpx.Client, seed: int) -> str:
    response = client.post("/jobs", json={"seed": seed, **SPEC})
    response.raise_for_status()
    job_id: str = response.json()["id"]

    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        return job if job["status"] in ("done", "failed") else None

    job = wait_for(finished, f"job {job_id}")
    if job["status"] != "done":
        raise SystemExit(f"job {job_id} failed: {job['error']}")
    return job_id


def screenshot(url: str, out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
            page.goto(url)
            page.locator("#job-status.badge-done").wait_for()
            page.locator("#result").wait_for()
            if page.locator("#preview").is_visible():
                page.wait_for_function("document.getElementById('preview-img').naturalWidth > 0")
            page.wait_for_timeout(400)  # the steps' arrival animation
            page.screenshot(path=str(out))
        finally:
            browser.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "viewer.png")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "serve.log"
        service = start_service(Path(tmp) / "levelforge.db", port, log)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as client:
                wait_for(lambda: service.poll() is not None or healthy(client), "levelforge serve")
                if service.poll() is not None:
                    raise SystemExit(f"levelforge serve exited with {service.returncode}:\n{log.read_text()}")
                job_id = run_job(client, args.seed)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            screenshot(f"http://127.0.0.1:{port}/#/jobs/{job_id}", args.out)
        finally:
            if service.poll() is None:
                os.killpg(service.pid, signal.SIGTERM)
            service.wait(timeout=15)
    size = args.out.stat().st_size
    logger.info("wrote %s (%d bytes) of job %s", args.out, size, job_id)
    if size >= MAX_BYTES:
        raise SystemExit(f"{args.out} is {size} bytes: over the {MAX_BYTES}-byte limit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
