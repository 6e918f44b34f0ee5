"""``levelforge backup PATH`` on a running service (issue 16): a consistent copy taken
while jobs are being created and run, restored under a fresh ``serve``, holds every job
that was done before the copy, with its steps and artifacts; every job in it finishes."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Deployment
from tests.e2e.following import assert_complete_run, wait_terminal
from tests.e2e.processes import environment

SPEC = {"width": 96, "height": 64, "rooms": 30}


def every_job(client: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = client.get("/jobs", params=params).json()
        found += page["jobs"]
        if not page.get("nextCursor"):
            return found
        params["cursor"] = page["nextCursor"]


def run_backup(env: dict[str, str], target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "levelforge", "backup", str(target)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.timeout(120)
def test_a_backup_of_a_running_store_restores_every_job_step_and_artifact(deployment, tmp_path) -> None:
    """Given `serve` with six jobs done and a client creating more all the while
    When `levelforge backup PATH` runs, and a fresh `serve` starts on a copy of PATH
    Then the backup succeeds without stopping the service; the restored service has the
    six jobs with the same steps and artifacts, and every job it holds finishes."""
    deployment.serve(workers=2)
    target = tmp_path / "backups" / "levelforge.db"
    target.parent.mkdir()
    busy = threading.Event()
    with deployment.client() as client:
        done = [client.post("/jobs", json={**SPEC, "seed": n}).json()["id"] for n in range(6)]
        originals = {job_id: wait_terminal(client, job_id) for job_id in done}
        minimaps = {job_id: client.get(f"/jobs/{job_id}/artifacts/minimap.txt").text for job_id in done}

        def keep_creating() -> None:
            with deployment.client() as creator:
                seed = 100
                while not busy.is_set():
                    creator.post("/jobs", json={**SPEC, "seed": seed})
                    seed += 1

        creating = threading.Thread(target=keep_creating)
        creating.start()
        try:
            copied = run_backup(deployment.env, target)
            alive = client.get("/healthz").status_code
        finally:
            busy.set()
            creating.join(30)
    assert copied.returncode == 0, copied.stderr
    assert "backed up" in copied.stdout and alive == 200

    restored = Deployment(tmp=tmp_path / "backups", env=environment(target, VISIBILITY_TIMEOUT_SECONDS="2"))
    try:
        restored.serve(workers=2)
        with restored.client() as client:
            for job_id, original in originals.items():
                job = client.get(f"/status/{job_id}").json()
                assert job == original
                assert client.get(f"/jobs/{job_id}/artifacts/minimap.txt").text == minimaps[job_id]
            listed = every_job(client)
            assert {job["id"] for job in listed} >= set(done)
            for job in listed:
                assert_complete_run(wait_terminal(client, job["id"], timeout=60))
    finally:
        restored.close()


def test_a_backup_without_a_store_says_so(tmp_path) -> None:
    """Given no store at DATABASE_PATH, when backed up, then exit 2 naming the variable."""
    copied = run_backup(environment(tmp_path / "missing.db"), tmp_path / "copy.db")

    assert copied.returncode == 2 and "DATABASE_PATH" in copied.stderr
    assert not (tmp_path / "copy.db").exists()
