"""The embedded store and local queue on a file someone else holds locked (a backup, a
stuck process, an operator's ``sqlite3`` shell): writes give up with ``StoreUnavailable``
after ``BUSY_TIMEOUT_SECONDS`` (~2 s), not after the whole outage; reads go on; and once
the lock is released everything works again (issue 6, store outage)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from levelforge.errors import StoreUnavailable
from levelforge.jobs import new_job
from levelforge.queues.local import LocalQueue
from levelforge.stores import sqlite_connections
from levelforge.stores.sqlite import SqliteJobStore
from levelforge.stores.sqlite_connections import BUSY_TIMEOUT_SECONDS, SqliteConnections

#: the wait a refused write may take: the timeout, plus scheduling slack on a busy machine
PROMPT = BUSY_TIMEOUT_SECONDS + 1.5


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another connection holds the file's write lock (``BEGIN EXCLUSIVE``) inside the block."""
    holder = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


def timed(action: object) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        action()  # type: ignore[operator]
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_the_default_wait_for_the_write_lock_is_about_two_seconds() -> None:
    assert 1.0 <= BUSY_TIMEOUT_SECONDS <= 3.0


def test_a_write_on_a_locked_file_gives_up_promptly(tmp_path: Path) -> None:
    """Given a file locked by another connection, when a store writes, then
    StoreUnavailable after about the busy timeout; a read still answers."""
    path = tmp_path / "x.db"
    store = SqliteJobStore(path)
    try:
        earlier = store.insert(new_job({"seed": 0})).job
        with locked(path):
            seconds, error = timed(lambda: store.insert(new_job({"seed": 1})))
            assert store.get(earlier.id).id == earlier.id  # WAL: readers are not blocked

        assert isinstance(error, StoreUnavailable), error
        assert BUSY_TIMEOUT_SECONDS - 0.2 <= seconds <= PROMPT
        store.insert(new_job({"seed": 2}))  # the lock is gone: writes work again
    finally:
        store.close()


def test_a_write_looks_again_within_a_fraction_of_a_millisecond_while_another_holds_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given another connection (another process) holding the write lock, when a store
    writes, then it looks again after 50 µs, doubling up to 2 ms (not SQLite's busy handler,
    which sleeps 1, 2, 5, 10 … ms whatever the holder does), and commits once the lock is
    free."""
    path = tmp_path / "x.db"
    store = SqliteJobStore(path)
    holder = sqlite3.connect(path, timeout=5, isolation_level=None)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 8:
            holder.execute("ROLLBACK")

    clock = SimpleNamespace(monotonic=time.monotonic, sleep=sleep)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        monkeypatch.setattr(sqlite_connections, "time", clock)
        job = store.insert(new_job({"seed": 1})).job
        monkeypatch.undo()
        assert store.get(job.id).id == job.id
    finally:
        holder.close()
        store.close()

    expected = [0.00005, 0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.002, 0.002]
    assert sleeps == pytest.approx(expected)


def test_check_writable_fails_while_the_file_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    connections = SqliteConnections(path, what="job store", busy_timeout=0.3)
    try:
        connections.check_writable()
        with locked(path), pytest.raises(StoreUnavailable, match="job store"):
            connections.check_writable()
        connections.check_writable()
    finally:
        connections.close()


def test_ping_fails_while_the_file_is_locked(tmp_path: Path) -> None:
    """Given a file locked by another connection, then the health check fails (the store
    reads, but refuses every write), promptly; after the lock it answers again."""
    path = tmp_path / "x.db"
    store = SqliteJobStore(path)
    try:
        store.ping()
        with locked(path):
            seconds, error = timed(store.ping)
        store.ping()
    finally:
        store.close()

    assert isinstance(error, StoreUnavailable), error
    assert seconds <= PROMPT


def insert_and_time(
    store: SqliteJobStore, seed: int, results: list[tuple[float, BaseException | None]]
) -> None:
    results.append(timed(lambda: store.insert(new_job({"seed": seed}))))


def test_writers_queued_in_one_process_all_give_up_within_the_timeout(tmp_path: Path) -> None:
    """Given 8 threads of one process writing to a locked file at once, then each gives up
    within about one busy timeout of its start: the wait for this process's turn counts
    against it, so the last in line does not wait for the others' timeouts too."""
    path = tmp_path / "x.db"
    store = SqliteJobStore(path)
    results: list[tuple[float, BaseException | None]] = []
    try:
        with locked(path):
            threads = [threading.Thread(target=insert_and_time, args=(store, n, results)) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
    finally:
        store.close()

    assert len(results) == 8
    assert all(isinstance(error, StoreUnavailable) for _seconds, error in results), results
    assert max(seconds for seconds, _error in results) <= PROMPT, results


def test_the_local_queue_on_a_locked_file_refuses_promptly_and_recovers(tmp_path: Path) -> None:
    """Given a message waiting and the file locked, when a worker sends or takes, then
    StoreUnavailable promptly (the worker backs off); after the lock, the message is taken."""
    path = tmp_path / "x.db"
    queue = LocalQueue(path, visibility_timeout=30, max_deliveries=5)
    try:
        queue.send("waiting")
        with locked(path):
            send_seconds, send_error = timed(lambda: queue.send("refused"))
            take_seconds, take_error = timed(lambda: queue.receive(wait_seconds=0.5))

        assert isinstance(send_error, StoreUnavailable)
        assert isinstance(take_error, StoreUnavailable)
        assert max(send_seconds, take_seconds) <= PROMPT
        messages = queue.receive(wait_seconds=1)
        assert [message.body for message in messages] == ["waiting"]
        queue.ack(messages[0])
    finally:
        queue.close()


def test_a_queue_opens_on_a_locked_file_that_has_its_tables(tmp_path: Path) -> None:
    """Given a file with the queue's tables, locked by another connection, when a worker
    (re)starts and opens the queue, then it opens (no write needed) and polls."""
    path = tmp_path / "x.db"
    LocalQueue(path, visibility_timeout=30, max_deliveries=5).close()

    with locked(path):
        queue = LocalQueue(path, visibility_timeout=30, max_deliveries=5)
        try:
            assert queue.receive(wait_seconds=0) == []  # nothing visible: a read only
        finally:
            queue.close()
