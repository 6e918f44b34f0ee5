"""Retention on the embedded store: the sweeper that deletes expired jobs
(``JOB_RETENTION_DAYS`` after they ended) and gives their pages back. DynamoDB needs none
(its TTL deletes them; reads hide an expired item meanwhile).

A sweep deletes ``BATCH`` jobs a transaction (their idempotency keys and dead letters
with them), pausing ``PAUSE_SECONDS`` between transactions so that the Orchestrator's and
the workers' writes get the file's write lock in between: a batch holds it a few
milliseconds (a job with its inline artifacts is ~40 KB, ten pages). Then it gives back
free pages beyond ``KEEP_FREE_PAGES`` (kept for the next jobs' rows), ``VACUUM_PAGES`` a
transaction. Several Orchestrators on one file may each sweep: the deletes are
idempotent, and whoever comes second finds nothing. Measured by
``benchmarks/bench_retention.py``: ~320 jobs a second; ``POST /jobs`` at 100 a second
meanwhile has a p99 of ~10 ms against ~3 ms without a sweep (its group commit waits for
a batch's few milliseconds; 32 jobs and 256 pages a transaction cost three times as much).
"""

from __future__ import annotations

import logging
import os
import threading

from levelforge.errors import LevelforgeError
from levelforge.queues.local import LocalQueue
from levelforge.stores.sqlite import SqliteJobStore

logger = logging.getLogger(__name__)

BATCH = 8
VACUUM_PAGES = 64
PAUSE_SECONDS = 0.01
#: free pages kept for new rows (4 MB of 4-KB pages): a steady flow reuses them
KEEP_FREE_PAGES = 1024
#: a sweep runs every this share of the retention, between these bounds
SWEEP_SHARE = 0.1
MIN_INTERVAL_SECONDS = 0.5
MAX_INTERVAL_SECONDS = 60.0


class RetentionSweeper:
    """A background thread of sweeps until stopped."""

    def __init__(
        self, store: SqliteJobStore, queue: LocalQueue | None, retention_seconds: float,
        *, keep_free_pages: int = KEEP_FREE_PAGES,
    ) -> None:
        self.store = store
        self.queue = queue
        self.keep_free_pages = keep_free_pages
        self.interval = min(max(retention_seconds * SWEEP_SHARE, MIN_INTERVAL_SECONDS), MAX_INTERVAL_SECONDS)
        self.deleted = 0
        self.pages_freed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (again, after ``stop``: an app's lifespan may run twice)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def sweep(self) -> tuple[int, int]:
        """Delete every expired job and give back the free pages beyond the reserve, in
        small transactions; ``(jobs deleted, pages freed)``."""
        deleted = freed = 0
        while not self._stop.is_set():
            gone = self.store.delete_expired(BATCH)
            if self.queue is not None:
                self.queue.forget_dead_letters(gone)
            deleted += len(gone)
            if len(gone) < BATCH:
                break
            self._stop.wait(PAUSE_SECONDS)
        while not self._stop.is_set():
            count = self.store.reclaim_free_pages(self.keep_free_pages, VACUUM_PAGES)
            freed += count
            if count < VACUUM_PAGES:
                break
            self._stop.wait(PAUSE_SECONDS)
        self.deleted += deleted
        self.pages_freed += freed
        if deleted:
            logger.info("retention: %d expired jobs deleted, %d pages freed", deleted, freed)
        return deleted, freed

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except LevelforgeError as exc:  # the file busy or full: the next sweep tries again
                logger.warning("retention sweep: %s", exc)
            except Exception:
                logger.exception("retention sweep failed; trying again")


def open_sweeper(store: object, queue: object, retention_seconds: float) -> RetentionSweeper | None:
    """A sweeper for the embedded store (its local queue's dead letters too when they share
    the file); ``None`` for a store that expires jobs itself."""
    if not isinstance(store, SqliteJobStore):
        return None
    same_file = isinstance(queue, LocalQueue) and os.path.realpath(queue.path) == os.path.realpath(store.path)
    local = queue if same_file and isinstance(queue, LocalQueue) else None
    return RetentionSweeper(store, local, retention_seconds)
