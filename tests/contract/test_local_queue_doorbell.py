"""The local queue's doorbell (``queues/doorbell.py``): a receiver waiting for a message
sleeps until the commit that makes one visible rings, from this process or another.

Each test makes the queue's own look at the file rare (``BELL_POLL_SECONDS`` = 60 s,
longer than the test's timeout), so a message can only reach a waiting receiver through
the bell; and each rings only once the receiver is known to be waiting at it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from levelforge.jobs import Job, JobStatus
from levelforge.outbox import open_outbox
from levelforge.ports import Message
from levelforge.queues import local
from levelforge.queues.doorbell import Listener, bell_path, ring
from levelforge.queues.local import LocalQueue
from levelforge.stores.sqlite import SqliteJobStore

WAIT_SECONDS = 30.0  # a receive that ends by this has missed its ring (the test times out first)


@pytest.fixture(autouse=True)
def rare_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "BELL_POLL_SECONDS", 60.0)


@pytest.fixture
def waiting(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Semaphore]:
    """Released each time a receiver starts waiting at the bell."""
    started = threading.Semaphore(0)
    real_wait = Listener.wait

    def wait(self: Listener, seconds: float) -> bool:
        started.release()
        return real_wait(self, seconds)

    monkeypatch.setattr(Listener, "wait", wait)
    yield started


def queue_at(path: Path) -> LocalQueue:
    return LocalQueue(path, visibility_timeout=30, max_deliveries=5)


class Receiver(threading.Thread):
    def __init__(self, queue: LocalQueue) -> None:
        super().__init__(daemon=True)
        self.queue = queue
        self.got: list[Message] = []

    def run(self) -> None:
        self.got = self.queue.receive(max_messages=1, wait_seconds=WAIT_SECONDS)


def receive_while(queue: LocalQueue, waiting: threading.Semaphore, act: Callable[[], None]) -> list[Message]:
    receiver = Receiver(queue)
    receiver.start()
    assert waiting.acquire(timeout=10), "the receiver never started waiting"
    act()
    receiver.join(WAIT_SECONDS + 5)
    return receiver.got


def test_a_send_from_another_process_wakes_a_waiting_receiver(
    tmp_path: Path, waiting: threading.Semaphore
) -> None:
    path = tmp_path / "q.db"
    queue = queue_at(path)
    sender = (
        "import sys; from pathlib import Path; from levelforge.queues.local import LocalQueue; "
        "LocalQueue(Path(sys.argv[1]), visibility_timeout=30, max_deliveries=5).send('from afar')"
    )

    got = receive_while(
        queue, waiting, lambda: subprocess.run([sys.executable, "-c", sender, str(path)], check=True)
    )

    assert [message.body for message in got] == ["from afar"]
    assert stat.S_ISFIFO(os.stat(bell_path(path)).st_mode)
    assert stat.S_IMODE(os.stat(bell_path(path)).st_mode) == 0o600


def test_two_messages_wake_two_waiting_receivers(tmp_path: Path, waiting: threading.Semaphore) -> None:
    """One ring per message and one taken per wake-up: the second worker is not left asleep."""
    path = tmp_path / "q.db"
    receivers = [Receiver(queue_at(path)) for _ in range(2)]
    for receiver in receivers:
        receiver.start()
    for _ in receivers:
        assert waiting.acquire(timeout=10)
    sender = queue_at(path)
    sender.send("one")
    sender.send("two")
    for receiver in receivers:
        receiver.join(WAIT_SECONDS + 5)

    assert sorted(message.body for receiver in receivers for message in receiver.got) == ["one", "two"]


def test_a_job_created_through_the_outbox_rings_once_committed(
    tmp_path: Path, waiting: threading.Semaphore
) -> None:
    path = tmp_path / "q.db"
    store, queue = SqliteJobStore(path), queue_at(path)
    outbox = open_outbox(store, queue_at(path))
    job = Job(id="J1", status=JobStatus.QUEUED, spec={"seed": 1}, created_at="2026-01-01T00:00:00.000Z",
              updated_at="2026-01-01T00:00:00.000Z")

    def create() -> None:
        outbox.create(job, None)
        outbox.committed()

    got = receive_while(queue, waiting, create)

    assert len(got) == 1 and '"J1"' in got[0].body


def test_a_released_message_wakes_a_waiting_receiver(tmp_path: Path, waiting: threading.Semaphore) -> None:
    path = tmp_path / "q.db"
    holder, queue = queue_at(path), queue_at(path)
    holder.send("again")
    (taken,) = holder.receive(max_messages=1)

    got = receive_while(queue, waiting, lambda: holder.release(taken))

    assert [(message.body, message.deliveries) for message in got] == [("again", 2)]


def test_without_a_bell_the_queue_polls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that is not a pipe where the bell would be: no bell, and messages are still
    received by looking at the file (ringing does nothing to the file)."""
    path = tmp_path / "q.db"
    bell_path(path).write_text("not a pipe")
    queue = LocalQueue(path, visibility_timeout=30, max_deliveries=5, poll_interval=0.001)
    assert Listener.open(bell_path(path)) is None

    threading.Timer(0.05, queue_at(path).send, args=("polled",)).start()
    got = queue.receive(max_messages=1, wait_seconds=WAIT_SECONDS)

    assert [message.body for message in got] == ["polled"]
    assert bell_path(path).read_text() == "not a pipe"


def test_a_ring_nobody_listens_to_is_harmless(tmp_path: Path) -> None:
    ring(tmp_path / "nothing-doorbell")  # no bell: nothing made
    assert not (tmp_path / "nothing-doorbell").exists()
    listener = Listener.open(tmp_path / "bell")
    assert listener is not None
    for _ in range(70_000):  # more rings than the pipe holds: the extra ones are dropped
        ring(tmp_path / "bell")
    assert listener.wait(0)
    listener.close()
