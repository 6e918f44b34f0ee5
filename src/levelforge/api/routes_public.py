"""Public routes of CONTRACT §2."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse
from pydantic import WithJsonSchema
from starlette.concurrency import run_in_threadpool

from levelforge import lifecycle
from levelforge.api.access import TenantDep, owned_job, take_creation_slot
from levelforge.api.changes import JobChanges, changed_within
from levelforge.api.deps import (
    ArtifactsDep,
    MetricsDep,
    SettingsDep,
    StoreDep,
)
from levelforge.api.port_calls import PortCalls
from levelforge.api.presenting import (
    BadCursor,
    decode_cursor,
    encode_cursor,
    page_json,
    present_json,
    present_stored,
)
from levelforge.api.problems import Problem
from levelforge.api.responses import json_bytes
from levelforge.api.schemas import Deliveries, DeliveryAttemptOut, Health, JobCreate, WebhookIn
from levelforge.config import Settings
from levelforge.errors import JobNotFound, JobTerminal
from levelforge.generation import encode_json
from levelforge.generation.spec import normalise, refusal_errors, settle_witness
from levelforge.jobs import (
    ARTIFACTS,
    TERMINAL,
    IdempotencyClaim,
    JobStatus,
    fingerprint,
    new_job,
)
from levelforge.outbox import Outbox
from levelforge.ports import DeliveryStore, JobJson, JobStore
from levelforge.resources import ErrorBody, JobPage, JobPublic
from levelforge.webhooks import check_url, webhook_id_of

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


async def settle_off_the_loop(body: JobCreate) -> None:
    """A designed spec the generator's rules alone do not settle: its witness search (up
    to a second) in a thread, as the body's validation put it aside (``put_witness_aside``);
    a refusal is the same ``422`` that validation gives."""
    refused = await run_in_threadpool(settle_witness, body)
    if refused is not None:
        raise RequestValidationError(refusal_errors(refused, ("body",)))


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
    body: JobCreate, request: Request, tenant: TenantDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Every job's first request: the job and its message by the app's ``Outbox``. On the
    embedded default both are one ``port_calls`` write (grouped with other requests' writes
    on the file, so they commit together or not at all); with a queue apart from the store,
    insert then send in a thread (the requeuer closes the gap). What it needs of the app is
    read from its state, not injected: this route runs once a job, and the framework's
    dependency solving was a third of its time."""
    if body.witness_pending:
        await settle_off_the_loop(body)
    state = request.app.state
    store: JobStore = state.store
    store_calls: PortCalls = state.store_calls
    settings: Settings = state.settings
    webhook_url = None if body.webhook is None else accepted_webhook(body.webhook, tenant, settings)
    # the body is a ``LevelSpecIn``: ``normalise`` reads the spec's fields and never the
    # webhook (a copy of the spec alone by ``model_construct`` cost ~100 us: its defaults'
    # factories are inspected on every call)
    job = new_job(normalise(body), tenant=tenant, webhook_url=webhook_url)
    claim = None
    if idempotency_key is not None:
        # the webhook is part of the request: the same key with another one is refused
        # (a body without one fingerprints as before webhooks existed)
        fields = body.model_dump(mode="json", exclude_unset=True)
        claim = IdempotencyClaim(key=idempotency_key, fingerprint=fingerprint(fields))
    limit, slot = settings.rate_limit_per_minute, None
    if limit is not None:
        slot = await run_in_threadpool(take_creation_slot, store, tenant, limit, claim)
    outbox: Outbox = state.outbox
    try:
        if outbox.atomic:
            created = await store_calls.write(outbox.create, job, claim)
        else:
            created = await run_in_threadpool(outbox.create, job, claim)
    except Exception:
        if slot is not None:
            await run_in_threadpool(slot.give_back)
        raise
    if not created.replayed:
        outbox.committed()
    job = created.job
    headers = {"Location": f"/status/{job.id}"}
    if created.replayed:
        if slot is not None:
            await run_in_threadpool(slot.give_back)  # a replay creates nothing: not counted
        headers["Idempotent-Replayed"] = "true"
        return json_bytes(present_json(job, state.artifacts, settings.presign_expires_seconds), 200, headers)
    state.metrics.jobs_created.inc()
    logger.info("job created", extra={"job_id": job.id, "tenant": tenant})
    return json_bytes(job.model_dump_json(by_alias=True).encode(), 202, headers)


def accepted_webhook(webhook: WebhookIn, tenant: str, settings: Settings) -> str:
    """The webhook's URL, or ``422`` naming ``webhook.url`` (or ``webhook`` when this
    server cannot sign the tenant's webhooks)."""
    if settings.webhook_secret_of(tenant) is None:
        message = "this server has no webhook secret for your tenant (WEBHOOK_SECRET)"
        details = [{"field": "webhook", "message": message}]
        raise Problem(422, "validation_error", f"webhook: {message}", details)
    try:
        check_url(webhook.url, allow_private=settings.webhook_allow_private)
    except ValueError as exc:
        raise Problem(
            422, "validation_error", f"webhook.url: {exc}", [{"field": "webhook.url", "message": str(exc)}]
        ) from exc
    return webhook.url


#: the longest a ``GET /status/{id}?wait=`` holds its answer back
MAX_WAIT_SECONDS = 30.0
Wait = Annotated[
    float | None,
    Query(
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="long poll: answer once the job is terminal, or after this many seconds at most",
    ),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": MAX_WAIT_SECONDS}),
]


async def job_response(request: Request, job_id: str, tenant: str, wait: float | None) -> Response:
    """The job resource, at once or, with ``wait``, once it is terminal (a long poll): this
    process's own writes of the job wake the wait at once (``changes``), others' are seen
    at the next look at the store (``event_timing.poll_seconds``). The stored JSON is
    answered as it is (``present_stored``)."""
    state = request.app.state
    store: JobStore = state.store
    calls: PortCalls = state.store_calls
    job = await calls.read(store.get_json, job_id)
    if job.tenant != tenant:
        raise JobNotFound(job_id)  # another tenant's job is not found
    if wait and job.status not in TERMINAL:
        job = await wait_for_terminal(request, job_id, job, wait)
    return json_bytes(present_stored(job, state.artifacts, state.settings.presign_expires_seconds))


async def wait_for_terminal(request: Request, job_id: str, job: JobJson, seconds: float) -> JobJson:
    """The job once it is terminal, or as it is after ``seconds``. A wake-up by this
    process's own write of a status that is not terminal (a step) reads nothing: on
    DynamoDB a read is a request, and a job has ten steps. A wake-up by its completion
    here answers the JSON the completion read back, without reading it again."""
    state = request.app.state
    changes: JobChanges = state.changes
    deadline = time.monotonic() + seconds
    with changes.watch(job_id) as changed:
        while job.status not in TERMINAL and not state.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            woken = await changed_within(changed, min(left, state.event_timing.poll_seconds))
            changed.clear()
            written = changes.written_status(job_id)
            if woken and written is not None and written not in TERMINAL:
                continue
            stored = changes.written_job(job_id) if woken else None
            job = stored or await state.store_calls.read(state.store.get_json, job_id)
    return job


@router.get("/status/{job_id}", response_model=JobPublic, responses=ERRORS, summary="A job")
async def get_status(job_id: str, request: Request, tenant: TenantDep, wait: Wait = None) -> Response:
    return await job_response(request, job_id, tenant, wait)


@router.get("/jobs/{job_id}", response_model=JobPublic, responses=ERRORS, summary="A job")
async def get_job(job_id: str, request: Request, tenant: TenantDep, wait: Wait = None) -> Response:
    return await job_response(request, job_id, tenant, wait)


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
    "/jobs/{job_id}/deliveries", response_model=Deliveries, responses=ERRORS,
    summary="A job's webhook attempts",
)
def get_deliveries(job_id: str, store: StoreDep, tenant: TenantDep) -> Deliveries:
    """The attempts to POST the job to its webhook, oldest first (empty while the job runs
    or when it has no webhook)."""
    job = owned_job(store, job_id, tenant)
    log = store.delivery_log(job_id) if isinstance(store, DeliveryStore) else None
    if log is None:
        return Deliveries(state=None, webhook_id=None, deliveries=[])
    return Deliveries(
        state=log.state, webhook_id=webhook_id_of(job.id),
        deliveries=[DeliveryAttemptOut.of(attempt) for attempt in log.attempts],
    )


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
