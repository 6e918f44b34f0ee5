"""``create_app``: the Orchestrator's FastAPI application, built from what is passed in."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from levelforge import __version__
from levelforge.api import problems, routes_events, routes_internal, routes_public, routes_web
from levelforge.api.access import ApiKeyGuard, is_open
from levelforge.api.changes import JobChanges
from levelforge.api.fast_lane import FastLane
from levelforge.api.guards import RequestGuard
from levelforge.api.metrics import Metrics, RequestTimer
from levelforge.api.presenting import cursor_key
from levelforge.api.requests import RequestContext
from levelforge.config import Settings
from levelforge.deadletters import DeadLetterConsumer
from levelforge.ports import ArtifactStore, JobQueue, JobStore

DESCRIPTION = """levelforge turns level requests into game-ready levels.

Post a level spec to `/jobs`, follow the job at `/status/{id}`, download its artifacts.
Routes under `/internal/` are for workers and need the `X-INTERNAL-TOKEN` header.
When the server has API keys, every public route but `/healthz` and the viewer needs
`Authorization: Bearer <key>`, and each tenant sees only its own jobs."""


def create_app(
    settings: Settings,
    store: JobStore,
    queue: JobQueue,
    artifacts: ArtifactStore | None = None,
    *,
    consume_dead_letters: bool = True,
) -> FastAPI:
    """The Orchestrator. The caller owns ``store`` and ``queue`` and closes them."""
    consumer = DeadLetterConsumer(store, queue) if consume_dead_letters else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if consumer is not None:
            consumer.start()
        try:
            yield
        finally:
            if consumer is not None:
                consumer.stop()

    app = FastAPI(title="levelforge", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    metrics = Metrics()
    app.state.settings = settings
    app.state.store = store
    app.state.queue = queue
    app.state.artifacts = artifacts
    app.state.metrics = metrics
    app.state.cursor_key = cursor_key(settings.internal_tokens())
    app.state.event_timing = routes_events.StreamTiming()
    app.state.stopping = threading.Event()  # set on shutdown: open event streams end
    app.state.changes = JobChanges()  # wakes this process's event streams
    app.include_router(routes_internal.router)  # first: ten step reports a job, matched earliest
    app.include_router(routes_public.router)
    app.include_router(routes_events.router)
    app.include_router(routes_web.router)
    problems.install(app)
    if settings.api_keys is not None:
        document_bearer_keys(app)
    # the last added runs first: request id and headers, timing, API key (401), then the
    # internal token (401) and the body's size (413), then the hot internal routes
    app.add_middleware(
        FastLane,
        store=store,
        metrics=metrics,
        artifacts=artifacts,
        presign_expires_seconds=settings.presign_expires_seconds,
        changes=app.state.changes,
    )
    app.add_middleware(RequestGuard, tokens=settings.internal_tokens())
    app.add_middleware(ApiKeyGuard, keys=settings.tenant_keys())
    app.add_middleware(RequestTimer, metrics=metrics)
    app.add_middleware(RequestContext)
    return app


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
