"""The embedded store's schema migration for access control (``PRAGMA user_version`` 1 →
2): a file written by an earlier build keeps its jobs and idempotency keys, all in the
default tenant, and listing stays an indexed query."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from levelforge.jobs import DEFAULT_TENANT, IdempotencyClaim, new_job
from levelforge.stores import sqlite as embedded
from levelforge.stores.sqlite import SqliteJobStore


def write_version_1(path: Path) -> str:
    """A database as version 1 left it: one job and its idempotency key."""
    job = new_job({"seed": 1})
    with sqlite3.connect(path) as connection:
        for statement in embedded._SCHEMA_1:
            connection.execute(statement)
        connection.execute(
            "INSERT INTO jobs (id, status, spec, created_at, updated_at) VALUES (?, 'queued', ?, ?, ?)",
            (job.id, '{"seed": 1}', job.created_at, job.updated_at),
        )
        connection.execute(
            "INSERT INTO idempotency_keys VALUES ('order-1', 'f1', ?, ?)", (job.id, time.time())
        )
        connection.execute("PRAGMA user_version = 1")
    return job.id


def test_a_version_1_file_is_migrated_keeping_its_jobs_and_keys(tmp_path: Path) -> None:
    """Given a version 1 file with a job and a key, When the store opens it, Then the
    schema is the current one, the job belongs to the default tenant and is listed, and its key
    still replays for the default tenant only."""
    path = tmp_path / "levelforge.db"
    job_id = write_version_1(path)

    store = SqliteJobStore(path)
    try:
        version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
        listed = store.page(DEFAULT_TENANT, None, 10, None)
        replay = store.insert(new_job({"seed": 1}), IdempotencyClaim(key="order-1", fingerprint="f1"))
        claim = IdempotencyClaim(key="order-1", fingerprint="f1")
        other = store.insert(new_job({"seed": 1}, tenant="acme"), claim)
    finally:
        store.close()

    assert version == embedded.SCHEMA_VERSION
    assert [job.id for job in listed] == [job_id] and listed[0].tenant == DEFAULT_TENANT
    assert replay.replayed and replay.job.id == job_id
    assert not other.replayed


def test_listing_a_tenants_jobs_uses_an_index(tmp_path: Path) -> None:
    """Given the store, When a tenant's listing (with or without a status) is planned, Then
    SQLite searches a tenant index rather than scanning the table."""
    path = tmp_path / "levelforge.db"
    SqliteJobStore(path).close()
    connection = sqlite3.connect(path)
    plans = [
        " ".join(row[3] for row in connection.execute(
            f"EXPLAIN QUERY PLAN SELECT id FROM jobs WHERE tenant = ? {extra}"
            " ORDER BY created_at DESC, id DESC LIMIT 21", params,
        ))
        for extra, params in (("", ("acme",)), ("AND status = ?", ("acme", "queued")))
    ]
    connection.close()

    assert all(plan.startswith("SEARCH jobs USING") and "INDEX jobs_tenant" in plan for plan in plans), plans
    assert all("TEMP B-TREE" not in plan for plan in plans), plans
