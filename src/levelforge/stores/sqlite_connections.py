"""Per-thread connections to one SQLite file, shared by the embedded job store and the
local queue (they live in the same ``DATABASE_PATH`` file, in their own tables).

Each thread (and each process: a forked child never reuses its parent's connection) gets
its own connection, opened lazily in autocommit mode; writes run in explicit
``BEGIN IMMEDIATE`` transactions so that several processes can share the file. Threads of
one process also queue for the file's write lock on a ``threading.Lock`` first: they are
woken as soon as it is free instead of sleeping in SQLite's busy handler (up to 25 ms a
turn), which keeps the tail latency of writes low. Across processes (the workers take
and acknowledge their jobs in this file too) a write that finds the lock taken looks again
after 50 µs, then twice as long each time up to 2 ms, instead of SQLite's own busy handler:
that one sleeps 1, 2, 5, 10 … ms, so three collisions in a row (common at a few hundred
writes a second) cost a job 8 ms while the lock was free again within a fraction of one.
Every sqlite3 error that means "the database did not answer" becomes ``StoreUnavailable``.

A write waits for the file's write lock at most ``BUSY_TIMEOUT_SECONDS`` in all (its turn
among this process's threads included), then gives up with ``StoreUnavailable``: a file
locked by someone else (a backup, a stuck process, an operator's shell) answers a prompt
``503`` with ``Retry-After`` instead of holding every writer for the whole outage. Ordinary
writes hold the lock for milliseconds, so under load the wait stays far from the bound.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from levelforge.errors import StoreUnavailable

logger = logging.getLogger(__name__)

#: how long a write waits for the file's write lock before the store counts as unavailable
#: (reads in WAL mode never wait for a writer; they share the same bound)
BUSY_TIMEOUT_SECONDS = 2.0

#: a write that finds another process holding the lock looks again after this long, then
#: twice as long each time, up to ``RETRY_MAX_SECONDS``, until its ``BUSY_TIMEOUT_SECONDS``
RETRY_FIRST_SECONDS = 0.00005
RETRY_MAX_SECONDS = 0.002

#: group commits between two checkpoints of the WAL they leave behind
CHECKPOINT_EVERY = 500
#: SQLITE_BUSY and SQLITE_LOCKED: another connection holds the lock
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
#: errors of our own SQL or arguments: bugs, never "the store is unavailable"
_PROGRAMMING_ERRORS = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)


_write_locks: dict[tuple[int, str], threading.Lock] = {}
_write_locks_guard = threading.Lock()


def _write_lock(real_path: str) -> threading.Lock:
    """The lock this process's writers of ``real_path`` take turns on (new after a fork)."""
    key = (os.getpid(), real_path)
    lock = _write_locks.get(key)
    if lock is not None:
        return lock
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


class _ThreadConnection(threading.local):
    connection: sqlite3.Connection | None = None
    pid: int = 0
    #: this thread's connection for groups of writes (``begin_group``), and its process
    group_connection: sqlite3.Connection | None = None
    group_pid: int = 0
    #: while a group is open on this thread: its connection, inside ``BEGIN IMMEDIATE``
    group: sqlite3.Connection | None = None


class SqliteConnections:
    """Lazily opened connections to ``path``, one per thread, all closed by ``close()``."""

    def __init__(
        self, path: Path, *, what: str, busy_timeout: float = BUSY_TIMEOUT_SECONDS
    ) -> None:
        self.path = Path(path)
        self._real_path = os.path.realpath(self.path)  # once: it costs a syscall a component
        self._what = what
        self._busy_timeout = busy_timeout
        self._local = _ThreadConnection()
        #: every connection opened, with the thread and process that opened it
        self._opened: list[tuple[threading.Thread, int, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._group_commits = 0
        self._checkpointer = threading.Thread()  # not started: none has run yet

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for single-statement reads (autocommit: each one is consistent)."""
        try:
            yield self._connection()
        except _PROGRAMMING_ERRORS:
            raise
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: committed when the block ends, rolled back
        when it raises (a refused life-cycle rule included). Inside a group
        (``begin_group``) it joins the group's transaction instead: the group's owner makes
        each of its calls atomic (``savepoint``, or a group of one call rolled back)."""
        group = self._local.group
        if group is not None:
            yield group
            return
        deadline = time.monotonic() + self._busy_timeout
        lock = _write_lock(self._real_path)
        if not lock.acquire(blocking=False) and not lock.acquire(timeout=self._busy_timeout):
            raise StoreUnavailable(
                f"the {self._what} at {self.path} stayed locked for {self._busy_timeout:g} s"
            )
        try:
            connection = self._connection()
            self._begin(connection, deadline)
            try:
                yield connection
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except _PROGRAMMING_ERRORS:
            raise
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        finally:
            lock.release()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside the open group: the block's writes, undone if it raises."""
        connection = self._local.group
        assert connection is not None, "savepoint outside a group"
        try:
            connection.execute("SAVEPOINT call")
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        try:
            yield
        except BaseException:
            try:
                connection.execute("ROLLBACK TO call")
                connection.execute("RELEASE call")
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from exc
            raise
        try:
            connection.execute("RELEASE call")
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    def begin_group(self) -> bool:
        """Open a group of writes on this thread (``ports.Grouping``): this process's
        write lock and ``BEGIN IMMEDIATE``, both taken without waiting; ``False`` when
        either is held by someone else. The group's connection never checkpoints the WAL
        itself (a checkpoint syncs the disk, and a group runs on the event loop): every
        ``CHECKPOINT_EVERY`` groups a thread of its own does (``PASSIVE``)."""
        lock = _write_lock(self._real_path)
        if not lock.acquire(blocking=False):
            return False
        try:
            connection = self._group_connection()
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            lock.release()
            if exc.sqlite_errorcode in _BUSY:
                return False
            raise self._unavailable(exc) from exc
        except BaseException as exc:
            lock.release()
            if isinstance(exc, sqlite3.Error):
                raise self._unavailable(exc) from exc
            raise
        self._local.group = connection
        return True

    def end_group(self, *, commit: bool = True) -> None:
        """Commit (or roll back) the open group and give the write lock back."""
        connection = self._local.group
        assert connection is not None, "end_group without begin_group"
        self._local.group = None
        try:
            connection.execute("COMMIT" if commit else "ROLLBACK")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise self._unavailable(exc) from exc
        finally:
            _write_lock(self._real_path).release()
        self._count_group_commit()

    def _count_group_commit(self) -> None:
        """Every ``CHECKPOINT_EVERY`` group commits, a thread of its own checkpoints the WAL
        (``PASSIVE``: it never blocks a writer), so the WAL stays bounded when the groups'
        connection is the only writer (an Orchestrator whose queue is not this file)."""
        self._group_commits += 1
        if self._group_commits % CHECKPOINT_EVERY == 0 and not self._checkpointer.is_alive():
            self._checkpointer = threading.Thread(target=self._checkpoint, name="wal-checkpoint", daemon=True)
            self._checkpointer.start()

    def _checkpoint(self) -> None:
        """Holding this process's write lock, so that the checkpoint reaches the end of the
        WAL and the next write starts it over from the beginning (a checkpoint racing the
        writes would always leave a tail, and the WAL would never be reused)."""
        lock = _write_lock(self._real_path)
        if not lock.acquire(timeout=self._busy_timeout):
            return  # busy writers: the next one will try again
        try:
            connection = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                connection.close()
        except sqlite3.Error as exc:  # the next one will try again
            logger.warning("WAL checkpoint of %s failed: %s", self.path, exc)
        finally:
            lock.release()

    def check_writable(self) -> None:
        """Raise ``StoreUnavailable`` unless a write could start within the busy timeout: take
        the file's write lock and give it back, changing nothing (for health checks: in WAL
        mode reads go on while another connection holds the lock, writes do not)."""
        with self.write():
            pass

    def _begin(self, connection: sqlite3.Connection, deadline: float) -> None:
        """``BEGIN IMMEDIATE`` by ``deadline`` (the whole write's, this process's turn
        included): while another process holds the file's write lock, try again after
        ``RETRY_FIRST_SECONDS``, doubling up to ``RETRY_MAX_SECONDS``. SQLite's busy handler
        is off meanwhile (it would sleep whole milliseconds); reads keep it."""
        delay = RETRY_FIRST_SECONDS
        connection.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    connection.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    left = deadline - time.monotonic()
                    if exc.sqlite_errorcode not in _BUSY or left <= 0:
                        raise
                time.sleep(min(delay, left))
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        finally:
            connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")

    def _group_connection(self) -> sqlite3.Connection:
        """This thread's connection for groups: no busy timeout (a group never waits) and
        no automatic checkpoints (they sync the disk)."""
        if self._closed:
            raise StoreUnavailable(f"the {self._what} at {self.path} is closed")
        local = self._local
        connection = local.group_connection
        if connection is not None and local.group_pid == os.getpid():
            return connection
        connection = self._open(busy_timeout=0.0)
        connection.execute("PRAGMA wal_autocheckpoint = 0")
        local.group_connection, local.group_pid = connection, os.getpid()
        return connection

    def close(self) -> None:
        """Close every connection this object opened, in any thread."""
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, []
        for _thread, _pid, connection in opened:
            connection.close()

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreUnavailable(f"the {self._what} at {self.path} is closed")
        local = self._local
        connection = local.connection
        if connection is not None and local.pid == os.getpid():
            return connection
        connection = self._open(self._busy_timeout)
        local.connection, local.pid = connection, os.getpid()
        return connection

    def _open(self, busy_timeout: float) -> sqlite3.Connection:
        """A new connection for this thread; the connections of this process's threads
        that have ended are closed on the way. (A server's thread pool retires idle threads
        and starts new ones: anyio's after 10 s idle. Kept open, their connections were a
        leak of two file descriptors and a page cache each, found by the 30-minute soak.)"""
        connection = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error:
            connection.close()
            raise
        pid = os.getpid()
        with self._lock:
            gone = [c for t, p, c in self._opened if p == pid and not t.is_alive()]
            self._opened = [(t, p, c) for t, p, c in self._opened if p != pid or t.is_alive()]
            self._opened.append((threading.current_thread(), pid, connection))
        for dead in gone:
            dead.close()
        return connection

    def _unavailable(self, exc: sqlite3.Error) -> StoreUnavailable:
        return StoreUnavailable(f"the {self._what} at {self.path} did not answer: {exc}")


class GroupedWrites:
    """``ports.Grouping`` for a store or queue whose writes go through ``self._db``."""

    _db: SqliteConnections

    def begin_group(self) -> bool:
        return self._db.begin_group()

    def savepoint(self) -> AbstractContextManager[None]:
        return self._db.savepoint()

    def end_group(self, *, commit: bool = True) -> None:
        self._db.end_group(commit=commit)
