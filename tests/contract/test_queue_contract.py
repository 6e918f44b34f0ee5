"""The job queue contract (CONTRACT §7): at-least-once delivery with a visibility
timeout, receipts, and a dead-letter queue, run against every queue backend."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from levelforge.ports import Grouping, JobQueue, Message
from tests.contract.contract_backends import QueueRecipe, receive_in_child, run_processes

MakeQueue = Callable[..., tuple[JobQueue, QueueRecipe]]


def take_one(queue: JobQueue, wait_seconds: float = 0.0) -> Message:
    messages = queue.receive(max_messages=1, wait_seconds=wait_seconds)
    assert len(messages) == 1, f"expected one message, got {messages}"
    return messages[0]


def test_a_sent_message_is_received_and_acknowledged(make_queue: MakeQueue) -> None:
    """Given a sent message, when received and acked, then it had the body and its first
    delivery, and it never comes back, not even after its visibility timeout."""
    queue, _ = make_queue(visibility_timeout=0.1)
    queue.send('{"jobId": "j1"}')

    message = take_one(queue)
    queue.ack(message)

    assert message.body == '{"jobId": "j1"}' and message.deliveries == 1 and message.receipt
    assert queue.receive(max_messages=10, wait_seconds=0.3) == []


def test_messages_come_in_the_order_sent(make_queue: MakeQueue) -> None:
    """Given three messages, when received in one batch, then they come in order sent."""
    queue, _ = make_queue()
    for body in ("a", "b", "c"):
        queue.send(body)

    assert [m.body for m in queue.receive(max_messages=10)] == ["a", "b", "c"]


def test_a_taken_message_is_hidden(make_queue: MakeQueue) -> None:
    """Given a received message, when another consumer looks, then it does not see it."""
    queue, _ = make_queue(visibility_timeout=5)
    other, _ = make_queue(visibility_timeout=5)
    queue.send("only")
    take_one(queue)

    assert other.receive(max_messages=10, wait_seconds=0.1) == []


def test_an_unacknowledged_message_comes_back_after_the_timeout(make_queue: MakeQueue) -> None:
    """Given a message taken with a 0.2 s visibility timeout and never acked, when the
    timeout passes, then it is delivered again with a new receipt and count 2."""
    queue, _ = make_queue(visibility_timeout=0.2)
    queue.send("again")
    first = take_one(queue)

    assert queue.receive(wait_seconds=0) == []
    second = take_one(queue, wait_seconds=3)

    assert second.id == first.id and second.body == "again"
    assert second.deliveries == 2 and second.receipt != first.receipt


def test_a_stale_receipt_acknowledges_nothing(make_queue: MakeQueue) -> None:
    """Given a message redelivered after a timeout, when the first holder acks with its
    stale receipt, then the message survives and the current holder still owns it."""
    queue, _ = make_queue(visibility_timeout=0.2)
    holder, _ = make_queue(visibility_timeout=30)
    queue.send("contested")
    stale = take_one(queue)
    current = take_one(holder, wait_seconds=3)

    queue.ack(stale)
    queue.release(stale)
    queue.extend(stale, 0)

    assert queue.receive(wait_seconds=0.1) == []  # still hidden for the current holder
    holder.release(current)
    assert take_one(queue).id == current.id


def test_release_makes_a_message_visible_at_once(make_queue: MakeQueue) -> None:
    """Given a message taken with a long timeout, when released, then it is received
    again immediately."""
    queue, _ = make_queue(visibility_timeout=30)
    queue.send("back")
    first = take_one(queue)

    queue.release(first)

    again = take_one(queue)
    assert again.id == first.id and again.deliveries == 2


def test_extend_keeps_a_message_hidden(make_queue: MakeQueue) -> None:
    """Given a message taken with a 0.2 s timeout, when extended by 30 s, then it is not
    delivered after the original timeout has passed."""
    queue, _ = make_queue(visibility_timeout=0.2)
    queue.send("busy")
    message = take_one(queue)

    queue.extend(message, 30)

    assert queue.receive(wait_seconds=0.5) == []
    queue.ack(message)  # the receipt is still the holder's
    queue.release(message)
    assert queue.receive(wait_seconds=0.05) == []


def test_a_message_delivered_too_often_goes_to_the_dead_letters(make_queue: MakeQueue) -> None:
    """Given max_deliveries=2, when a message is delivered twice and never acked, then the
    next receive moves it to the dead letters with its body and count, not delivering it."""
    queue, _ = make_queue(visibility_timeout=30, max_deliveries=2)
    queue.send('{"jobId": "doomed"}')
    doomed = take_one(queue)
    queue.release(doomed)
    queue.release(take_one(queue))  # its second delivery
    queue.send("healthy")

    delivered = queue.receive(max_messages=10)
    dead = queue.receive_dead(max_messages=10)

    assert [m.body for m in delivered] == ["healthy"]
    assert [(m.id, m.body, m.deliveries) for m in dead] == [(doomed.id, doomed.body, 2)]
    queue.ack_dead(dead[0])
    assert queue.receive_dead(wait_seconds=0.05) == []


def test_a_dead_letter_taken_and_not_acked_comes_back(make_queue: MakeQueue) -> None:
    """Given a dead letter taken with a 0.2 s timeout, when not acked, then it is
    delivered from the dead letters again, count unchanged."""
    queue, _ = make_queue(visibility_timeout=0.2, max_deliveries=1)
    queue.send("doomed")
    queue.release(take_one(queue))
    assert queue.receive() == []  # visible again, but out of deliveries: it dies

    first = queue.receive_dead()
    again = queue.receive_dead(wait_seconds=3)

    assert [m.id for m in again] == [m.id for m in first] and again[0].deliveries == 1


def test_two_processes_never_share_a_hidden_message(make_queue: MakeQueue) -> None:
    """Given 40 messages, when two processes take them concurrently without acking,
    then no message goes to both and none is missed."""
    queue, recipe = make_queue(visibility_timeout=30)
    for i in range(40):
        queue.send(f"m{i}")

    taken = run_processes(receive_in_child, [(recipe,), (recipe,)])

    first, second = (set(ids) for ids in taken)
    assert not first & second
    assert len(first | second) == 40 == len(taken[0]) + len(taken[1])


def test_many_consumers_get_each_message_exactly_once(make_queue: MakeQueue) -> None:
    """Given 300 messages and 4 consumer threads acking promptly, when they drain the
    queue, then every message was delivered exactly once."""
    queue, recipe = make_queue(visibility_timeout=30)
    for i in range(300):
        queue.send(f"m{i}")
    bodies: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def consume() -> None:
        consumer = recipe.open()
        try:
            barrier.wait()
            while batch := consumer.receive(max_messages=3, wait_seconds=0.2):
                for message in batch:
                    consumer.ack(message)
                with lock:
                    bodies.extend(message.body for message in batch)
        finally:
            consumer.close()

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert Counter(bodies) == Counter(f"m{i}" for i in range(300))


def test_a_local_group_of_sends_is_received_only_once_committed(
    make_queue: MakeQueue, queue_kind: str
) -> None:
    """Given the local queue grouping its writes (the Orchestrator's ``GroupCommit``)
    When it sends two messages in a group
    Then nothing is received before the group ends, both after; while another connection
    holds the file's write lock no group begins (and nothing waits)."""
    if queue_kind != "local":
        pytest.skip("only the embedded queue groups its writes; SQS sends are requests of their own")
    queue, recipe = make_queue()
    assert isinstance(queue, Grouping)
    with _hold_write_lock(queue):
        assert queue.begin_group() is False
    other = recipe.open()
    try:
        assert queue.begin_group()
        queue.send("one")
        queue.send("two")
        assert other.receive(max_messages=10) == []
        queue.end_group()
        assert sorted(m.body for m in other.receive(max_messages=10)) == ["one", "two"]
    finally:
        other.close()


@contextlib.contextmanager
def _hold_write_lock(queue: JobQueue) -> Iterator[None]:
    """Another connection holds the local queue's SQLite file's write lock."""
    holder = sqlite3.connect(queue._db.path, isolation_level=None)  # type: ignore[attr-defined]
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()
