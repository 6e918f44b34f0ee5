"""``create_app``: the Orchestrator's ASGI application, built from what is passed in: the
public API (FastAPI) and, for every path under ``/internal/``, the workers' lean internal
API (``internal.InternalApi``), side by side behind one port."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import State
from starlette.types import Receive, Scope, Send

from levelforge import __version__
from levelforge.api import problems, routes_events, routes_public, routes_web
from levelforge.api.access import ApiKeyGuard, is_open
from levelforge.api.changes import JobChanges
from levelforge.api.guards import RequestGuard
from levelforge.api.internal import PREFIX as INTERNAL_PREFIX
from levelforge.api.internal import InternalApi, document_internal_routes
from levelforge.api.metrics import Metrics, RequestTimer
from levelforge.api.port_calls import port_calls
from levelforge.api.presenting import cursor_key, present_stored
from levelforge.api.requests import RequestContext
from levelforge.config import Settings
from levelforge.deadletters import DeadLetterConsumer
from levelforge.errors import JobNotFound
from levelforge.generation.spec import put_witness_aside
from levelforge.outbox import open_outbox
from levelforge.ports import ArtifactStore, DeliveryStore, JobQueue, JobStore
from levelforge.requeuer import Requeuer
from levelforge.stores.retention import RetentionSweeper, open_sweeper
from levelforge.webhooks import Deliverer, DeliveryPolicy

DESCRIPTION = """levelforge turns level requests into game-ready levels.

Post a level spec to `/jobs`, follow the job at `/status/{id}`, download its artifacts.
Routes under `/internal/` are for workers and need the `X-INTERNAL-TOKEN` header.
When the server has API keys, every public route but `/healthz` and the viewer needs
`Authorization: Bearer <key>`, and each tenant sees only its own jobs."""


class Orchestrator:
    """The Orchestrator's ASGI app: ``/internal/…`` to the internal API, everything else
    (and the lifespan) to the public one. ``state`` is the public app's."""

    def __init__(self, public: FastAPI, internal: InternalApi) -> None:
        self.public = public
        self.internal = internal
        self.state: State = public.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(INTERNAL_PREFIX):
            await self.internal(scope, receive, send)
        else:
            await self.public(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        return self.public.openapi()


def create_app(
    settings: Settings,
    store: JobStore,
    queue: JobQueue,
    artifacts: ArtifactStore | None = None,
    *,
    consume_dead_letters: bool = True,
) -> Orchestrator:
    """The Orchestrator. The caller owns ``store`` and ``queue`` and closes them."""
    consumer = DeadLetterConsumer(store, queue) if consume_dead_letters else None
    outbox = open_outbox(store, queue)
    background: list[DeadLetterConsumer | Requeuer | RetentionSweeper] = [
        task for task in (
            consumer,
            None if outbox.atomic else Requeuer(store, queue, settings.requeue_after_seconds),
            open_sweeper(store, queue, settings.job_retention_days * 86400),
        ) if task is not None
    ]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        put_witness_aside()  # this thread serves every request: the search runs in another
        for task in background:
            task.start()
        if deliverer is not None:
            deliverer.start()
        try:
            yield
        finally:
            if deliverer is not None:
                await deliverer.stop()
            for task in background:
                task.stop()

    app = FastAPI(title="levelforge", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    metrics = Metrics()
    app.state.settings = settings
    app.state.store = store
    app.state.queue = queue
    app.state.outbox = outbox
    app.state.artifacts = artifacts
    app.state.metrics = metrics
    app.state.cursor_key = cursor_key(settings.internal_tokens())
    app.state.event_timing = routes_events.StreamTiming()
    app.state.stopping = threading.Event()  # set on shutdown: open event streams end
    app.state.changes = JobChanges()  # wakes this process's event streams and long polls
    app.state.store_calls = port_calls(store)
    app.state.queue_calls = port_calls(queue)
    deliverer = open_deliverer(app, settings)
    app.include_router(routes_public.router)
    app.include_router(routes_events.router)
    app.include_router(routes_web.router)
    problems.install(app)
    document_internal_routes(app)
    if settings.api_keys is not None:
        document_bearer_keys(app)
    # the last added runs first: request id and headers, timing, API key (401), then the
    # body's size (413)
    app.add_middleware(RequestGuard)
    app.add_middleware(ApiKeyGuard, keys=settings.tenant_keys())
    app.add_middleware(RequestTimer, metrics=metrics)
    app.add_middleware(RequestContext)
    internal = InternalApi(
        tokens=settings.internal_tokens(),
        store=store,
        writes=app.state.store_calls,
        artifacts=artifacts,
        presign_expires_seconds=settings.presign_expires_seconds,
        metrics=metrics,
        changes=app.state.changes,
    )
    return Orchestrator(app, internal)


def open_deliverer(app: FastAPI, settings: Settings) -> Deliverer | None:
    """The webhook deliverer of this Orchestrator (``webhooks.py``), woken whenever this
    process's store records a delivery; ``None`` for a store that keeps no deliveries."""
    state = app.state
    store, jobs = state.store, state.store
    if not isinstance(store, DeliveryStore):
        return None

    async def render(job_id: str) -> tuple[str, bytes] | None:
        """The job's tenant and its resource, exactly as ``GET /jobs/{id}`` answers it."""
        try:
            job = await state.store_calls.read(jobs.get_json, job_id)
        except JobNotFound:
            return None
        return job.tenant, present_stored(job, state.artifacts, settings.presign_expires_seconds)

    policy = DeliveryPolicy(
        retry_seconds=settings.webhook_retry_hours * 3600,
        backoff_base_seconds=settings.webhook_backoff_base_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private=settings.webhook_allow_private,
        poll_seconds=settings.webhook_poll_seconds,
    )
    deliverer = Deliverer(
        store, state.store_calls, render, settings.webhook_secret_of, policy, observer=state.metrics
    )
    state.deliverer = deliverer
    store.on_delivery_recorded = deliverer.wake
    return deliverer


def document_bearer_keys(app: FastAPI) -> None:
    """The OpenAPI description says which routes need ``Authorization: Bearer <key>``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["apiKey"] = {"type": "http", "scheme": "bearer", "description": "a key of API_KEYS"}
        for path, operations in schema.get("paths", {}).items():
            if is_open(path):
                continue
            for operation in operations.values():
                operation["security"] = [{"apiKey": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
