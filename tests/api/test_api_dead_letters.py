"""The dead-letter consumer (CONTRACT §7): a job whose message was delivered too many times
is failed with ``worker_lost``; a finished job is left as it is."""

from __future__ import annotations

import json
import time

from levelforge.api.app import create_app
from levelforge.deadletters import DeadLetterConsumer
from tests.api.orchestrator_calls import TOKEN, complete, create_job, get_job, post_step

VISIBILITY = 0.1
MAX_DELIVERIES = 2


def deliver_until_dead(queue, job_id: str) -> int:
    """Take the job's message without ever acknowledging it, as workers that keep dying
    would, until the queue stops delivering it. Returns how many times it was delivered."""
    deliveries = 0
    while True:
        messages = queue.receive(max_messages=1, wait_seconds=VISIBILITY * 5)
        if not messages:
            return deliveries
        assert json.loads(messages[0].body)["jobId"] == job_id
        deliveries += 1
        assert messages[0].deliveries == deliveries
        assert deliveries <= MAX_DELIVERIES, "the message is never dead-lettered"


def test_app_consumer_fails_a_dead_lettered_job_as_worker_lost(
    settings, store, make_queue, make_client
) -> None:
    # Given an Orchestrator running its dead-letter consumer, and a job a worker started
    queue = make_queue(visibility_timeout=VISIBILITY, max_deliveries=MAX_DELIVERIES)
    client = make_client(create_app(settings, store, queue, consume_dead_letters=True))
    job = create_job(client)
    post_step(client, job["id"], TOKEN)

    # When its message is delivered MAX_DELIVERIES times and never acknowledged
    assert deliver_until_dead(queue, job["id"]) == MAX_DELIVERIES

    # Then the consumer fails the job with worker_lost, keeping its steps
    deadline = time.monotonic() + 10
    while get_job(client, job["id"])["status"] != "failed":
        assert time.monotonic() < deadline, "the dead letter was never settled"
        time.sleep(0.01)  # poll the condition; the deadline bounds the wait
    failed = get_job(client, job["id"])
    assert failed["error"]["code"] == "worker_lost"
    assert failed["error"]["message"]
    assert [step["name"] for step in failed["steps"]] == ["plan_layout"]


def test_dead_letter_of_a_queued_job_fails_it(settings, store, make_queue, make_client) -> None:
    queue = make_queue(visibility_timeout=VISIBILITY, max_deliveries=MAX_DELIVERIES)
    client = make_client(create_app(settings, store, queue, consume_dead_letters=False))
    job = create_job(client)
    deliver_until_dead(queue, job["id"])

    settled = DeadLetterConsumer(store, queue, wait_seconds=1.0).drain_once()

    assert settled == 1
    failed = get_job(client, job["id"])
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "worker_lost"
    assert failed["error"]["details"] == {"deliveries": MAX_DELIVERIES}
    assert queue.receive_dead(wait_seconds=0) == []


def test_dead_letter_of_a_done_job_leaves_it_done(settings, store, make_queue, make_client) -> None:
    # Given a job that was completed although its message kept being redelivered
    queue = make_queue(visibility_timeout=VISIBILITY, max_deliveries=MAX_DELIVERIES)
    client = make_client(create_app(settings, store, queue, consume_dead_letters=False))
    job = create_job(client)
    complete(client, job["id"], TOKEN, {"summary": {"rooms": 1}})
    before = get_job(client, job["id"])
    deliver_until_dead(queue, job["id"])

    # When its dead letter is settled
    settled = DeadLetterConsumer(store, queue, wait_seconds=1.0).drain_once()

    # Then the letter is consumed and the job is unchanged
    assert settled == 1
    assert get_job(client, job["id"]) == before
    assert queue.receive_dead(wait_seconds=0) == []
