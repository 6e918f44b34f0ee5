"""The Orchestrator on an embedded store whose file another connection holds locked:
write routes answer a prompt ``503`` with ``Retry-After`` (not a wait as long as the
outage), read routes keep answering, and after the lock the job goes on to ``done``."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.api.orchestrator_calls import TOKEN, assert_error, complete, create_job, post_step
from tests.contract.test_sqlite_locked_file import PROMPT, locked


def test_a_locked_store_file_answers_write_routes_with_a_prompt_503(client, db_path: Path) -> None:
    job = create_job(client)

    with locked(db_path):
        started = time.monotonic()
        create = client.post("/jobs", json={"seed": 7})
        create_seconds = time.monotonic() - started
        step = post_step(client, job["id"], TOKEN)
        status = client.get(f"/status/{job['id']}")
        health = client.get("/healthz")

    assert create_seconds <= PROMPT
    assert_error(health, 503, "store_unavailable")  # a store that refuses writes is not healthy
    for refused in (create, step):
        body = assert_error(refused, 503, "store_unavailable")
        assert int(refused.headers["retry-after"]) >= 1
        assert "locked" not in body["message"] and str(db_path) not in refused.text
    assert status.status_code == 200
    assert status.json()["status"] == "queued"

    # the lock released: the worker's retried step and its completion go through
    assert post_step(client, job["id"], TOKEN).json()["recorded"] is True
    assert complete(client, job["id"], TOKEN, {"summary": {"rooms": 12}}).status_code == 200
    assert client.get(f"/status/{job['id']}").json()["status"] == "done"
    assert client.post("/jobs", json={"seed": 8}).status_code == 202


def test_the_lock_holder_sees_nothing_written_during_the_outage(client, db_path: Path) -> None:
    """A refused creation leaves no job behind (the 503 is truthful: nothing was queued)."""
    with locked(db_path):
        assert client.post("/jobs", json={"seed": 9}).status_code == 503

    with sqlite3.connect(db_path) as connection:
        assert connection.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM queue_messages").fetchone()[0] == 0
