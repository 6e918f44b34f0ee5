"""The dead-letter consumer (CONTRACT §7): a job whose message was delivered too many
times is failed with ``worker_lost`` rather than left running. Runs in the Orchestrator."""

from __future__ import annotations

import logging
import threading

from pydantic import ValidationError

from levelforge import lifecycle
from levelforge.errors import JobNotFound, JobTerminal, LevelforgeError
from levelforge.jobs import JobMessage, worker_lost_failure
from levelforge.ports import JobQueue, JobStore, Message

logger = logging.getLogger(__name__)


def settle(store: JobStore, message: Message) -> None:
    """Fail the message's job with ``worker_lost``; a terminal or unknown job is left alone."""
    try:
        job_id = JobMessage.model_validate_json(message.body).job_id
    except ValidationError:
        logger.error("dead letter %s is not a job message; dropped", message.id)
        return
    try:
        lifecycle.fail(store, job_id, worker_lost_failure(message.deliveries))
        logger.warning(
            "job failed: worker_lost after %d deliveries", message.deliveries, extra={"job_id": job_id}
        )
    except (JobTerminal, JobNotFound):
        logger.info("dead letter of a finished or unknown job ignored", extra={"job_id": job_id})


class DeadLetterConsumer:
    """A background thread that settles dead letters until stopped."""

    def __init__(self, store: JobStore, queue: JobQueue, wait_seconds: float = 1.0) -> None:
        self.store = store
        self.queue = queue
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dead-letters", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.wait_seconds + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain_once()
            except LevelforgeError as exc:  # store or queue briefly unavailable
                logger.warning("dead-letter consumer: %s", exc)
                self._stop.wait(self.wait_seconds)
            except Exception:
                logger.exception("dead-letter consumer failed; retrying")
                self._stop.wait(self.wait_seconds)

    def drain_once(self) -> int:
        messages = self.queue.receive_dead(max_messages=10, wait_seconds=self.wait_seconds)
        for message in messages:
            settle(self.store, message)
            self.queue.ack_dead(message)
        return len(messages)
