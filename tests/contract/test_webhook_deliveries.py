"""The store's webhook deliveries (issue 19), run against every store backend: a delivery
recorded by the terminal write of a job with a webhook (and only then, once), claims with a
lease (one winner of many; a lapsed one is due again), attempts recorded in order, a lost
claim that cannot undo another's, and a 2xx that is final."""

from __future__ import annotations

import time

import pytest

from levelforge import jobs, lifecycle
from levelforge.errors import JobTerminal
from levelforge.jobs import JobStatus
from levelforge.ports import Delivery, DeliveryAttempt, DeliveryState, DeliveryStore, JobStore
from tests.contract.test_store_contract import SPEC, complete, race

URL = "https://hooks.example.com/levels"


def hooked(store: JobStore, url: str | None = URL) -> str:
    return store.insert(jobs.new_job(dict(SPEC), webhook_url=url)).job.id


def deliveries(store: JobStore) -> DeliveryStore:
    assert isinstance(store, DeliveryStore)
    return store


def attempt(status: int | None, error: str | None = None) -> DeliveryAttempt:
    return DeliveryAttempt(
        at=jobs.timestamp(), webhook_id="msg_x", status_code=status, latency_ms=1.5, error=error
    )


def claim_one(store: DeliveryStore, now: float, lease: float = 30.0) -> list[Delivery]:
    return store.claim_deliveries(now, now + lease, 16)


def test_the_terminal_write_of_a_job_with_a_webhook_records_its_delivery(store: JobStore) -> None:
    """Given jobs with and without a webhook, When each ends (done, failed, cancelled),
    Then each with a webhook has one pending delivery and the job reads as before; one
    without has none; a refused second terminal write records nothing more."""
    done, failed, cancelled, plain = hooked(store), hooked(store), hooked(store), hooked(store, None)
    finished = complete(store, done)
    lifecycle.fail(store, failed, jobs.JobFailure(message="no", code="generation_failed"))
    lifecycle.cancel(store, cancelled)
    complete(store, plain)
    with pytest.raises(JobTerminal):
        lifecycle.cancel(store, done)

    log = deliveries(store)
    assert finished.status is JobStatus.DONE and finished.result == {"summary": {"rooms": 1}}
    assert finished.webhook_url == URL and store.get(done).webhook_url == URL
    for job_id in (done, failed, cancelled):
        recorded = log.delivery_log(job_id)
        assert recorded is not None and recorded.state is DeliveryState.PENDING and recorded.attempts == []
    assert log.delivery_log(plain) is None
    claimed = claim_one(log, time.time() + 1)
    assert sorted(d.job_id for d in claimed) == sorted([done, failed, cancelled])
    assert {(d.url, d.attempts) for d in claimed} == {(URL, 0)}


def test_a_job_not_yet_ended_has_no_delivery(store: JobStore) -> None:
    job_id = hooked(store)
    assert deliveries(store).delivery_log(job_id) is None
    assert claim_one(deliveries(store), time.time() + 1) == []


def test_a_claim_holds_until_its_lease_ends(store: JobStore) -> None:
    """Given a due delivery, When it is claimed, Then no one else gets it until the lease
    ends; after that it is due again, to whoever claims first."""
    job_id = hooked(store)
    complete(store, job_id)
    log = deliveries(store)
    now = time.time() + 1

    first = claim_one(log, now, lease=10)
    assert [d.job_id for d in first] == [job_id]
    assert claim_one(log, now + 5) == []
    again = claim_one(log, now + 10.5)
    assert [d.job_id for d in again] == [job_id] and again[0].lease != first[0].lease


def test_attempts_are_recorded_and_the_next_one_waits_its_turn(store: JobStore) -> None:
    """Given a claimed delivery, When an attempt fails and the next is due in 60 s, Then it
    is not claimed before, is after (counting one attempt); a 2xx then ends it for good."""
    job_id = hooked(store)
    complete(store, job_id)
    log = deliveries(store)
    now = time.time() + 1
    [claimed] = claim_one(log, now)

    log.record_attempt(claimed, attempt(500), DeliveryState.PENDING, now + 60)
    assert claim_one(log, now + 59) == []
    [retried] = claim_one(log, now + 61)
    assert retried.attempts == 1
    log.record_attempt(retried, attempt(200), DeliveryState.DELIVERED, now + 61)

    recorded = log.delivery_log(job_id)
    assert recorded is not None and recorded.state is DeliveryState.DELIVERED
    assert [a.status_code for a in recorded.attempts] == [500, 200]
    assert recorded.attempts[0].latency_ms == 1.5
    assert claim_one(log, now + 10_000) == []


def test_an_abandoned_delivery_is_never_claimed_again(store: JobStore) -> None:
    job_id = hooked(store)
    complete(store, job_id)
    log = deliveries(store)
    now = time.time() + 1
    [claimed] = claim_one(log, now)
    log.record_attempt(claimed, attempt(None, "refused: loopback"), DeliveryState.ABANDONED, now)
    recorded = log.delivery_log(job_id)
    assert recorded is not None and recorded.state is DeliveryState.ABANDONED
    assert recorded.attempts[0].error == "refused: loopback"
    assert claim_one(log, now + 10_000) == []


def test_a_lapsed_claim_cannot_undo_the_next_ones(store: JobStore) -> None:
    """Given a claim that lapsed and was taken by another Orchestrator, When the first one
    records its failed attempt late, Then it is logged but the second claim holds; when the
    second one delivers, the first's late failure cannot make it pending again."""
    job_id = hooked(store)
    complete(store, job_id)
    log = deliveries(store)
    now = time.time() + 1
    [slow] = claim_one(log, now, lease=1)
    [fast] = claim_one(log, now + 2, lease=30)

    log.record_attempt(slow, attempt(None, "timeout"), DeliveryState.PENDING, now + 3)
    assert claim_one(log, now + 4) == []  # still the second one's
    log.record_attempt(fast, attempt(204), DeliveryState.DELIVERED, now + 4)
    log.record_attempt(slow, attempt(500), DeliveryState.PENDING, now + 5)

    recorded = log.delivery_log(job_id)
    assert recorded is not None and recorded.state is DeliveryState.DELIVERED
    assert [a.status_code for a in recorded.attempts] == [None, 204, 500]
    assert claim_one(log, now + 10_000) == []


def test_of_many_claiming_at_once_one_gets_each_delivery(store: JobStore) -> None:
    """Given 10 due deliveries, When 8 threads claim at once, Then each is claimed once."""
    ids = [hooked(store) for _ in range(10)]
    for job_id in ids:
        complete(store, job_id)
    log = deliveries(store)
    now = time.time() + 1

    results = race(8, lambda _: [d.job_id for d in log.claim_deliveries(now, now + 30, 16)])

    claimed = [job_id for result in results for job_id in result]
    assert sorted(claimed) == sorted(ids)


def test_of_many_ending_a_job_with_a_webhook_at_once_one_wins_and_one_delivery_is_recorded(
    store: JobStore,
) -> None:
    """Given a running job with a webhook, When 8 threads complete or cancel it at once,
    Then one wins, the others get JobTerminal, and exactly one delivery is pending."""
    job_id = hooked(store)

    def end(index: int) -> JobStatus:
        if index % 2:
            return lifecycle.cancel(store, job_id).status
        return complete(store, job_id).status

    outcomes = race(8, end)

    won = [outcome for outcome in outcomes if isinstance(outcome, JobStatus)]
    assert len(won) == 1 and all(isinstance(o, JobTerminal) for o in outcomes if o not in won)
    log = deliveries(store)
    recorded = log.delivery_log(job_id)
    assert recorded is not None and recorded.state is DeliveryState.PENDING
    assert [d.job_id for d in claim_one(log, time.time() + 1)] == [job_id]
