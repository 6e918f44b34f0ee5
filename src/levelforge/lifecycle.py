"""The life-cycle rules of CONTRACT §1 and §6, applied through a ``JobStore``.

Each function is one conditional write of the store; the allowed-from sets come from
``jobs``. The API and the dead-letter consumer call these, never the store's writes
directly, so the rules live in one place.
"""

from __future__ import annotations

from typing import Any

from levelforge.jobs import (
    FINISH_ALLOWED_FROM,
    START_FROM,
    STEP_ALLOWED_FROM,
    Job,
    JobFailure,
    JobStatus,
    ResultJson,
    Step,
    cancelled_failure,
    timestamp,
)
from levelforge.ports import JobStore


def record_step(store: JobStore, job_id: str, step: Step) -> JobStatus:
    """Append a completed step once; the first one makes a queued job running."""
    return store.append_step(
        job_id, step, allowed_from=STEP_ALLOWED_FROM, start_from=START_FROM, now=timestamp()
    )


def complete(store: JobStore, job_id: str, result: dict[str, Any] | ResultJson) -> Job:
    return store.transition(
        job_id,
        to=JobStatus.DONE,
        allowed_from=FINISH_ALLOWED_FROM,
        now=timestamp(),
        result=result,
    )


def fail(store: JobStore, job_id: str, failure: JobFailure) -> Job:
    return store.transition(
        job_id,
        to=JobStatus.FAILED,
        allowed_from=FINISH_ALLOWED_FROM,
        now=timestamp(),
        error=failure,
    )


def cancel(store: JobStore, job_id: str) -> Job:
    return fail(store, job_id, cancelled_failure())
