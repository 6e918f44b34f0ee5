"""The job store contract (CONTRACT §1, §3, §6), run against every store backend."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from levelforge import jobs
from levelforge.errors import IdempotencyKeyReused, JobNotFound, JobTerminal, StepAlreadyRecorded
from levelforge.jobs import IdempotencyClaim, Job, JobStatus
from levelforge.ports import JobStore, PageAfter
from tests.contract.contract_backends import (
    StoreRecipe,
    make_step,
    post_step,
    post_step_in_child,
    run_processes,
)

SPEC = {"seed": 42, "width": 64, "height": 40, "rooms": 12, "difficulty": 3,
        "theme": "dungeon", "loops": 0.15}


def queued_job(store: JobStore, created_at: str | None = None) -> Job:
    return store.insert(jobs.new_job(dict(SPEC), now=created_at)).job


def complete(store: JobStore, job_id: str, result: dict[str, Any] | None = None) -> Job:
    return store.transition(
        job_id, to=JobStatus.DONE, allowed_from=jobs.FINISH_ALLOWED_FROM,
        now=jobs.timestamp(), result=result if result is not None else {"summary": {"rooms": 1}},
    )


def fail(store: JobStore, job_id: str, error: jobs.JobFailure | None = None) -> Job:
    return store.transition(
        job_id, to=JobStatus.FAILED, allowed_from=jobs.FINISH_ALLOWED_FROM,
        now=jobs.timestamp(), error=error or jobs.JobFailure(message="boom", code="broken"),
    )


def cancel(store: JobStore, job_id: str) -> Job:
    return fail(store, job_id, jobs.cancelled_failure())


def race(count: int, action: Callable[[int], Any]) -> list[Any]:
    """Run ``action(i)`` in ``count`` threads released together; their results or errors."""
    barrier = threading.Barrier(count)

    def run(index: int) -> Any:
        barrier.wait()
        try:
            return action(index)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


# --- life cycle -----------------------------------------------------------------------

def test_a_new_job_is_queued_with_its_spec(store: JobStore) -> None:
    """Given a new job, when it is inserted, then it reads back queued, empty, unchanged."""
    job = jobs.new_job(dict(SPEC))

    created = store.insert(job)

    assert created.replayed is False
    assert store.get(job.id) == job == created.job
    assert job.status is JobStatus.QUEUED and job.steps == [] and job.result is None


def test_the_first_step_makes_a_queued_job_running(store: JobStore) -> None:
    """Given a queued job, when its first step arrives, then it is running with that step."""
    job = queued_job(store)

    status = store.append_step(
        job.id, make_step(job.id, "plan_layout"), allowed_from=jobs.STEP_ALLOWED_FROM,
        start_from=jobs.START_FROM, now="2030-01-01T00:00:00.000Z",
    )

    stored = store.get(job.id)
    assert status is JobStatus.RUNNING and stored.status is JobStatus.RUNNING
    assert [step.name for step in stored.steps] == ["plan_layout"]
    assert stored.updated_at == "2030-01-01T00:00:00.000Z"


def test_steps_keep_their_arrival_order(store: JobStore) -> None:
    """Given a job, when steps arrive in some order, then they are kept in that order."""
    job = queued_job(store)
    names = ["validate", "carve_rooms", "plan_layout", "store_artifacts", "connect_rooms"]

    outcomes = [post_step(store, job.id, name) for name in names]

    assert outcomes == ["recorded"] * len(names)
    assert [step.name for step in store.get(job.id).steps] == names


def test_a_step_is_stored_exactly_as_posted(store: JobStore) -> None:
    """Given a step with every field set, when recorded, then it reads back equal."""
    job = queued_job(store)
    step = jobs.Step(
        step_id=jobs.step_id_for(job.id, "validate"), name="validate",
        started_at="2025-12-25T12:00:00.000Z", ended_at="2025-12-25T12:00:00.412Z",
        duration_ms=412.5, summary='Checked "all" rooms ✓', status="error",
    )

    store.append_step(job.id, step, allowed_from=jobs.STEP_ALLOWED_FROM,
                      start_from=jobs.START_FROM, now=jobs.timestamp())

    assert store.get(job.id).steps == [step]


def test_a_duplicate_step_is_not_recorded_twice(store: JobStore) -> None:
    """Given a recorded step, when the same stepId arrives again, then it is refused as a
    duplicate carrying the job's status, and the job holds it once."""
    job = queued_job(store)
    post_step(store, job.id, "plan_layout")

    with pytest.raises(StepAlreadyRecorded) as refused:
        store.append_step(
            job.id, make_step(job.id, "plan_layout"), allowed_from=jobs.STEP_ALLOWED_FROM,
            start_from=jobs.START_FROM, now=jobs.timestamp(),
        )

    assert refused.value.status is JobStatus.RUNNING
    assert refused.value.step_id == jobs.step_id_for(job.id, "plan_layout")
    assert len(store.get(job.id).steps) == 1


def test_a_job_completes_with_its_result(store: JobStore) -> None:
    """Given a running job, when it completes, then it is done with the result stored."""
    job = queued_job(store)
    post_step(store, job.id, "plan_layout")
    result = {"summary": {"rooms": 12, "doors": 18}, "asciiMinimap": "#.#\n", "nested": [1, None]}

    done = complete(store, job.id, result)

    assert done.status is JobStatus.DONE and done.result == result and done.error is None
    assert store.get(job.id) == done


def test_a_failed_job_keeps_its_steps_and_error(store: JobStore) -> None:
    """Given a job with two steps, when it fails, then its error is stored and steps kept."""
    job = queued_job(store)
    post_step(store, job.id, "plan_layout")
    post_step(store, job.id, "carve_rooms")
    error = jobs.JobFailure(message="no level", code="generation_failed", details={"attempts": 8})

    failed = fail(store, job.id, error)

    assert failed.status is JobStatus.FAILED and failed.error == error and failed.result is None
    assert [step.name for step in store.get(job.id).steps] == ["plan_layout", "carve_rooms"]


def test_a_queued_job_can_finish_without_steps(store: JobStore) -> None:
    """Given a queued job, when it is cancelled, then it is failed with code cancelled."""
    job = queued_job(store)

    cancelled = cancel(store, job.id)

    assert cancelled.status is JobStatus.FAILED
    assert cancelled.error is not None and cancelled.error.code == "cancelled"


@pytest.mark.parametrize("finish", [complete, fail, cancel], ids=["done", "failed", "cancelled"])
def test_a_terminal_job_never_changes_again(
    store: JobStore, finish: Callable[[JobStore, str], Job]
) -> None:
    """Given a terminal job, when a step, completion, failure or cancel arrives, then each
    is refused with JobTerminal carrying the job, and the job is unchanged."""
    job = queued_job(store)
    post_step(store, job.id, "plan_layout")
    terminal = finish(store, job.id)

    assert post_step(store, job.id, "carve_rooms") == "terminal"
    for late in (complete, fail, cancel):
        with pytest.raises(JobTerminal) as refused:
            late(store, job.id)
        assert refused.value.job == terminal and refused.value.status is terminal.status

    assert store.get(job.id) == terminal


def test_a_known_step_on_a_terminal_job_is_refused_as_terminal(store: JobStore) -> None:
    """Given a done job, when one of its recorded steps is posted again (a worker running
    the finished job once more), then it is refused with JobTerminal, so that the worker
    stops at its first step instead of redoing the whole job."""
    job = queued_job(store)
    post_step(store, job.id, "plan_layout")
    complete(store, job.id)

    with pytest.raises(JobTerminal) as refused:
        store.append_step(
            job.id, make_step(job.id, "plan_layout"), allowed_from=jobs.STEP_ALLOWED_FROM,
            start_from=jobs.START_FROM, now=jobs.timestamp(),
        )

    assert refused.value.status is JobStatus.DONE


def test_unknown_jobs_are_not_found(store: JobStore) -> None:
    """Given no such job, when it is read, stepped or finished, then JobNotFound."""
    unknown = jobs.new_job_id()

    with pytest.raises(JobNotFound):
        store.get(unknown)
    with pytest.raises(JobNotFound):
        store.append_step(unknown, make_step(unknown, "plan_layout"),
                          allowed_from=jobs.STEP_ALLOWED_FROM, start_from=jobs.START_FROM,
                          now=jobs.timestamp())
    with pytest.raises(JobNotFound):
        complete(store, unknown)


def test_ping_answers(store: JobStore) -> None:
    """Given an open store, when pinged, then it answers without raising."""
    store.ping()


# --- idempotency ----------------------------------------------------------------------

def test_the_same_key_and_body_replay_the_first_job(store: JobStore) -> None:
    """Given a job created with a key, when the key comes with the same fingerprint, then
    the first job is returned (replayed) and no second job exists."""
    claim = IdempotencyClaim(key="order-1", fingerprint=jobs.fingerprint(SPEC))
    first = store.insert(jobs.new_job(dict(SPEC)), claim)
    post_step(store, first.job.id, "plan_layout")

    again = store.insert(jobs.new_job({**SPEC, "seed": 7}), claim)

    assert first.replayed is False and again.replayed is True
    assert again.job == store.get(first.job.id)
    assert [job.id for job in store.page(jobs.DEFAULT_TENANT, None, 10, None)] == [first.job.id]


def test_the_same_key_with_another_body_is_refused(store: JobStore) -> None:
    """Given a job created with a key, when the key comes with another fingerprint, then
    IdempotencyKeyReused names the first job and nothing is created."""
    first = store.insert(jobs.new_job(dict(SPEC)), IdempotencyClaim(key="k", fingerprint="a"))

    with pytest.raises(IdempotencyKeyReused) as refused:
        store.insert(jobs.new_job(dict(SPEC)), IdempotencyClaim(key="k", fingerprint="b"))

    assert refused.value.job_id == first.job.id
    assert len(store.page(jobs.DEFAULT_TENANT, None, 10, None)) == 1


def test_different_keys_create_different_jobs(store: JobStore) -> None:
    """Given two keys with the same body, when both are used, then two jobs exist."""
    one = store.insert(jobs.new_job(dict(SPEC)), IdempotencyClaim(key="a", fingerprint="f"))
    two = store.insert(jobs.new_job(dict(SPEC)), IdempotencyClaim(key="b", fingerprint="f"))

    assert one.job.id != two.job.id and not two.replayed


# --- paging ---------------------------------------------------------------------------

def test_pages_are_newest_first_with_a_status_filter_and_after(store: JobStore) -> None:
    """Given jobs created at known times, some done, when paged, then newest first
    (createdAt, then id), filtered by status, continuing strictly after ``after``."""
    same_moment = "2025-01-01T00:00:05.000Z"
    created = [queued_job(store, f"2025-01-01T00:00:0{i}.000Z") for i in range(5)]
    created += [queued_job(store, same_moment) for _ in range(3)]
    for job in created[::2]:
        complete(store, job.id)
    newest_first = sorted(created, key=lambda job: (job.created_at, job.id), reverse=True)

    everything = store.page(jobs.DEFAULT_TENANT, None, 100, None)
    first = store.page(jobs.DEFAULT_TENANT, None, 3, None)
    rest = store.page(jobs.DEFAULT_TENANT, None, 100, PageAfter(first[-1].created_at, first[-1].id))
    done = store.page(jobs.DEFAULT_TENANT, JobStatus.DONE, 100, None)
    done_after = store.page(jobs.DEFAULT_TENANT, JobStatus.DONE, 2, PageAfter(done[0].created_at, done[0].id))

    assert [job.id for job in everything] == [job.id for job in newest_first]
    assert [job.id for job in first + rest] == [job.id for job in newest_first]
    expected_done = [job.id for job in newest_first if job.id in {j.id for j in created[::2]}]
    assert [job.id for job in done] == expected_done
    assert [job.id for job in done_after] == expected_done[1:3]
    assert store.page(jobs.DEFAULT_TENANT, JobStatus.RUNNING, 10, None) == []


# --- concurrency ----------------------------------------------------------------------

def test_racing_threads_record_one_step_once(make_store: Callable[[], JobStore]) -> None:
    """Given 32 threads, when all post the same stepId at once, then exactly one records
    it and the others see a duplicate."""
    store = make_store()
    job = queued_job(store)

    outcomes = race(32, lambda _: post_step(store, job.id, "plan_layout"))

    assert Counter(outcomes) == {"recorded": 1, "duplicate": 31}
    assert len(store.get(job.id).steps) == 1


def test_racing_threads_lose_no_step(make_store: Callable[[], JobStore]) -> None:
    """Given 32 threads, when each posts its own stepId at once, then all 32 are kept."""
    store = make_store()
    job = queued_job(store)

    outcomes = race(32, lambda i: post_step(store, job.id, f"step_{i}"))

    assert outcomes == ["recorded"] * 32
    stored = store.get(job.id)
    assert sorted(step.name for step in stored.steps) == sorted(f"step_{i}" for i in range(32))
    assert stored.status is JobStatus.RUNNING


@pytest.mark.parametrize("same_step", [True, False], ids=["same-stepId", "different-stepIds"])
def test_racing_processes_record_each_step_once(
    store: JobStore, store_recipe: StoreRecipe, same_step: bool
) -> None:
    """Given 4 processes with their own handles, when they post steps at once (the same
    stepId, or one each), then each distinct stepId is recorded exactly once."""
    job = queued_job(store)
    names = ["plan_layout"] * 4 if same_step else [f"step_{i}" for i in range(4)]

    outcomes = run_processes(post_step_in_child, [(store_recipe, job.id, n) for n in names])

    expected = {"recorded": 1, "duplicate": 3} if same_step else {"recorded": 4}
    assert Counter(outcomes) == expected
    assert sorted(step.name for step in store.get(job.id).steps) == sorted(set(names))


def test_racing_finishers_have_one_winner(make_store: Callable[[], JobStore]) -> None:
    """Given a running job, when 32 threads race to complete or fail it, then exactly one
    wins and every other gets JobTerminal with the winner's job."""
    store = make_store()
    job = queued_job(store)
    post_step(store, job.id, "plan_layout")

    outcomes = race(32, lambda i: (complete if i % 2 else fail)(store, job.id))

    winners = [outcome for outcome in outcomes if isinstance(outcome, Job)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, JobTerminal)]
    assert len(winners) == 1 and len(losers) == 31
    assert all(loser.job == winners[0] for loser in losers)
    assert store.get(job.id) == winners[0]


def test_racing_inserts_with_one_key_make_one_job(make_store: Callable[[], JobStore]) -> None:
    """Given 16 threads, when all insert a new job with the same key and body at once,
    then one job exists and every thread gets it back."""
    store = make_store()
    claim = IdempotencyClaim(key="same", fingerprint=jobs.fingerprint(SPEC))

    outcomes = race(16, lambda _: store.insert(jobs.new_job(dict(SPEC)), claim))

    listed = store.page(jobs.DEFAULT_TENANT, None, 100, None)
    assert {created.job.id for created in outcomes} == {listed[0].id}
    assert sum(not created.replayed for created in outcomes) == 1
    assert len(listed) == 1


@pytest.mark.parametrize("state", ["queued", "running", "done", "failed"])
def test_a_job_read_as_json_is_the_job_as_it_is_read(store: JobStore, state: str) -> None:
    """Given a job in each state (a done one with a nested, non-ASCII result)
    When it is read as JSON (what status reads answer) and as a job
    Then both say the same, without its tenant, and a job that does not exist is not found."""
    job = queued_job(store)
    if state != "queued":
        post_step(store, job.id, "plan_layout")
    if state == "done":
        scene_graph = {"rooms": [{"id": "r0", "tags": ["é"]}]}
        complete(store, job.id, {"summary": {"rooms": 2}, "sceneGraph": scene_graph, "asciiMinimap": "@.>\n"})
    elif state == "failed":
        fail(store, job.id, jobs.JobFailure(message="boom", code="broken", details={"step": "validate"}))
    stored = store.get_json(job.id)
    assert (stored.tenant, stored.status) == (jobs.DEFAULT_TENANT, JobStatus(state))
    assert json.loads(stored.data) == store.get(job.id).to_wire()
    assert "tenant" not in json.loads(stored.data)
    with pytest.raises(JobNotFound):
        store.get_json("01JFZ3K5Q8C4W7R2N6V9XTBHDM")
