"""No job without its message (issue 16): the embedded default writes both in one
transaction; elsewhere the requeuer sends a job that was left queued without one, once
however many Orchestrators look."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from levelforge import jobs
from levelforge.errors import JobNotFound
from levelforge.jobs import IdempotencyClaim, JobMessage
from levelforge.outbox import FAULT_VARIABLE, FaultPoint, InsertThenSend, SameTransaction, open_outbox
from levelforge.ports import JobQueue, JobStore
from levelforge.queues.local import LocalQueue
from levelforge.requeuer import Requeuer
from levelforge.stores.sqlite import SqliteJobStore
from tests.contract.contract_backends import SPAWN, QueueRecipe
from tests.contract.test_store_contract import SPEC, race

CLAIM = IdempotencyClaim(key="order-1", fingerprint="f1")


def job_ids_of(queue: JobQueue) -> list[str]:
    messages = queue.receive(max_messages=10, wait_seconds=0.5)
    return [JobMessage.model_validate_json(message.body).job_id for message in messages]


def create_in_child(path: str, job_id: str) -> None:
    """A spawned Orchestrator that creates one job through the outbox (killed by the fault
    point when it is armed)."""
    store = SqliteJobStore(Path(path))
    queue = LocalQueue(Path(path), visibility_timeout=30, max_deliveries=5)
    job = jobs.new_job(dict(SPEC)).model_copy(update={"id": job_id})
    open_outbox(store, queue).create(job, CLAIM)


def test_the_embedded_default_writes_a_job_and_its_message_together(tmp_path: Path) -> None:
    """Given the SQLite store and the local queue in one file
    When a job is created through the outbox, and again with the same Idempotency-Key
    Then one transaction made both, and the replay made neither a job nor a message."""
    path = tmp_path / "levelforge.db"
    store = SqliteJobStore(path)
    queue = LocalQueue(path, visibility_timeout=30, max_deliveries=5)
    outbox = open_outbox(store, queue)

    created = outbox.create(jobs.new_job(dict(SPEC)), CLAIM)
    replayed = outbox.create(jobs.new_job(dict(SPEC)), CLAIM)

    assert isinstance(outbox, SameTransaction) and outbox.atomic
    assert replayed.replayed and replayed.job.id == created.job.id
    assert job_ids_of(queue) == [created.job.id]


def test_an_orchestrator_killed_between_insert_and_message_leaves_neither(tmp_path: Path) -> None:
    """Given the fault point armed (LEVELFORGE_FAULT_KILL_AFTER_INSERT names an existing file)
    When an Orchestrator process creates a job, and is SIGKILLed after the job's insert,
    before its message, and the client then retries with the same Idempotency-Key
    Then the killed attempt left no job and no message, and the retry made exactly one of each."""
    path, fuse = tmp_path / "levelforge.db", tmp_path / "fuse"
    SqliteJobStore(path).close()
    fuse.touch()
    os.environ[FAULT_VARIABLE] = str(fuse)
    try:
        child = SPAWN.Process(target=create_in_child, args=(str(path), "01KILLED000000000000000000"))
        child.start()
        child.join(60)
    finally:
        del os.environ[FAULT_VARIABLE]
    store = SqliteJobStore(path)
    queue = LocalQueue(path, visibility_timeout=30, max_deliveries=5)

    assert child.exitcode == -signal.SIGKILL and not fuse.exists()
    with pytest.raises(JobNotFound):
        store.get("01KILLED000000000000000000")
    assert job_ids_of(queue) == []
    retried = open_outbox(store, queue).create(jobs.new_job(dict(SPEC)), CLAIM)
    assert not retried.replayed
    assert job_ids_of(queue) == [retried.job.id]
    assert [job.id for job in store.page(jobs.DEFAULT_TENANT, None, 10, None)] == [retried.job.id]


def test_the_fault_point_is_off_unless_armed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given no variable, or a variable naming a missing file, when reached, then this
    process lives on (a kill would end the test run)."""
    monkeypatch.delenv(FAULT_VARIABLE, raising=False)
    unset = FaultPoint()
    unset.reached()
    monkeypatch.setenv(FAULT_VARIABLE, str(tmp_path / "missing"))
    FaultPoint().reached()
    assert unset.fuse is None


def test_a_job_left_without_its_message_is_sent_again_once(
    make_store: Callable[[], JobStore], make_queue: Callable[..., tuple[JobQueue, QueueRecipe]],
) -> None:
    """Given (every store and queue) an Orchestrator that died after inserting a job and
    before sending its message, and four Orchestrators' requeuers
    When they all look for stranded jobs at once, past REQUEUE_AFTER_SECONDS
    Then the job is sent exactly once, and not again within the next period."""
    stores = [make_store() for _ in range(4)]
    queue, recipe = make_queue()
    queues = [queue] + [recipe.open() for _ in range(3)]
    try:
        stranded = stores[0].insert(jobs.new_job(dict(SPEC))).job
        requeuers = [Requeuer(stores[i], queues[i], after_seconds=60) for i in range(4)]
        now = time.time() + 120  # the cut-off is 60 s before `now`: past the job's creation

        sent = race(4, lambda i: requeuers[i].run_once(now))

        assert sum(sent) == 1, sent
        assert job_ids_of(queue) == [stranded.id]
        assert requeuers[0].run_once(now + 59) == 0
    finally:
        for extra in queues[1:]:
            extra.close()


def test_insert_then_send_is_used_when_the_queue_is_apart_from_the_store(tmp_path: Path) -> None:
    """Given the SQLite store and a local queue in another file, when the outbox is opened,
    then it inserts then sends (the requeuer covers the gap), and the message arrives."""
    store = SqliteJobStore(tmp_path / "jobs.db")
    queue = LocalQueue(tmp_path / "queue.db", visibility_timeout=30, max_deliveries=5)
    outbox = open_outbox(store, queue)

    created = outbox.create(jobs.new_job(dict(SPEC)), None)

    assert isinstance(outbox, InsertThenSend) and not outbox.atomic
    assert job_ids_of(queue) == [created.job.id]
