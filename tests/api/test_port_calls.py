"""``port_calls``: how the Orchestrator's event loop calls its store. The embedded file's
writes are grouped into one commit per loop turn, never block the loop while another
process holds the lock, and give up with ``StoreUnavailable`` after the busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from levelforge import lifecycle
from levelforge.api.port_calls import GroupCommit, InThreads, port_calls
from levelforge.errors import JobNotFound, JobTerminal, StoreUnavailable
from levelforge.jobs import JobStatus, Step, new_job
from levelforge.stores.sqlite import SqliteJobStore


def a_step(job_id: str, name: str) -> Step:
    return Step.model_validate({
        "stepId": f"{job_id}:{name}", "name": name, "startedAt": "2025-12-25T12:00:00.000Z",
        "endedAt": "2025-12-25T12:00:00.001Z", "durationMs": 1, "summary": name, "status": "ok",
    })


class CountedGroups:
    """The real store, counting its groups."""

    def __init__(self, store: SqliteJobStore) -> None:
        self.store = store
        self.begun = 0

    def begin_group(self) -> bool:
        begun = self.store.begin_group()
        self.begun += begun
        return begun

    def savepoint(self) -> Any:
        return self.store.savepoint()

    def end_group(self, *, commit: bool = True) -> None:
        self.store.end_group(commit=commit)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteJobStore]:
    store = SqliteJobStore(tmp_path / "jobs.db")
    yield store
    store.close()


def test_the_embedded_store_is_grouped_and_other_ports_go_to_threads(store: SqliteJobStore) -> None:
    assert isinstance(port_calls(store), GroupCommit)
    assert isinstance(port_calls(object()), InThreads)


def test_writes_asked_for_in_one_loop_turn_are_committed_in_one_group(store: SqliteJobStore) -> None:
    """Given 20 jobs
    When 20 coroutines each record a step, all asked for before the loop turns
    Then every step is recorded, with one group (one BEGIN IMMEDIATE … COMMIT) for them all."""
    jobs = [store.insert(new_job({"seed": seed})).job for seed in range(20)]
    counted = CountedGroups(store)
    calls = GroupCommit(counted)

    async def record_all() -> list[Any]:
        writes = [
            calls.write(lifecycle.record_step, store, job.id, a_step(job.id, "plan_layout")) for job in jobs
        ]
        return await asyncio.gather(*writes)

    statuses = asyncio.run(record_all())
    assert statuses == [JobStatus.RUNNING] * 20
    assert counted.begun == 1
    assert all([s.name for s in store.get(job.id).steps] == ["plan_layout"] for job in jobs)


def test_a_refused_write_fails_alone_and_the_rest_of_its_group_is_written(store: SqliteJobStore) -> None:
    queued = store.insert(new_job({"seed": 1})).job
    done = store.insert(new_job({"seed": 2})).job
    lifecycle.complete(store, done.id, {"summary": {}})
    calls = GroupCommit(store)

    async def both() -> list[Any]:
        return await asyncio.gather(
            calls.write(lifecycle.record_step, store, done.id, a_step(done.id, "plan_layout")),
            calls.write(lifecycle.record_step, store, queued.id, a_step(queued.id, "plan_layout")),
            return_exceptions=True,
        )

    refused, recorded = asyncio.run(both())
    assert isinstance(refused, JobTerminal)
    assert recorded is JobStatus.RUNNING
    assert store.get(done.id).steps == []
    assert [s.name for s in store.get(queued.id).steps] == ["plan_layout"]


def test_a_write_waiting_for_another_process_never_blocks_the_loop(
    store: SqliteJobStore, tmp_path: Path
) -> None:
    """Given another connection holding the file's write lock
    When a step is written through the group commit
    Then the loop keeps running other coroutines meanwhile, and the step is written once
    the lock is given back."""
    job = store.insert(new_job({"seed": 1})).job
    holder = sqlite3.connect(tmp_path / "jobs.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    calls = GroupCommit(store)

    async def scenario() -> tuple[int, JobStatus]:
        write = asyncio.ensure_future(calls.write(lifecycle.record_step, store, job.id, a_step(job.id, "x")))
        turns = 0
        for _ in range(50):  # the loop turns while the write waits for the lock
            await asyncio.sleep(0.001)
            turns += 1
            assert not write.done()
        holder.execute("ROLLBACK")
        return turns, await asyncio.wait_for(write, 5)

    try:
        turns, status = asyncio.run(scenario())
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
    assert (turns, status) == (50, JobStatus.RUNNING)
    assert [s.name for s in store.get(job.id).steps] == ["x"]


def test_a_write_that_cannot_start_within_the_busy_timeout_is_unavailable_and_writes_nothing(
    store: SqliteJobStore, tmp_path: Path
) -> None:
    job = store.insert(new_job({"seed": 1})).job
    holder = sqlite3.connect(tmp_path / "jobs.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    calls = GroupCommit(store, busy_timeout=0.2)
    try:
        with pytest.raises(StoreUnavailable):
            asyncio.run(calls.write(lifecycle.record_step, store, job.id, a_step(job.id, "x")))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.get(job.id).steps == []


@pytest.mark.parametrize("company", [0, 3], ids=["alone", "in-a-group"])
def test_a_write_that_raises_after_writing_leaves_nothing_behind(store: SqliteJobStore, company: int) -> None:
    """Given a write that inserts a job and then raises (alone in its group, without a
    savepoint, or beside other writes, with one)
    When it runs through the group commit
    Then its job is not there afterwards, and the other writes of its group are."""
    doomed = new_job({"seed": 1})
    others = [new_job({"seed": 2 + n}) for n in range(company)]
    calls = GroupCommit(store)

    def insert_then_fail() -> None:
        store.insert(doomed)
        raise RuntimeError("after the insert")

    async def run() -> list[Any]:
        writes = [calls.write(insert_then_fail), *(calls.write(store.insert, job) for job in others)]
        return await asyncio.gather(*writes, return_exceptions=True)

    outcomes = asyncio.run(run())
    assert isinstance(outcomes[0], RuntimeError)
    with pytest.raises(JobNotFound):
        store.get(doomed.id)
    assert [store.get(job.id).id for job in others] == [job.id for job in others]


def test_writes_go_on_after_a_loop_ended_with_a_write_pending(store: SqliteJobStore) -> None:
    """Given a group commit whose first loop ended before its scheduled flush ran (a client
    gone, a test's event loop closed)
    When another loop writes through it
    Then that write is committed (the abandoned one is not: nobody awaits it)."""
    abandoned, later = store.insert(new_job({"seed": 1})).job, store.insert(new_job({"seed": 2})).job
    calls = GroupCommit(store)

    loop = asyncio.new_event_loop()
    step = a_step(abandoned.id, "x")
    asked = loop.create_task(calls.write(lifecycle.record_step, store, abandoned.id, step))
    loop.call_soon(loop.stop)  # the loop ends in the turn the write is asked for, before its flush
    loop.run_forever()
    asked.cancel()
    loop.close()
    status = asyncio.run(calls.write(lifecycle.record_step, store, later.id, a_step(later.id, "x")))
    assert status is JobStatus.RUNNING
    assert [s.name for s in store.get(later.id).steps] == ["x"]
