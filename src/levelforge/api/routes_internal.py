"""Internal routes of CONTRACT §6 (workers → Orchestrator). The token is checked before
any of these run (``guards.RequestGuard``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from levelforge import lifecycle
from levelforge.api.deps import ArtifactsDep, MetricsDep, SettingsDep, StoreDep
from levelforge.api.presenting import present
from levelforge.api.problems import Problem, error_response
from levelforge.api.schemas import CompleteIn, ErrorBody, FailIn, JobPublic, StepIn, StepRecorded
from levelforge.errors import JobTerminal, StepAlreadyRecorded
from levelforge.jobs import step_id_for

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/internal")

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 409, 413, 422, 503)
}


@router.post("/jobs/{job_id}/step", response_model=StepRecorded, responses=ERRORS, summary="Record a step")
def record_step(job_id: str, event: StepIn, store: StoreDep, metrics: MetricsDep) -> Response:
    if event.step_id != step_id_for(job_id, event.name):
        raise Problem(
            422,
            "validation_error",
            f"stepId: must be {step_id_for(job_id, event.name)!r}",
            [{"field": "stepId", "message": "must be {jobId}:{name} of this job"}],
        )
    try:
        status = lifecycle.record_step(store, job_id, event.to_step())
    except StepAlreadyRecorded as dup:
        metrics.step_duplicates.inc()
        return JSONResponse({"recorded": False, "duplicate": True, "status": dup.status.value})
    except JobTerminal as terminal:
        metrics.terminal_conflicts.labels("step").inc()
        return error_response(409, "job_terminal", str(terminal), status=terminal.status.value)
    metrics.steps_recorded.inc()
    return JSONResponse({"recorded": True, "status": status.value})


@router.post("/jobs/{job_id}/complete", response_model=JobPublic, responses=ERRORS, summary="Complete a job")
def complete_job(
    job_id: str,
    body: CompleteIn,
    store: StoreDep,
    metrics: MetricsDep,
    settings: SettingsDep,
    artifacts: ArtifactsDep,
) -> Response:
    try:
        job = lifecycle.complete(store, job_id, body.result)
    except JobTerminal:
        metrics.terminal_conflicts.labels("complete").inc()
        raise
    metrics.jobs_finished.labels(job.status.value).inc()
    logger.info("job done", extra={"job_id": job_id})
    return JSONResponse(present(job, artifacts, settings.presign_expires_seconds))


@router.post("/jobs/{job_id}/fail", response_model=JobPublic, responses=ERRORS, summary="Fail a job")
def fail_job(
    job_id: str,
    body: FailIn,
    store: StoreDep,
    metrics: MetricsDep,
    settings: SettingsDep,
    artifacts: ArtifactsDep,
) -> Response:
    try:
        job = lifecycle.fail(store, job_id, body.to_failure())
    except JobTerminal:
        metrics.terminal_conflicts.labels("fail").inc()
        raise
    metrics.jobs_finished.labels(job.status.value).inc()
    logger.info("job failed: %s", body.error.code, extra={"job_id": job_id})
    return JSONResponse(present(job, artifacts, settings.presign_expires_seconds))
