"""Groups of writes on the embedded file (``ports.Grouping``, used by the Orchestrator's
``port_calls.GroupCommit``): many conditional writes, one transaction, each still atomic;
a group never waits for the file's write lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from levelforge import lifecycle
from levelforge.errors import JobTerminal, StepAlreadyRecorded
from levelforge.jobs import JobStatus, Step, new_job
from levelforge.ports import Grouping
from levelforge.queues.local import LocalQueue
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


def test_the_embedded_store_and_queue_can_group_their_writes(store: SqliteJobStore, tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path / "jobs.db", visibility_timeout=30, max_deliveries=5)
    try:
        assert isinstance(store, Grouping)
        assert isinstance(queue, Grouping)
    finally:
        queue.close()


def test_a_group_commits_its_writes_together_and_a_refused_one_changes_nothing(
    store: SqliteJobStore, tmp_path: Path
) -> None:
    """Given two jobs, one of them done
    When one group records a step of each, the first job's step twice, and completes the first
    Then the refused writes (duplicate, terminal) raise their own errors and change nothing,
    nothing is visible to another connection before the group ends, and all the rest after."""
    running = store.insert(new_job({"seed": 1})).job
    done = store.insert(new_job({"seed": 2})).job
    lifecycle.complete(store, done.id, {"summary": {"rooms": 1}})
    reader = sqlite3.connect(tmp_path / "jobs.db", isolation_level=None)
    try:
        assert store.begin_group()
        assert lifecycle.record_step(store, running.id, a_step(running.id)) is JobStatus.RUNNING
        with pytest.raises(StepAlreadyRecorded):
            lifecycle.record_step(store, running.id, a_step(running.id))
        with pytest.raises(JobTerminal):
            lifecycle.record_step(store, done.id, a_step(done.id))
        lifecycle.complete(store, running.id, {"summary": {"rooms": 2}})
        seen = reader.execute("SELECT status FROM jobs WHERE id = ?", (running.id,)).fetchone()
        assert seen == ("queued",), "a write of an open group was visible before its commit"
        store.end_group()
    finally:
        reader.close()
    first, second = store.get(running.id), store.get(done.id)
    assert (first.status, [s.name for s in first.steps], first.result) == (
        JobStatus.DONE, ["plan_layout"], {"summary": {"rooms": 2}}
    )
    assert (second.status, second.steps, second.result) == (JobStatus.DONE, [], {"summary": {"rooms": 1}})


def test_a_lock_held_by_another_connection_refuses_the_group_at_once(
    store: SqliteJobStore, tmp_path: Path
) -> None:
    job = store.insert(new_job({"seed": 1})).job
    holder = sqlite3.connect(tmp_path / "jobs.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert store.begin_group() is False
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    lifecycle.record_step(store, job.id, a_step(job.id))  # not left in a group: an ordinary write
    assert [step.name for step in store.get(job.id).steps] == ["plan_layout"]
    assert store.begin_group() is True
    store.end_group()


def test_a_lock_held_by_another_thread_of_this_process_refuses_the_group(store: SqliteJobStore) -> None:
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with store._db.write():  # the file's write lock, held by this thread
            inside.set()
            leave.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(5)
        assert store.begin_group() is False
    finally:
        leave.set()
        holder.join()
    assert store.begin_group() is True
    store.end_group()


def test_the_wal_stays_bounded_when_only_groups_write(
    store: SqliteJobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given an Orchestrator whose only writes are groups (they never checkpoint)
    When it records many steps
    Then its background checkpoints keep the WAL file from growing with them."""
    monkeypatch.setattr(sqlite_connections, "CHECKPOINT_EVERY", 40)
    jobs = [store.insert(new_job({"seed": seed})).job for seed in range(60)]
    wal = tmp_path / "jobs.db-wal"
    sizes = []
    for round_ in range(10):
        for job in jobs:
            while not store.begin_group():  # refused only while a checkpoint holds the lock
                store._db._checkpointer.join(10)
            lifecycle.record_step(store, job.id, a_step(job.id, f"step_{round_}"))
            store.end_group()
        store._db._checkpointer.join(10)  # the checkpoint started by this round's commits
        sizes.append(wal.stat().st_size)
    assert all(len(store.get(job.id).steps) == 10 for job in jobs)
    assert max(sizes) < 3 * sizes[0], sizes
