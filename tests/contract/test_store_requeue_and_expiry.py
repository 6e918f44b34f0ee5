"""The store's primitives of issue 16, run against every store backend: finding jobs still
queued (the requeuer's indexed query), claiming one for a requeue (one winner of many),
and an expired job gone for every read and write before it is deleted."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from levelforge import aws, jobs
from levelforge.errors import JobNotFound
from levelforge.jobs import IdempotencyClaim, JobStatus
from levelforge.ports import JobStore
from levelforge.stores.sqlite import SqliteJobStore
from tests.contract.contract_backends import make_step, post_step
from tests.contract.test_store_contract import SPEC, complete, queued_job, race

LONG_AGO = "2020-01-01T00:00:00.000Z"
NOW = "2030-01-01T00:00:00.000Z"


def expire(store: JobStore, job_id: str) -> None:
    """Make a terminal job's retention run out now, as time would, without deleting it."""
    if isinstance(store, SqliteJobStore):
        with sqlite3.connect(store.path) as connection:
            connection.execute("UPDATE jobs SET updated_at = ? WHERE id = ?", (LONG_AGO, job_id))
        return
    from levelforge.stores.dynamodb import DynamoJobStore  # noqa: PLC0415

    assert isinstance(store, DynamoJobStore)
    store.client.update_item(
        TableName=store._table, Key={aws.TABLE_KEY: {"S": f"job#{job_id}"}},
        UpdateExpression="SET expiresAt = :past", ExpressionAttributeValues={":past": {"N": "1"}},
    )


def test_only_jobs_still_queued_past_the_cutoff_are_found(store: JobStore) -> None:
    """Given old queued jobs, an old started one, an old finished one and a new queued one
    When the store is asked for jobs queued before a cut-off
    Then exactly the old queued ones are found."""
    old = [queued_job(store, LONG_AGO).id for _ in range(3)]
    started = queued_job(store, LONG_AGO).id
    post_step(store, started, "plan_layout")
    finished = queued_job(store, LONG_AGO).id
    complete(store, finished)
    queued_job(store, NOW)

    found = store.queued_before("2025-01-01T00:00:00.000Z", 100)

    assert sorted(found) == sorted(old)
    assert len(store.queued_before("2025-01-01T00:00:00.000Z", 2)) == 2


def test_of_many_claims_on_a_queued_job_one_wins_until_the_next_period(
    make_store: Callable[[], JobStore],
) -> None:
    """Given a queued job and eight Orchestrators (their own store handles)
    When all claim it for a requeue at once
    Then exactly one gets the job; a claim within the period is refused, one after it wins."""
    stores = [make_store() for _ in range(8)]
    job = queued_job(stores[0], LONG_AGO)

    outcomes = race(8, lambda i: stores[i].claim_requeue(job.id, 1000.0, 1300.0))

    winners = [outcome for outcome in outcomes if outcome is not None]
    assert len(winners) == 1, outcomes
    assert winners[0].id == job.id and winners[0].spec == job.spec
    assert stores[0].claim_requeue(job.id, 1299.0, 1599.0) is None
    assert stores[1].claim_requeue(job.id, 1300.0, 1600.0) is not None


def test_a_started_or_finished_job_is_never_claimed_for_a_requeue(store: JobStore) -> None:
    """Given a running job and a done one, when claimed for a requeue, then neither is."""
    running = queued_job(store).id
    post_step(store, running, "plan_layout")
    done = queued_job(store).id
    complete(store, done)

    assert store.claim_requeue(running, 1000.0, 1300.0) is None
    assert store.claim_requeue(done, 1000.0, 1300.0) is None
    assert store.claim_requeue("01ARZ3NDEKTSV4RRFFQ69G5FAV", 1000.0, 1300.0) is None


def test_an_expired_job_is_not_found_by_any_read_or_write(store: JobStore) -> None:
    """Given a done job made with an Idempotency-Key, and another done job
    When the first's retention runs out (before anything deletes it)
    Then it is JobNotFound for get, a step, a transition, absent from every page and no
    replay of its key, while the other is untouched."""
    claim = IdempotencyClaim(key="order-7", fingerprint="f7")
    expiring = store.insert(jobs.new_job(dict(SPEC)), claim).job.id
    complete(store, expiring)
    kept = queued_job(store).id
    complete(store, kept)

    expire(store, expiring)

    for attempt in (
        lambda: store.get(expiring),
        lambda: store.append_step(
            expiring, make_step(expiring, "validate"), allowed_from=jobs.STEP_ALLOWED_FROM,
            start_from=jobs.START_FROM, now=jobs.timestamp(),
        ),
        lambda: complete(store, expiring),
    ):
        try:
            attempt()
        except JobNotFound:
            continue
        raise AssertionError("an expired job was found")
    listed = [job.id for job in store.page(jobs.DEFAULT_TENANT, None, 10, None)]
    listed_done = [job.id for job in store.page(jobs.DEFAULT_TENANT, JobStatus.DONE, 10, None)]
    assert listed == listed_done == [kept]
    assert store.replay_of(jobs.DEFAULT_TENANT, claim) is None
    assert store.get(kept).status is JobStatus.DONE
