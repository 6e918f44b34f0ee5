"""The requeuer: a job left ``queued`` without a message (its Orchestrator died between the
insert and the send, ``outbox.InsertThenSend``) is sent again. Runs in every Orchestrator
whose queue is apart from its store.

Every ``interval`` (a fraction of ``REQUEUE_AFTER_SECONDS``, with jitter so that many
Orchestrators spread out), it asks the store for jobs still ``queued`` that were created
more than ``REQUEUE_AFTER_SECONDS`` ago (an indexed query), and for each one makes one
conditional write (``claim_requeue``): the job is still queued and nobody claimed it in
the last ``REQUEUE_AFTER_SECONDS``. The one Orchestrator that wins sends the message; the
others skip it. A job that is only waiting behind a long backlog gets a second message at
most once per period: harmless (a worker running a job that is already terminal stops at
its first step and acknowledges), and rare (the backlog must outlast the period, 5
minutes by default). An Orchestrator that dies after its claim and before its send leaves
the job to the next claim, a period later: every job is sent at least once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import UTC, datetime, timedelta

from levelforge.errors import LevelforgeError
from levelforge.jobs import timestamp
from levelforge.outbox import message_of
from levelforge.ports import JobQueue, JobStore

logger = logging.getLogger(__name__)

#: at most this many jobs are claimed a pass (the rest wait for the next one)
BATCH = 100
#: a pass runs every this share of ``REQUEUE_AFTER_SECONDS`` (jittered ±25%), at most this often
PASS_SHARE = 0.25
MAX_INTERVAL_SECONDS = 30.0


class Requeuer:
    """A background thread of requeue passes until stopped."""

    def __init__(self, store: JobStore, queue: JobQueue, after_seconds: float) -> None:
        self.store = store
        self.queue = queue
        self.after_seconds = after_seconds
        self.interval = min(after_seconds * PASS_SHARE, MAX_INTERVAL_SECONDS)
        self.requeued = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (again, after ``stop``: an app's lifespan may run twice)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="requeuer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run_once(self, now: float | None = None) -> int:
        """One pass; how many jobs this Orchestrator sent again."""
        now = time.time() if now is None else now
        cutoff = timestamp(datetime.fromtimestamp(now, UTC) - timedelta(seconds=self.after_seconds))
        sent = 0
        for job_id in self.store.queued_before(cutoff, BATCH):
            job = self.store.claim_requeue(job_id, now, now + self.after_seconds)
            if job is None:
                continue  # started meanwhile, or claimed by another Orchestrator
            self.queue.send(message_of(job))
            sent += 1
            logger.warning("job requeued: still queued %.0f s after its creation",
                           self.after_seconds, extra={"job_id": job_id})
        self.requeued += sent
        return sent

    def _run(self) -> None:
        while not self._stop.wait(self.interval * random.uniform(0.75, 1.25)):
            try:
                self.run_once()
            except LevelforgeError as exc:  # store or queue briefly unavailable
                logger.warning("requeuer: %s", exc)
            except Exception:
                logger.exception("requeuer pass failed; trying again")
