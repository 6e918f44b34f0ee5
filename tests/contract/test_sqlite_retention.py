"""Retention on the embedded store (issue 16): the sweeper deletes expired jobs with their
idempotency keys and dead letters, in small transactions, and gives their pages back, so
that the file stops growing; a file of an earlier build is converted once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from levelforge import jobs
from levelforge.errors import JobNotFound
from levelforge.jobs import IdempotencyClaim, JobMessage, JobStatus
from levelforge.queues.local import LocalQueue
from levelforge.stores import retention
from levelforge.stores.retention import RetentionSweeper, open_sweeper
from levelforge.stores.sqlite import SCHEMA_VERSION, SqliteJobStore
from tests.contract.test_store_contract import SPEC

LONG_AGO = "2020-01-01T00:00:00.000Z"
#: a result about as big as a job's with its inline artifacts
RESULT = {"summary": {"rooms": 12}, "asciiMinimap": "#." * 20_000}
DAY = 86400.0


def finished_job(store: SqliteJobStore, *, ended: str | None = None, key: str | None = None) -> str:
    claim = IdempotencyClaim(key=key, fingerprint="f") if key is not None else None
    job_id = store.insert(jobs.new_job(dict(SPEC)), claim).job.id
    store.transition(job_id, to=JobStatus.DONE, allowed_from=jobs.FINISH_ALLOWED_FROM,
                     now=ended or jobs.timestamp(), result=RESULT)
    return job_id


def rows(path: Path, sql: str) -> int:
    with sqlite3.connect(path) as connection:
        count: int = connection.execute(sql).fetchone()[0]
    return count


def database_bytes(path: Path) -> int:
    """The database's size once the WAL is checkpointed into it."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def test_a_sweep_deletes_expired_jobs_with_their_keys_and_dead_letters(tmp_path: Path) -> None:
    """Given 70 jobs that ended long ago (one with an Idempotency-Key, one with a dead letter),
    a job that ended now and a queued one
    When the sweeper runs once
    Then the 70 are gone with their key and dead letter, in transactions of at most BATCH
    jobs; the recent and the queued job are kept."""
    path = tmp_path / "levelforge.db"
    store = SqliteJobStore(path, retention_seconds=DAY)
    queue = LocalQueue(path, visibility_timeout=30, max_deliveries=1)
    expired = [finished_job(store, ended=LONG_AGO, key="k1")] + [
        finished_job(store, ended=LONG_AGO) for _ in range(69)
    ]
    queue.send(JobMessage(job_id=expired[5], spec=SPEC).model_dump_json(by_alias=True))
    queue.receive()
    assert queue.receive() == []  # delivered once: redriven to the dead letters
    recent = finished_job(store)
    queued = store.insert(jobs.new_job(dict(SPEC))).job.id
    batches: list[int] = []
    delete = store.delete_expired
    store.delete_expired = lambda limit: batches.append(len(gone := delete(limit))) or gone  # type: ignore[method-assign]
    sweeper = open_sweeper(store, queue, DAY)
    assert sweeper is not None

    deleted, _freed = sweeper.sweep()

    assert deleted == 70 and sum(batches) == 70 and max(batches) <= retention.BATCH
    for job_id in expired:
        assert rows(path, f"SELECT count(*) FROM jobs WHERE id = '{job_id}'") == 0
    assert rows(path, "SELECT count(*) FROM idempotency_keys") == 0
    assert rows(path, "SELECT count(*) FROM queue_dead_letters") == 0
    assert store.get(recent).status is JobStatus.DONE and store.get(queued).status is JobStatus.QUEUED


def test_an_expired_job_is_gone_before_the_sweep_and_its_key_makes_a_new_job(tmp_path: Path) -> None:
    """Given a job made with a key, expired but not swept yet, When the key is used again,
    Then the old job is not found and a new job is made (the key went with its job)."""
    store = SqliteJobStore(tmp_path / "levelforge.db", retention_seconds=DAY)
    old = finished_job(store, ended=LONG_AGO, key="order-1")

    again = store.insert(jobs.new_job(dict(SPEC)), IdempotencyClaim(key="order-1", fingerprint="f"))

    assert not again.replayed and again.job.id != old
    try:
        store.get(old)
    except JobNotFound:
        return
    raise AssertionError("an expired job was read")


def test_the_file_stops_growing_when_jobs_expire_as_fast_as_they_come(tmp_path: Path) -> None:
    """Given rounds of 150 finished jobs of ~40 KB each, every round expiring the last
    When the sweeper runs after each round (no free pages kept in reserve)
    Then the file's size after each sweep stays within 10% of the first round's, far below
    what keeping every job would take."""
    path = tmp_path / "levelforge.db"
    store = SqliteJobStore(path, retention_seconds=DAY)
    sweeper = RetentionSweeper(store, None, DAY, keep_free_pages=0)
    sizes = []
    for _round in range(6):
        with sqlite3.connect(path) as connection:
            connection.execute(f"UPDATE jobs SET updated_at = '{LONG_AGO}' WHERE status = 'done'")
        for _ in range(150):
            finished_job(store)
        sweeper.sweep()
        sizes.append(database_bytes(path))

    assert rows(path, "PRAGMA auto_vacuum") == 2
    assert max(sizes[1:]) <= sizes[0] * 1.1, sizes
    assert sizes[-1] < 150 * 40_000 * 2, sizes  # two rounds' jobs at most, not six
    assert sweeper.deleted == 5 * 150 and sweeper.pages_freed > 0


def test_a_file_of_an_earlier_build_is_converted_to_incremental_vacuum(tmp_path: Path) -> None:
    """Given a version 2 file without auto_vacuum holding a job, When the store opens it,
    Then it is the current schema with incremental vacuum and the job is still there."""
    path = tmp_path / "levelforge.db"
    store = SqliteJobStore(path)
    job_id = finished_job(store)
    store.close()
    with sqlite3.connect(path, isolation_level=None) as connection:
        for statement in (
            "DROP TABLE webhook_deliveries", "ALTER TABLE jobs DROP COLUMN webhook_url",
            "DROP INDEX jobs_ended", "DROP INDEX jobs_queued", "DROP INDEX idempotency_keys_job",
            "ALTER TABLE jobs DROP COLUMN requeue_at", "PRAGMA user_version = 2",
            "PRAGMA auto_vacuum = 0", "VACUUM",
        ):
            connection.execute(statement)
    assert rows(path, "PRAGMA auto_vacuum") == 0

    reopened = SqliteJobStore(path)

    assert rows(path, "PRAGMA auto_vacuum") == 2 and rows(path, "PRAGMA user_version") == SCHEMA_VERSION
    assert reopened.get(job_id).result == RESULT
