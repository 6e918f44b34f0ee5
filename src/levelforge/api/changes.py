"""Wake-ups for the event streams of this process.

An event stream reads its job from the store, never from this process's memory, because
any Orchestrator of a deployment may have written the job. Between reads it waits; when
this process itself writes a step or a completion of that job, ``JobChanges`` ends the
wait at once, so a stream follows a job as fast as the job moves rather than at its next
poll. Changes written by another Orchestrator are still seen at the next poll.

Every method runs on the event loop's thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from levelforge.jobs import JobStatus
from levelforge.ports import JobJson


class JobChanges:
    def __init__(self) -> None:
        self._watchers: dict[str, set[asyncio.Event]] = {}
        #: the status each watched job was last written with by this process
        self._statuses: dict[str, JobStatus] = {}
        #: the stored JSON of a watched job, when its writer had it at hand (a terminal job)
        self._stored: dict[str, JobJson] = {}

    def notify(self, job_id: str, status: JobStatus | None = None, stored: JobJson | None = None) -> None:
        """The job has changed (to ``status``, when the writer knows it; to ``stored``, when
        the writer read the job back after its write): wake every stream and long poll of
        this process that follows it."""
        watchers = self._watchers.get(job_id)
        if not watchers:
            return
        if status is not None:
            self._statuses[job_id] = status
        if stored is not None:
            self._stored[job_id] = stored
        for event in watchers:
            event.set()

    def written_status(self, job_id: str) -> JobStatus | None:
        """The status this process last wrote a watched job with (``None``: not known), so
        that a long poll woken by a step need not read the job again to learn it still runs."""
        return self._statuses.get(job_id)

    def written_job(self, job_id: str) -> JobJson | None:
        """The job as this process wrote and read it back last, when it did (``None``:
        read it), so that a long poll woken by a completion answers without reading."""
        return self._stored.get(job_id)

    @contextmanager
    def watch(self, job_id: str) -> Iterator[asyncio.Event]:
        """An event set by each ``notify(job_id)`` while the block runs: clear it before
        reading the store, and a change written after the read is never missed."""
        event = asyncio.Event()
        self._watchers.setdefault(job_id, set()).add(event)
        try:
            yield event
        finally:
            watchers = self._watchers[job_id]
            watchers.discard(event)
            if not watchers:
                del self._watchers[job_id]
                self._statuses.pop(job_id, None)
                self._stored.pop(job_id, None)


async def changed_within(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` have passed; True when it was set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
