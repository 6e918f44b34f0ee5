"""Creating a job and sending its message, so that no job is left without one.

Two ways, chosen once by ``open_outbox`` from the store and the queue:

- **One transaction** (the embedded default: the SQLite store and the local queue in the
  same file): the job's row and its queue message are written in the same ``BEGIN
  IMMEDIATE`` transaction, so a process that dies at any instant leaves both or neither.
- **Insert, then send** (DynamoDB + SQS, or any other pair): a process that dies between
  the two leaves the job ``queued`` without a message; every Orchestrator's ``Requeuer``
  (``requeuer.py``) sends such a job again once it has been queued ``REQUEUE_AFTER_SECONDS``.

A fault point for the tests: with ``LEVELFORGE_FAULT_KILL_AFTER_INSERT`` naming a file,
the process SIGKILLs itself between the job's insert and its message whenever it can
delete that file (so a test arms one kill at a time by creating it). Unset, it costs one
dictionary lookup at start.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
from dataclasses import dataclass
from typing import Protocol

from levelforge import lifecycle
from levelforge.errors import StoreUnavailable
from levelforge.jobs import IdempotencyClaim, Job, JobFailure, JobMessage
from levelforge.ports import Created, JobQueue, JobStore
from levelforge.queues.local import LocalQueue
from levelforge.stores.sqlite import SqliteJobStore

logger = logging.getLogger(__name__)

FAULT_VARIABLE = "LEVELFORGE_FAULT_KILL_AFTER_INSERT"


def message_of(job: Job) -> str:
    return JobMessage(job_id=job.id, spec=job.spec).model_dump_json(by_alias=True)


class FaultPoint:
    """Off unless ``LEVELFORGE_FAULT_KILL_AFTER_INSERT`` is set: then ``reached()`` SIGKILLs
    this process when it removes the file the variable names (one kill per file made)."""

    def __init__(self, fuse: str | None = None) -> None:
        self.fuse = fuse if fuse is not None else os.environ.get(FAULT_VARIABLE)

    def reached(self) -> None:
        if not self.fuse:
            return
        try:
            os.unlink(self.fuse)
        except FileNotFoundError:
            return
        os.kill(os.getpid(), signal.SIGKILL)


class Outbox(Protocol):
    """``create``: store the job (or find the idempotent replay) and see that its message
    is sent; ``StoreUnavailable`` when either refuses."""

    #: True when a job and its message are written together (no ``Requeuer`` needed)
    atomic: bool

    def create(self, job: Job, claim: IdempotencyClaim | None) -> Created: ...

    def committed(self) -> None:
        """After ``create`` has returned (its transaction committed): wake the workers."""


@dataclass
class SameTransaction:
    """The job and its message in one SQLite transaction."""

    store: SqliteJobStore
    queue: LocalQueue
    fault: FaultPoint
    atomic: bool = True

    def create(self, job: Job, claim: IdempotencyClaim | None) -> Created:
        body = message_of(job)

        def send(connection: sqlite3.Connection) -> None:
            self.fault.reached()
            self.queue.send_within(connection, body)

        return self.store.insert(job, claim, also=send)

    def committed(self) -> None:
        """The message is visible once the transaction ``create`` ran in has committed,
        which the caller knows (a grouped write commits after ``create`` returns)."""
        self.queue.ring()


@dataclass
class InsertThenSend:
    """The job, then its message; the gap is closed by the ``Requeuer``. A queue that
    refuses the message fails the job (``queue_unavailable``) rather than strand it."""

    store: JobStore
    queue: JobQueue
    fault: FaultPoint
    atomic: bool = False

    def create(self, job: Job, claim: IdempotencyClaim | None) -> Created:
        created = self.store.insert(job, claim)
        if created.replayed:
            return created
        self.fault.reached()
        try:
            self.queue.send(message_of(created.job))
        except Exception as exc:
            logger.exception("could not queue job", extra={"job_id": job.id})
            failure = JobFailure(message="The job could not be queued.", code="queue_unavailable")
            lifecycle.fail(self.store, job.id, failure)
            raise StoreUnavailable("the job queue is not answering") from exc
        return created

    def committed(self) -> None:
        """Nothing more: ``send`` has woken the workers of a queue that has a bell."""


def open_outbox(store: JobStore, queue: JobQueue, fault: FaultPoint | None = None) -> Outbox:
    """One transaction when the store and the queue are the same SQLite file, else
    insert-then-send."""
    fault = fault if fault is not None else FaultPoint()
    if (
        isinstance(store, SqliteJobStore)
        and isinstance(queue, LocalQueue)
        and os.path.realpath(store.path) == os.path.realpath(queue.path)
    ):
        return SameTransaction(store, queue, fault)
    return InsertThenSend(store, queue, fault)
