"""``create_app``: the Orchestrator's FastAPI application, built from what is passed in."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from levelforge import __version__
from levelforge.api import problems, routes_events, routes_internal, routes_public, routes_web
from levelforge.api.guards import RequestGuard
from levelforge.api.metrics import Metrics, RequestTimer
from levelforge.api.presenting import cursor_key
from levelforge.config import Settings
from levelforge.deadletters import DeadLetterConsumer
from levelforge.ports import ArtifactStore, JobQueue, JobStore

DESCRIPTION = """levelforge turns level requests into game-ready levels.

Post a level spec to `/jobs`, follow the job at `/status/{id}`, download its artifacts.
Routes under `/internal/` are for workers and need the `X-INTERNAL-TOKEN` header."""


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
    app.include_router(routes_public.router)
    app.include_router(routes_events.router)
    app.include_router(routes_internal.router)
    app.include_router(routes_web.router)
    problems.install(app)
    app.add_middleware(RequestGuard, tokens=settings.internal_tokens())
    app.add_middleware(RequestTimer, metrics=metrics)
    return app
