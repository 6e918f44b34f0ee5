"""The local queue: at-least-once delivery through the SQLite file of the embedded store
(its own tables), shared by every process on one machine.

A message taken by ``receive`` is hidden until ``visible_at`` and carries a fresh random
``receipt``; only that receipt can acknowledge, release or extend it, so a holder whose
visibility timeout ran out (and whose message went to someone else) changes nothing. A
visible message already delivered ``max_deliveries`` times moves to the dead-letter table
instead of being delivered, as SQS redrive does. Times are ``time.time()`` seconds.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

from levelforge.ports import Message
from levelforge.queues.doorbell import Listener, bell_path, ring
from levelforge.stores.sqlite_connections import GroupedWrites, SqliteConnections

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS queue_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        visible_at REAL NOT NULL,
        deliveries INTEGER NOT NULL DEFAULT 0,
        receipt TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS queue_messages_visible ON queue_messages (visible_at, seq)",
    """CREATE TABLE IF NOT EXISTS queue_dead_letters (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        visible_at REAL NOT NULL,
        deliveries INTEGER NOT NULL,
        receipt TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS queue_dead_letters_visible ON queue_dead_letters (visible_at, seq)",
)

#: the tables and indexes ``_SCHEMA`` creates
_SCHEMA_OBJECTS = (
    "queue_messages",
    "queue_messages_visible",
    "queue_dead_letters",
    "queue_dead_letters_visible",
)

_NEW_RECEIPT = "lower(hex(randomblob(16)))"

_HEAD = "SELECT seq, deliveries FROM {table} WHERE visible_at <= ? ORDER BY visible_at, seq LIMIT ?"


def _take_sql(table: str, count: int, increment: int) -> str:
    return (
        f"UPDATE {table} SET visible_at = ?, deliveries = deliveries + {increment}, "
        f"receipt = {_NEW_RECEIPT} WHERE seq IN ({', '.join('?' * count)}) "
        "RETURNING seq, id, body, receipt, deliveries"
    )


def _redrive_sql(count: int) -> tuple[str, str]:
    seqs = ", ".join("?" * count)
    return (
        "INSERT INTO queue_dead_letters (id, body, visible_at, deliveries) "
        f"SELECT id, body, 0, deliveries FROM queue_messages WHERE seq IN ({seqs}) ORDER BY seq",
        f"DELETE FROM queue_messages WHERE seq IN ({seqs})",
    )


#: while jobs keep coming (one taken within the window), the queue is looked at this often
BUSY_POLL_SECONDS = 0.0005
BUSY_WINDOW_SECONDS = 0.5
#: dead letters are rare and nobody waits on them: look for them far less often than for jobs
DEAD_LETTER_POLL_SECONDS = 0.25
#: with a doorbell (``doorbell.py``), a waiting receiver still looks at the file this often,
#: for what nobody rings (a message whose visibility timeout ran out)
BELL_POLL_SECONDS = 0.1


class LocalQueue(GroupedWrites):
    """``ports.JobQueue`` on the SQLite file at ``path``."""

    def __init__(
        self,
        path: Path,
        *,
        visibility_timeout: float,
        max_deliveries: int,
        poll_interval: float = 0.002,
    ) -> None:
        self.visibility_timeout = visibility_timeout
        self.max_deliveries = max_deliveries
        self.poll_interval = poll_interval
        self._last_taken = -BUSY_WINDOW_SECONDS  # monotonic time of the last message taken
        self._db = SqliteConnections(path, what="local queue")
        self._create_schema()
        self._bell = bell_path(self._db.path)
        self._listener: Listener | None = None
        self._listening = False  # the bell was tried (it may not be there: then polls)

    @property
    def path(self) -> Path:
        return self._db.path

    def send(self, body: str) -> None:
        with self._db.write() as connection:
            self.send_within(connection, body)
        self.ring()

    def ring(self) -> None:
        """Wake the receivers waiting for a message: after the commit that made one visible
        (``send`` and ``release`` ring themselves; ``send_within``'s caller rings)."""
        ring(self._bell)

    @staticmethod
    def send_within(connection: sqlite3.Connection, body: str) -> None:
        """Send inside a write transaction already open on this queue's file (the job
        store's, in ``outbox.py``): the message exists exactly when that transaction commits,
        and the caller then ``ring``s."""
        connection.execute(
            "INSERT INTO queue_messages (id, body, visible_at) VALUES (?, ?, ?)",
            (uuid.uuid4().hex, body, time.time()),
        )

    def forget_dead_letters(self, job_ids: list[str]) -> int:
        """Delete the dead letters of these jobs (deleted by retention); how many. The
        dead-letter table holds only letters the Orchestrator has not settled yet: a scan
        of it is short."""
        if not job_ids:
            return 0
        with self._db.write() as connection:
            gone = connection.execute(
                "DELETE FROM queue_dead_letters WHERE json_extract(body, '$.jobId') IN "
                f"({', '.join('?' * len(job_ids))}) RETURNING seq",
                job_ids,
            ).fetchall()
        return len(gone)

    def receive(self, max_messages: int = 1, wait_seconds: float = 0.0) -> list[Message]:
        return self._poll("queue_messages", max_messages, wait_seconds)

    def ack(self, message: Message) -> None:
        self._by_receipt("DELETE FROM queue_messages WHERE id = ? AND receipt = ?", message)

    def release(self, message: Message) -> None:
        self._by_receipt(
            "UPDATE queue_messages SET visible_at = ? WHERE id = ? AND receipt = ?",
            message,
            time.time(),
        )
        self.ring()

    def extend(self, message: Message, seconds: float) -> None:
        """Hide the message until ``seconds`` from now (as SQS ChangeMessageVisibility)."""
        self._by_receipt(
            "UPDATE queue_messages SET visible_at = ? WHERE id = ? AND receipt = ?",
            message,
            time.time() + seconds,
        )

    def receive_dead(self, max_messages: int = 10, wait_seconds: float = 0.0) -> list[Message]:
        """Dead letters keep their body and the delivery count they died with; taking one
        hides it for the visibility timeout, like any message."""
        return self._poll("queue_dead_letters", max_messages, wait_seconds, DEAD_LETTER_POLL_SECONDS)

    def ack_dead(self, message: Message) -> None:
        self._by_receipt("DELETE FROM queue_dead_letters WHERE id = ? AND receipt = ?", message)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._db.close()

    def _create_schema(self) -> None:
        """The tables, unless they are there already: that is known by a read, so a worker
        (re)started while another connection holds the file's write lock starts and waits
        for messages instead of dying of ``StoreUnavailable`` at its first line."""
        with self._db.read() as connection:
            present = {
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE name IN (?, ?, ?, ?)", _SCHEMA_OBJECTS
                )
            }
        if present == set(_SCHEMA_OBJECTS):
            return
        with self._db.write() as connection:
            for statement in _SCHEMA:
                connection.execute(statement)

    def _poll(
        self, table: str, max_messages: int, wait_seconds: float, interval: float | None = None
    ) -> list[Message]:
        """Take visible messages; while there are none, wait and look again until
        ``wait_seconds`` have passed. For live messages, waiting is at the doorbell
        (``doorbell.py``: woken by the commit that makes one visible, else every
        ``BELL_POLL_SECONDS``); without a bell (or for dead letters) it is a cheap read (no
        write lock) every ``BUSY_POLL_SECONDS`` while messages have been flowing (within
        ``BUSY_WINDOW_SECONDS`` of the last one taken) and every ``poll_interval`` (or
        ``interval``) when the queue has been quiet."""
        deadline = time.monotonic() + wait_seconds
        probe = f"SELECT 1 FROM {table} WHERE visible_at <= ? LIMIT 1"
        listener = self._listen() if table == "queue_messages" and interval is None else None
        while True:
            if listener is not None:
                listener.take_ring()
            with self._db.read() as connection:
                visible = connection.execute(probe, (time.time(),)).fetchone() is not None
            if visible:
                messages = self._take(table, max_messages)
                if messages:
                    self._last_taken = time.monotonic()
                    return messages
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                return []
            if listener is not None:
                listener.wait(min(BELL_POLL_SECONDS, remaining))
                continue
            quiet = interval or self.poll_interval
            if interval is None and now - self._last_taken < BUSY_WINDOW_SECONDS:
                quiet = min(quiet, BUSY_POLL_SECONDS)
            time.sleep(min(quiet, remaining))

    def _listen(self) -> Listener | None:
        if not self._listening:
            self._listening = True
            self._listener = Listener.open(self._bell)
        return self._listener

    def _take(self, table: str, max_messages: int) -> list[Message]:
        """In one write transaction: the visible head of the queue, in order; a live
        message out of deliveries moves to the dead letters, the rest are hidden and
        returned with fresh receipts."""
        now = time.time()
        live = table == "queue_messages"
        rows: list[tuple[int, str, str, str, int]] = []
        with self._db.write() as connection:
            while len(rows) < max_messages:
                head = connection.execute(
                    _HEAD.format(table=table), (now, max_messages - len(rows))
                ).fetchall()
                if not head:
                    break
                dead = {seq for seq, count in head if live and count >= self.max_deliveries}
                if dead:
                    for statement in _redrive_sql(len(dead)):
                        connection.execute(statement, sorted(dead))
                if takeable := [seq for seq, _count in head if seq not in dead]:
                    rows += connection.execute(
                        _take_sql(table, len(takeable), int(live)),
                        (now + self.visibility_timeout, *takeable),
                    ).fetchall()
        rows.sort()
        return [
            Message(id=message_id, body=body, receipt=receipt, deliveries=deliveries)
            for _seq, message_id, body, receipt, deliveries in rows
        ]

    def _by_receipt(self, sql: str, message: Message, *leading: float) -> None:
        with self._db.write() as connection:
            connection.execute(sql, (*leading, message.id, message.receipt))
