"""Fixtures of the API suite: the real Orchestrator app over a SQLite job store and a
local queue in ``tmp_path``, driven through Starlette's ``TestClient`` (lifespan included).

Every response any test receives is checked for a leaked stack trace (``ApiClient``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from levelforge.api.app import create_app
from levelforge.api.routes_events import StreamTiming
from levelforge.config import Settings
from levelforge.queues.local import LocalQueue
from levelforge.stores.sqlite import SqliteJobStore
from tests.api.live_server import FAST, LiveServer
from tests.api.orchestrator_calls import TOKEN


class ApiClient(TestClient):
    """A ``TestClient`` that fails the test on any response carrying a Python traceback."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        response = super().request(*args, **kwargs)
        assert b"Traceback" not in response.content, response.text
        return response


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "levelforge.db"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(internal_token=TOKEN, database_path=db_path)


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteJobStore]:
    store = SqliteJobStore(db_path)
    yield store
    store.close()


@pytest.fixture
def make_queue(db_path: Path) -> Iterator[Callable[..., LocalQueue]]:
    opened: list[LocalQueue] = []

    def make(visibility_timeout: float = 30.0, max_deliveries: int = 5) -> LocalQueue:
        opened.append(
            LocalQueue(db_path, visibility_timeout=visibility_timeout, max_deliveries=max_deliveries)
        )
        return opened[-1]

    yield make
    for queue in opened:
        queue.close()


@pytest.fixture
def queue(make_queue: Callable[..., LocalQueue]) -> LocalQueue:
    return make_queue()


@pytest.fixture
def make_client() -> Iterator[Callable[..., ApiClient]]:
    """``make_client(app, **options)``: a started client (lifespan run); all closed at teardown."""
    opened: list[ApiClient] = []

    def make(app: FastAPI, **options: Any) -> ApiClient:
        client = ApiClient(app, **options)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def app(settings: Settings, store: SqliteJobStore, queue: LocalQueue) -> FastAPI:
    return create_app(settings, store, queue, consume_dead_letters=False)


@pytest.fixture
def client(app: FastAPI, make_client: Callable[..., ApiClient]) -> ApiClient:
    return make_client(app)


@pytest.fixture
def internal() -> dict[str, str]:
    """Headers of a worker's internal request."""
    return {"X-INTERNAL-TOKEN": TOKEN}


@pytest.fixture
def serve(settings: Settings, queue: LocalQueue) -> Iterator[Callable[..., LiveServer]]:
    """``serve(store, timing)``: a started server; every one is stopped at teardown."""
    servers: list[LiveServer] = []

    def start(store: Any, timing: StreamTiming = FAST) -> LiveServer:
        app = create_app(settings, store, queue, consume_dead_letters=False)
        app.state.event_timing = timing
        servers.append(LiveServer(app).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
