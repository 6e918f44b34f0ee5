"""Following jobs over the public API, as a client would: shared by the end-to-end tests on
the embedded default and on AWS."""

from __future__ import annotations

from typing import Any

import httpx

from levelforge.worker import PIPELINE_STEPS
from tests.e2e.processes import wait_until


def wait_terminal(client: httpx.Client, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """The job once it is done or failed (an AssertionError after ``timeout``)."""

    def terminal() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/status/{job_id}").json()
        return job if job["status"] in ("done", "failed") else None

    return wait_until(terminal, timeout=timeout, what=f"job {job_id} to finish", every=0.02)


def started(client: httpx.Client, job_id: str) -> dict[str, Any] | None:
    """The job once its first step is recorded, else None."""
    job: dict[str, Any] = client.get(f"/status/{job_id}").json()
    return job if job["steps"] else None


def assert_complete_run(job: dict[str, Any]) -> None:
    """Done, every step of the pipeline once, in order, each ok."""
    assert job["status"] == "done", job["error"]
    step_ids = [step["stepId"] for step in job["steps"]]
    assert [step["name"] for step in job["steps"]] == list(PIPELINE_STEPS)
    assert len(step_ids) == len(set(step_ids))
    assert all(step["status"] == "ok" for step in job["steps"])
