"""Server-sent events of a job (CONTRACT §2, ``GET /jobs/{id}/events``).

The stream reads the job store, never this process's memory, so any Orchestrator of a
deployment serves any job's events. It is an async generator that reads the store again
as soon as this process records a change of the job (``changes.JobChanges``), and at the
latest every ``poll_seconds`` (each read as ``port_calls`` reads: at once from the embedded
file, in the thread pool for the length of one request from DynamoDB: never a thread held
per client), writes what changed, a
``: keep-alive`` comment when it has been quiet for ``heartbeat_seconds``, and ends after
the terminal ``status`` event or when the client goes away.

Events, in order (``data`` is one line of JSON):

- ``status``: the job's status when the stream starts and on each change; ``running`` is
  always sent before the first step. A terminal one carries ``error`` (failed) or the
  result's ``summary`` and the names of the ``artifacts`` produced (done), and is last.
- ``step``: one per recorded step, ``data`` the step as in the job resource.

Event ids say what the client has seen, so ``Last-Event-ID`` resumes without repeats:
a ``step`` event's id is the step's **1-based** position in ``steps``; a ``status``
event's id is ``{steps seen}-{status}`` (``0-queued``, ``3-running``, ``10-done``).
Resuming after a terminal ``status`` answers ``204 No Content``, which tells an
``EventSource`` to stop reconnecting.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import WithJsonSchema

from levelforge.api.access import TenantDep, owned_job
from levelforge.api.changes import JobChanges, changed_within
from levelforge.api.deps import StoreCallsDep, StoreDep
from levelforge.api.port_calls import PortCalls
from levelforge.errors import LevelforgeError
from levelforge.jobs import ARTIFACTS, TERMINAL, Job, JobStatus, Step
from levelforge.ports import JobStore
from levelforge.resources import ErrorBody

logger = logging.getLogger(__name__)
router = APIRouter()

#: how long an ``EventSource`` waits before it reconnects after a dropped connection
RETRY_MILLISECONDS = 1000
_EVENT_ID = re.compile(r"^(?P<steps>\d{1,9})(?:-(?P<status>queued|running|done|failed))?$")

_EVENT_ID_PATTERN = r"^\d{1,9}(-(queued|running|done|failed))?$"  # _EVENT_ID, in JSON Schema's dialect
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=32,
        pattern=_EVENT_ID_PATTERN,
        description="the id of the last event received: `3` (a step) or `3-running` (a status)",
    ),
    WithJsonSchema({"type": "string", "maxLength": 32, "pattern": _EVENT_ID_PATTERN}),
]


@dataclass(frozen=True)
class StreamTiming:
    """How often the store is read, and the longest silence before a keep-alive comment."""

    poll_seconds: float = 0.1
    heartbeat_seconds: float = 15.0


@dataclass(frozen=True)
class Seen:
    """What a client has received: this many steps, and this status (None: nothing yet)."""

    steps: int = 0
    status: JobStatus | None = None

    @classmethod
    def from_event_id(cls, event_id: str | None) -> Seen:
        match = _EVENT_ID.match(event_id or "")
        if match is None:
            return cls()
        steps = int(match["steps"])
        if match["status"] is not None:
            return cls(steps, JobStatus(match["status"]))
        # a step's id: ``running`` always goes before the first step
        return cls(steps, JobStatus.RUNNING if steps else None)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


def format_event(event: str, event_id: str, data: dict[str, Any]) -> str:
    payload = json.dumps(data, separators=(",", ":"))  # one line: JSON escapes every newline
    return f"id: {event_id}\nevent: {event}\ndata: {payload}\n\n"


def status_data(job: Job, status: JobStatus, steps: int) -> dict[str, Any]:
    data: dict[str, Any] = {"status": status.value, "steps": steps}
    if status is not job.status:  # a status the job has since left (``running`` replayed)
        return data
    data["updatedAt"] = job.updated_at
    if status is JobStatus.FAILED and job.error is not None:
        data["error"] = job.error.model_dump(by_alias=True, mode="json", exclude_none=True)
    if status is JobStatus.DONE and job.result is not None:
        data["summary"] = job.result.get("summary")
        data["artifacts"] = produced_artifacts(job.result)
    return data


def produced_artifacts(result: dict[str, Any]) -> list[str]:
    return [
        name
        for name, (field, _content_type) in ARTIFACTS.items()
        if result.get(field) is not None or result.get(f"{field}Key") is not None
    ]


def status_event(job: Job, status: JobStatus, steps: int) -> str:
    return format_event("status", f"{steps}-{status.value}", status_data(job, status, steps))


def step_event(position: int, step: Step) -> str:
    return format_event("step", str(position), step.model_dump(by_alias=True, mode="json"))


def events_since(job: Job, seen: Seen) -> tuple[list[str], Seen]:
    """The events that take a client from ``seen`` to ``job`` (pure), and what it has
    seen after them."""
    events: list[str] = []
    status = seen.status
    new_steps = job.steps[seen.steps :]
    if new_steps and status in (None, JobStatus.QUEUED):
        status = JobStatus.RUNNING
        events.append(status_event(job, status, seen.steps))
    events.extend(step_event(position, step) for position, step in enumerate(new_steps, seen.steps + 1))
    steps = max(seen.steps, len(job.steps))
    if job.status is not status:
        status = job.status
        events.append(status_event(job, status, steps))
    return events, Seen(steps, status)


async def job_events(
    request: Request, store: JobStore, calls: PortCalls, job: Job, seen: Seen, timing: StreamTiming
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    changes: JobChanges = request.app.state.changes
    with changes.watch(job.id) as changed:
        quiet_since = time.monotonic()
        while True:
            events, seen = events_since(job, seen)
            if events:
                yield "".join(events)
                quiet_since = time.monotonic()
            if seen.finished:
                return
            if time.monotonic() - quiet_since >= timing.heartbeat_seconds:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
            await changed_within(changed, timing.poll_seconds)
            changed.clear()
            if request.app.state.stopping.is_set() or await request.is_disconnected():
                return  # on shutdown the client reconnects (to another Orchestrator) with Last-Event-ID
            try:
                job = await calls.read(store.get, job.id)
            except LevelforgeError as exc:  # the client reconnects with Last-Event-ID
                logger.warning("event stream ended: %s", exc, extra={"job_id": job.id})
                return


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "`status` and `step` events"},
        204: {"description": "resumed after the terminal status: nothing more will come"},
        **{code: {"model": ErrorBody} for code in (401, 404, 422, 503)},
    },
    summary="A job's steps and status changes, as server-sent events",
)
async def get_job_events(
    job_id: str,
    request: Request,
    store: StoreDep,
    calls: StoreCallsDep,
    tenant: TenantDep,
    last_event_id: LastEventId = None,
) -> Response:
    seen = Seen.from_event_id(last_event_id)
    # unknown job, or another tenant's: 404 before any event
    job = await calls.read(owned_job, store, job_id, tenant)
    if seen.finished:
        return Response(status_code=204)
    timing: StreamTiming = request.app.state.event_timing
    return StreamingResponse(
        job_events(request, store, calls, job, seen, timing),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
