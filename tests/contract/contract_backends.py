"""How the contract suites build each backend, in a form child processes can use.

A ``StoreRecipe``/``QueueRecipe`` is picklable: a ``spawn`` child opens its own handle on
the same store or queue with it. A new backend joins the suites by adding its kind here
and to ``STORE_KINDS``/``QUEUE_KINDS``.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.synchronize
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from levelforge import jobs
from levelforge.aws import Connection
from levelforge.config import Settings
from levelforge.errors import JobTerminal, StepAlreadyRecorded
from levelforge.ports import JobQueue, JobStore
from levelforge.queues.local import LocalQueue
from levelforge.stores.sqlite import SqliteJobStore

STORE_KINDS = ["sqlite", "dynamodb"]
QUEUE_KINDS = ["local", "sqs"]
#: the kinds that need the AWS emulator (``tests/aws/emulator.py``)
AWS_KINDS = frozenset({"dynamodb", "sqs"})
#: the emulator's admin user, for recipes made without one (set by the conftest)
DEFAULT_AWS: list[Connection] = []
SPAWN = multiprocessing.get_context("spawn")
PROCESS_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class StoreRecipe:
    """``location``: the SQLite file, or the DynamoDB table (reached with ``aws``)."""

    kind: str
    location: str
    aws: Connection | None = None

    def open(self) -> JobStore:
        if self.kind == "sqlite":
            return SqliteJobStore(Path(self.location))
        if self.kind == "dynamodb":
            from levelforge.stores.dynamodb import open_dynamodb_store  # noqa: PLC0415

            connection = self.aws or DEFAULT_AWS[0]
            return open_dynamodb_store(Settings(jobs_table=table_at(self.location, connection)), connection)
        raise ValueError(f"unknown store kind {self.kind!r}; known: {STORE_KINDS}")


@dataclass(frozen=True)
class QueueRecipe:
    """``location``: the SQLite file, or the SQS queue URL (reached with ``aws``)."""

    kind: str
    location: str
    visibility_timeout: float = 30.0
    max_deliveries: int = 5
    aws: Connection | None = None

    def open(self) -> JobQueue:
        if self.kind == "local":
            return LocalQueue(
                Path(self.location), visibility_timeout=self.visibility_timeout,
                max_deliveries=self.max_deliveries,
            )
        if self.kind == "sqs":
            from levelforge.queues.sqs import open_sqs_queue  # noqa: PLC0415

            settings = Settings(
                jobs_queue_url=self.location, visibility_timeout_seconds=self.visibility_timeout,
                max_deliveries=self.max_deliveries,
            )
            return open_sqs_queue(settings, self.aws)
        raise ValueError(f"unknown queue kind {self.kind!r}; known: {QUEUE_KINDS}")


def table_at(location: str, connection: Connection) -> str:
    """The DynamoDB table of a recipe: ``location`` itself, or, for a recipe made with a
    file path (as for SQLite), a table named after the path, made on first use."""
    if "/" not in location:
        return location
    from levelforge import aws  # noqa: PLC0415

    table = "lf-" + hashlib.sha256(location.encode()).hexdigest()[:16]
    client = aws.client("dynamodb", "JOBS_TABLE", connection)
    try:
        aws.create_jobs_table(client, table, aws.InitReport())
    finally:
        client.close()
    return table


def make_step(job_id: str, name: str) -> jobs.Step:
    now = jobs.timestamp()
    return jobs.Step(
        step_id=jobs.step_id_for(job_id, name), name=name, started_at=now, ended_at=now,
        duration_ms=1, summary=f"did {name}", status="ok",
    )


def post_step(store: JobStore, job_id: str, name: str) -> str:
    """Record one step as the internal API does; the outcome's name."""
    try:
        store.append_step(
            job_id, make_step(job_id, name), allowed_from=jobs.STEP_ALLOWED_FROM,
            start_from=jobs.START_FROM, now=jobs.timestamp(),
        )
    except StepAlreadyRecorded:
        return "duplicate"
    except JobTerminal:
        return "terminal"
    return "recorded"


# --- child processes (spawn): each opens its own handle, waits at the barrier, reports ---

def post_step_in_child(
    recipe: StoreRecipe, job_id: str, name: str,
    barrier: multiprocessing.synchronize.Barrier, outcomes: Any,
) -> None:
    store = recipe.open()
    try:
        barrier.wait()
        outcomes.put(post_step(store, job_id, name))
    finally:
        store.close()


def receive_in_child(
    recipe: QueueRecipe, barrier: multiprocessing.synchronize.Barrier, outcomes: Any,
) -> None:
    """Take messages without acknowledging them until none is visible; report their ids."""
    queue = recipe.open()
    taken: list[str] = []
    try:
        barrier.wait()
        while batch := queue.receive(max_messages=1, wait_seconds=0.2):
            taken += [message.id for message in batch]
        outcomes.put(taken)
    finally:
        queue.close()


def run_processes(target: Callable[..., None], arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(*args, barrier, outcomes)`` in one spawned process per ``args``,
    released together by a barrier; the outcome each put, in no particular order."""
    barrier = SPAWN.Barrier(len(arguments))
    outcomes = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=target, args=(*args, barrier, outcomes)) for args in arguments
    ]
    for process in processes:
        process.start()
    results = [outcomes.get(timeout=PROCESS_TIMEOUT_SECONDS) for _ in processes]
    for process in processes:
        process.join(PROCESS_TIMEOUT_SECONDS)
        assert process.exitcode == 0, f"child process exited with {process.exitcode}"
    return results
