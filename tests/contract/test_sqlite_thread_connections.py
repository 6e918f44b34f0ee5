"""Per-thread SQLite connections do not outlive their threads: a server's thread pool
retires idle threads and starts new ones (anyio's after 10 s idle), and the 30-minute
soak saw the Orchestrator's open file descriptors grow by a third while each retired
thread's connection stayed open."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from levelforge.stores.sqlite_connections import SqliteConnections


def open_fds_on(path: Path) -> int:
    """This process's file descriptors on ``path`` (the database file itself)."""
    target = os.path.realpath(path)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == target
        except OSError:
            continue
    return count


def read_once(connections: SqliteConnections) -> None:
    with connections.read() as connection:
        connection.execute("SELECT 1").fetchall()


def in_a_thread(connections: SqliteConnections) -> None:
    thread = threading.Thread(target=read_once, args=(connections,))
    thread.start()
    thread.join()


def test_the_connections_of_ended_threads_are_closed(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    connections = SqliteConnections(path, what="job store")
    try:
        read_once(connections)  # this thread's own, kept: the thread is alive
        for _ in range(20):  # twenty pool threads, each retired after its work
            in_a_thread(connections)
        in_a_thread(connections)  # a new thread's connection sweeps the ended ones

        assert open_fds_on(path) <= 3
        read_once(connections)  # the live thread's connection still works
    finally:
        connections.close()
    assert open_fds_on(path) == 0


def test_a_live_threads_connection_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    connections = SqliteConnections(path, what="job store")
    try:
        read_once(connections)
        with connections.read() as before:
            pass
        in_a_thread(connections)
        with connections.read() as after:
            pass
        assert after is before
    finally:
        connections.close()
