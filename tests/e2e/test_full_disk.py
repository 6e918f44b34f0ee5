"""End to end on the embedded default: the disk under the SQLite file fills up while real
workers are busy (a small tmpfs this test mounts, filled by a file). Writes answer ``503``
with ``Retry-After``, no job is half written (every job stored is one a client was told
was accepted), and once the space is back everything goes on by itself: new jobs are
accepted and every accepted job finishes (issue 16)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Deployment
from tests.e2e.following import assert_complete_run, wait_terminal
from tests.e2e.processes import environment, wait_until

SIZE = "8m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A fresh 8 MB tmpfs of this test's own (needs root; skipped locally without, failing in CI)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if made.returncode != 0:
        reason = f"cannot mount a tmpfs (root is needed): {made.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Write ``path`` until the file system has no byte left."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (65536, 512, 1):
            try:
                while True:
                    os.write(descriptor, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(descriptor)


@pytest.mark.timeout(120)
def test_a_full_disk_answers_503_writes_nothing_half_and_recovers_by_itself(tmp_path, small_disk) -> None:
    """Given `serve` with its SQLite file on a small disk, and a job done
    When the disk is filled to the last byte and clients keep posting jobs, then the space
    comes back
    Then the refused posts are 503 with Retry-After, reads go on, no job is stored that was
    not accepted, a new job is accepted within seconds of the space coming back, and every
    accepted job finishes, each step once."""
    env = environment(small_disk / "levelforge.db", VISIBILITY_TIMEOUT_SECONDS="2")
    deployment = Deployment(tmp=tmp_path, env=env)
    try:
        serve = deployment.serve(workers=1)
        accepted: list[str] = []
        answers: list[tuple[int, str | None]] = []
        with deployment.client() as client:
            accepted.append(client.post("/jobs", json={"seed": 1}).json()["id"])
            assert_complete_run(wait_terminal(client, accepted[0]))
            filler = small_disk / "filler"
            fill(filler)

            for seed in range(2, 400):  # the WAL's slack absorbs a few writes first
                response = client.post("/jobs", json={"seed": seed})
                answers.append((response.status_code, response.headers.get("retry-after")))
                if response.status_code == 202:
                    accepted.append(response.json()["id"])
                elif sum(status == 503 for status, _ in answers) >= 5:
                    break
            status_while_full = client.get(f"/status/{accepted[0]}").status_code

            filler.unlink()

            def accepted_now() -> str | None:
                response = client.post("/jobs", json={"seed": 999})
                return str(response.json()["id"]) if response.status_code == 202 else None

            after = wait_until(accepted_now, timeout=20, what="a job accepted once space is back", every=0.2)
            accepted.append(after)
            jobs = [wait_terminal(client, job_id, timeout=60) for job_id in accepted]
            stored = {job["id"] for job in client.get("/jobs", params={"limit": 100}).json()["jobs"]}

        refused = [(status, retry) for status, retry in answers if status != 202]
        assert refused, "the disk never filled up"
        assert all(status == 503 and retry for status, retry in refused), refused
        assert status_while_full == 200
        assert stored == set(accepted)
        for job in jobs:
            assert_complete_run(job)
        assert serve.poll() is None
        assert "Traceback" not in deployment.log()
    finally:
        deployment.close()
