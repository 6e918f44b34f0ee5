"""``SqliteJobStore.without_waiting``: a write that would wait for the file's write lock
writes nothing and raises ``WouldWait``; a free lock is taken at once."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from levelforge import lifecycle
from levelforge.errors import WouldWait
from levelforge.jobs import JobStatus, Step, new_job
from levelforge.stores import sqlite_connections
from levelforge.stores.sqlite import SqliteJobStore


def a_step(job_id: str, name: str = "plan_layout") -> Step:
    return Step.model_validate({
        "stepId": f"{job_id}:{name}", "name": name, "startedAt": "2025-12-25T12:00:00.000Z",
        "endedAt": "2025-12-25T12:00:00.001Z", "durationMs": 1, "summary": name, "status": "ok",
    })


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteJobStore]:
    store = SqliteJobStore(tmp_path / "jobs.db")
    yield store
    store.close()


def test_a_free_lock_is_taken_at_once(store: SqliteJobStore) -> None:
    job = store.insert(new_job({"seed": 1})).job
    with store.without_waiting():
        status = lifecycle.record_step(store, job.id, a_step(job.id))
        done = lifecycle.complete(store, job.id, {"summary": {"rooms": 1}})
    assert status is JobStatus.RUNNING
    assert (done.status, done.result) == (JobStatus.DONE, {"summary": {"rooms": 1}})
    assert store.get(job.id).result == {"summary": {"rooms": 1}}


def test_a_lock_held_by_another_connection_raises_would_wait_and_writes_nothing(
    store: SqliteJobStore, tmp_path: Path
) -> None:
    job = store.insert(new_job({"seed": 1})).job
    holder = sqlite3.connect(tmp_path / "jobs.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with store.without_waiting(), pytest.raises(WouldWait):
            lifecycle.record_step(store, job.id, a_step(job.id))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.get(job.id).steps == []
    lifecycle.record_step(store, job.id, a_step(job.id))  # waiting allowed again: written
    assert [step.name for step in store.get(job.id).steps] == ["plan_layout"]


def test_a_lock_held_by_another_thread_of_this_process_raises_would_wait(store: SqliteJobStore) -> None:
    job = store.insert(new_job({"seed": 1})).job
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with store._db.write():  # the file's write lock, held by this thread
            inside.set()
            leave.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(5)
        with store.without_waiting(), pytest.raises(WouldWait):
            lifecycle.record_step(store, job.id, a_step(job.id))
    finally:
        leave.set()
        holder.join()
    assert store.get(job.id).steps == []


def test_the_wal_stays_bounded_when_only_hurried_writes_happen(
    store: SqliteJobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given an Orchestrator whose only writes are hurried ones (they never checkpoint)
    When it records many steps
    Then its background checkpoints keep the WAL file from growing with them."""
    monkeypatch.setattr(sqlite_connections, "CHECKPOINT_EVERY", 40)
    jobs = [store.insert(new_job({"seed": seed})).job for seed in range(60)]
    wal = tmp_path / "jobs.db-wal"
    sizes = []
    for round_ in range(10):
        for job in jobs:
            step = a_step(job.id, f"step_{round_}")
            try:  # as the Orchestrator does (api.soon): at once, or waiting when it would wait
                with store.without_waiting():
                    lifecycle.record_step(store, job.id, step)
            except WouldWait:
                lifecycle.record_step(store, job.id, step)
        store._db._checkpointer.join(10)  # the checkpoint started by this round's commits
        sizes.append(wal.stat().st_size)
    assert all(len(store.get(job.id).steps) == 10 for job in jobs)
    assert max(sizes) < 3 * sizes[0], sizes
