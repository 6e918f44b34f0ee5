"""Retention end to end on the embedded default (issue 16): with JOB_RETENTION_DAYS=0.0001
(8.64 s), a real `serve` answers 404 for a finished job once that time has passed since
it ended, and its sweeper deletes it from the file, with its idempotency key."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tests.e2e.following import assert_complete_run, wait_terminal
from tests.e2e.processes import wait_until

RETENTION_DAYS = "0.0001"


def rows(path, sql: str) -> int:
    with sqlite3.connect(path) as connection:
        count: int = connection.execute(sql).fetchone()[0]
    return count


@pytest.mark.timeout(90)
def test_a_finished_job_expires_after_a_fraction_of_a_day_and_is_swept(deployment) -> None:
    """Given `serve` with JOB_RETENTION_DAYS=0.0001 and three done jobs (one with a key)
    When 8.64 s have passed since they ended
    Then each answers 404, and the sweeper deletes their rows and the key from the file;
    a job created afterwards is served as usual."""
    deployment.env["JOB_RETENTION_DAYS"] = RETENTION_DAYS
    deployment.serve(workers=1)
    database = deployment.tmp / "levelforge.db"
    with deployment.client() as client:
        job_ids = [client.post("/jobs", json={"seed": n}, headers={"Idempotency-Key": "k"} if n == 0 else {})
                   .json()["id"] for n in range(3)]
        for job_id in job_ids:
            assert_complete_run(wait_terminal(client, job_id))
        ended = time.monotonic()

        expired_at = wait_until(
            lambda: time.monotonic() if all(client.get(f"/status/{j}").status_code == 404 for j in job_ids)
            else None, timeout=30, what="the jobs to expire", every=0.2,
        )
        wait_until(lambda: rows(database, "SELECT count(*) FROM jobs") == 0 or None,
                   timeout=30, what="the sweeper to delete them", every=0.2)
        fresh = client.post("/jobs", json={"seed": 9}).json()["id"]
        assert_complete_run(wait_terminal(client, fresh))

    assert 8.0 <= expired_at - ended <= 20.0
    assert rows(database, "SELECT count(*) FROM idempotency_keys") == 0
