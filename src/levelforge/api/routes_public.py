"""Public routes of CONTRACT §2."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse
from pydantic import WithJsonSchema
from starlette.concurrency import run_in_threadpool

from levelforge import lifecycle
from levelforge.api.access import TenantDep, owned_job, take_creation_slot
from levelforge.api.deps import ArtifactsDep, MetricsDep, QueueDep, SettingsDep, StoreDep
from levelforge.api.presenting import BadCursor, decode_cursor, encode_cursor, page_json, present_json
from levelforge.api.problems import Problem
from levelforge.api.responses import json_bytes
from levelforge.api.schemas import ErrorBody, Health, JobPage, JobPublic
from levelforge.api.soon import soon
from levelforge.errors import JobTerminal, StoreUnavailable
from levelforge.generation import encode_json
from levelforge.generation.spec import LevelSpecIn, normalise
from levelforge.jobs import (
    ARTIFACTS,
    IdempotencyClaim,
    JobFailure,
    JobMessage,
    JobStatus,
    fingerprint,
    new_job,
)

logger = logging.getLogger(__name__)
router = APIRouter()

_KEY_PATTERN = r"^[\x20-\x7e]+$"
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=_KEY_PATTERN,
        description="1 to 255 printable ASCII characters; the same key and body return the same job",
    ),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 255, "pattern": _KEY_PATTERN}),
]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 409, 413, 422, 503)
}
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorBody,
        "description": "over RATE_LIMIT_PER_MINUTE creations this minute; `Retry-After` says when to retry",
    }
}


@router.post(
    "/jobs",
    status_code=202,
    response_model=JobPublic,
    responses={
        200: {
            "model": JobPublic,
            "description": "an idempotent replay: the first request's job (Idempotent-Replayed: true)",
        },
        **ERRORS,
        **RATE_LIMITED,
    },
    summary="Create a job from a level spec",
)
async def create_job(
    spec: LevelSpecIn,
    store: StoreDep,
    queue: QueueDep,
    metrics: MetricsDep,
    settings: SettingsDep,
    artifacts: ArtifactsDep,
    tenant: TenantDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Every job's first request: its two writes (the job, then its message) are each run
    at once when they would not wait, else in the thread pool (``soon.soon``)."""
    job = new_job(normalise(spec), tenant=tenant)
    claim = None
    if idempotency_key is not None:
        body = spec.model_dump(mode="json", exclude_unset=True)
        claim = IdempotencyClaim(key=idempotency_key, fingerprint=fingerprint(body))
    limit, slot = settings.rate_limit_per_minute, None
    if limit is not None:
        slot = await run_in_threadpool(take_creation_slot, store, tenant, limit, claim)
    try:
        created = await soon(store, store.insert, job, claim)
    except Exception:
        if slot is not None:
            await run_in_threadpool(slot.give_back)
        raise
    job = created.job
    headers = {"Location": f"/status/{job.id}"}
    if created.replayed:
        if slot is not None:
            await run_in_threadpool(slot.give_back)  # a replay creates nothing: not counted
        headers["Idempotent-Replayed"] = "true"
        return json_bytes(present_json(job, artifacts, settings.presign_expires_seconds), 200, headers)
    await enqueue(job.id, job.spec, store, queue)
    metrics.jobs_created.inc()
    logger.info("job created", extra={"job_id": job.id, "tenant": tenant})
    return json_bytes(job.model_dump_json(by_alias=True).encode(), 202, headers)


async def enqueue(job_id: str, spec: dict[str, Any], store: StoreDep, queue: QueueDep) -> None:
    """Send the job's message; a queue that refuses fails the job rather than strand it."""
    message = JobMessage(job_id=job_id, spec=spec).model_dump_json(by_alias=True)
    try:
        await soon(queue, queue.send, message)
    except Exception as exc:
        logger.exception("could not queue job", extra={"job_id": job_id})
        failure = JobFailure(message="The job could not be queued.", code="queue_unavailable")
        await run_in_threadpool(lifecycle.fail, store, job_id, failure)
        raise StoreUnavailable("the job queue is not answering") from exc


async def job_response(
    job_id: str, tenant: str, store: StoreDep, settings: SettingsDep, artifacts: ArtifactsDep
) -> Response:
    """The job resource; clients poll it, so its read runs at once when it would not wait."""
    job = await soon(store, owned_job, store, job_id, tenant)
    return json_bytes(present_json(job, artifacts, settings.presign_expires_seconds))


@router.get("/status/{job_id}", response_model=JobPublic, responses=ERRORS, summary="A job")
async def get_status(
    job_id: str, store: StoreDep, settings: SettingsDep, artifacts: ArtifactsDep, tenant: TenantDep
) -> Response:
    return await job_response(job_id, tenant, store, settings, artifacts)


@router.get("/jobs/{job_id}", response_model=JobPublic, responses=ERRORS, summary="A job")
async def get_job(
    job_id: str, store: StoreDep, settings: SettingsDep, artifacts: ArtifactsDep, tenant: TenantDep
) -> Response:
    return await job_response(job_id, tenant, store, settings, artifacts)


@router.get("/jobs", response_model=JobPage, responses=ERRORS, summary="Jobs, newest first")
def list_jobs(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    artifacts: ArtifactsDep,
    tenant: TenantDep,
    status: Annotated[
        JobStatus | None, Query(), WithJsonSchema({"type": "string", "enum": [s.value for s in JobStatus]})
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=512), WithJsonSchema({"type": "string", "maxLength": 512})
    ] = None,
) -> Response:
    try:
        after = decode_cursor(cursor, status, request.app.state.cursor_key) if cursor is not None else None
    except BadCursor as exc:
        raise Problem(
            422, "validation_error", f"cursor: {exc}", [{"field": "cursor", "message": str(exc)}]
        ) from exc
    jobs = store.page(tenant, status, limit + 1, after)
    next_cursor = (
        encode_cursor(jobs[limit - 1], status, request.app.state.cursor_key) if len(jobs) > limit else None
    )
    body = [present_json(job, artifacts, settings.presign_expires_seconds) for job in jobs[:limit]]
    return json_bytes(page_json(body, next_cursor))


@router.post("/jobs/{job_id}/cancel", response_model=JobPublic, responses=ERRORS, summary="Cancel a job")
def cancel_job(
    job_id: str,
    store: StoreDep,
    metrics: MetricsDep,
    settings: SettingsDep,
    artifacts: ArtifactsDep,
    tenant: TenantDep,
) -> Response:
    owned_job(store, job_id, tenant)  # another tenant's job is not found (its tenant never changes)
    try:
        job = lifecycle.cancel(store, job_id)
    except JobTerminal:
        metrics.terminal_conflicts.labels("cancel").inc()
        raise
    metrics.jobs_finished.labels(job.status.value).inc()
    logger.info("job cancelled", extra={"job_id": job_id, "tenant": tenant})
    return json_bytes(present_json(job, artifacts, settings.presign_expires_seconds))


@router.get(
    "/jobs/{job_id}/artifacts/{name}",
    response_class=Response,
    responses={
        200: {
            "description": "the artifact's bytes (demo mode: no artifact bucket)",
            "content": {content_type: {} for _field, content_type in ARTIFACTS.values()},
        },
        302: {"description": "to a presigned URL of the artifact in the bucket"},
        **ERRORS,
    },
    summary="Download an artifact",
)
def get_artifact(
    job_id: str,
    name: str,
    store: StoreDep,
    settings: SettingsDep,
    artifacts: ArtifactsDep,
    tenant: TenantDep,
) -> Response:
    if name not in ARTIFACTS:
        raise Problem(404, "not_found", f"no artifact named {name!r}", {"artifacts": sorted(ARTIFACTS)})
    job = owned_job(store, job_id, tenant)
    field, content_type = ARTIFACTS[name]
    result = job.result or {}
    key = result.get(f"{field}Key")
    if isinstance(key, str) and artifacts is not None:
        return RedirectResponse(artifacts.presign_get(key, settings.presign_expires_seconds), status_code=302)
    inline = result.get(field)
    if inline is None:
        raise Problem(404, "not_found", f"job {job_id} has no {name} (yet)")
    data = inline.encode() if isinstance(inline, str) else encode_json(inline)
    return Response(data, media_type=content_type)


@router.get("/healthz", response_model=Health, responses={503: {"model": ErrorBody}}, summary="Liveness")
def healthz(store: StoreDep) -> dict[str, str]:
    store.ping()
    return {"status": "ok"}


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={401: {"model": ErrorBody}},
    summary="Prometheus metrics",
)
def metrics_text(metrics: MetricsDep) -> Response:
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
