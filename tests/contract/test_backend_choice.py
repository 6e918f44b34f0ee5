"""Backends are chosen from configuration in one factory each (CONTRACT §8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from levelforge import aws
from levelforge.config import load_settings
from levelforge.errors import ConfigurationError, StoreUnavailable
from levelforge.queues import LocalQueue, open_queue
from levelforge.stores import SqliteJobStore, open_store


def test_nothing_set_means_sqlite_and_the_local_queue_in_one_file(tmp_path: Path) -> None:
    """Given only DATABASE_PATH, when the store and queue open, then both are embedded
    and share the file."""
    settings = load_settings(database_path=tmp_path / "one.db", max_deliveries=3)

    store, queue = open_store(settings), open_queue(settings)
    try:
        assert isinstance(store, SqliteJobStore) and isinstance(queue, LocalQueue)
        assert queue.max_deliveries == 3
        assert [p.name for p in tmp_path.iterdir() if p.suffix == ".db"] == ["one.db"]
        store.ping()
    finally:
        store.close()
        queue.close()


@pytest.fixture
def unreachable_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS pointed at a closed loopback port: nothing leaves the machine."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setattr(aws, "START_PATIENCE_SECONDS", 0)  # no wait for an outage to end


@pytest.mark.usefixtures("unreachable_aws")
def test_a_jobs_table_that_cannot_be_reached_stops_start_naming_it(tmp_path: Path) -> None:
    """Given JOBS_TABLE and an AWS endpoint that does not answer, when the store opens,
    then a ConfigurationError names JOBS_TABLE (at start, not at the first request)."""
    settings = load_settings(database_path=tmp_path / "x.db", jobs_table="jobs")

    with pytest.raises(ConfigurationError, match="JOBS_TABLE"):
        open_store(settings)


@pytest.mark.usefixtures("unreachable_aws")
def test_a_queue_that_cannot_be_reached_stops_start_naming_it(tmp_path: Path) -> None:
    """Given JOBS_QUEUE_URL and an AWS endpoint that does not answer, when the queue
    opens, then a ConfigurationError names JOBS_QUEUE_URL."""
    settings = load_settings(
        database_path=tmp_path / "x.db", jobs_queue_url="http://127.0.0.1:9/000000000000/jobs"
    )

    with pytest.raises(ConfigurationError, match="JOBS_QUEUE_URL"):
        open_queue(settings)


def test_an_unopenable_database_is_unavailable(tmp_path: Path) -> None:
    """Given a DATABASE_PATH in a missing directory, when the store opens, then
    StoreUnavailable names the path (sqlite3's error is its cause)."""
    path = tmp_path / "missing" / "x.db"

    with pytest.raises(StoreUnavailable, match="missing") as refused:
        SqliteJobStore(path)

    assert refused.value.__cause__ is not None


def test_a_closed_store_is_unavailable(tmp_path: Path) -> None:
    """Given a closed store, when used, then StoreUnavailable (not a sqlite3 error)."""
    store = SqliteJobStore(tmp_path / "x.db")
    store.close()

    with pytest.raises(StoreUnavailable):
        store.ping()
