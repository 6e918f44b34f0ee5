"""The internal API's writes (``api.internal`` through ``api.port_calls``): a write that
finds the SQLite write lock taken waits off the event loop's way (the loop goes on
serving), and is then recorded once."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from levelforge.stores.sqlite import SqliteJobStore
from tests.api.live_server import LiveServer
from tests.api.orchestrator_calls import TOKEN, step_event
from tests.api.test_events import new_job


class WatchedStore:
    """The real store, telling when a write found the file's lock taken (and waits)."""

    def __init__(self, store: SqliteJobStore) -> None:
        self.store = store
        self.step_write_began = threading.Event()

    def begin_group(self) -> bool:
        begun = self.store.begin_group()
        if not begun:
            self.step_write_began.set()
        return begun

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_step_waiting_for_the_write_lock_never_stalls_the_event_loop(
    serve: Callable[..., LiveServer], store: SqliteJobStore, db_path: Path
) -> None:
    """Given another process's connection holding the file's write lock
    When a worker posts a step
    Then the Orchestrator keeps answering other requests while the step waits, and once
    the lock is free the step is recorded, once."""
    watched = WatchedStore(store)
    server = serve(watched)
    with server.client() as http:
        job_id = new_job(http)
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        answers: list[httpx.Response] = []

        def post() -> None:
            with server.client() as worker:
                answers.append(worker.post(
                    f"/internal/jobs/{job_id}/step", json=step_event(job_id, "plan_layout"),
                    headers={"X-INTERNAL-TOKEN": TOKEN},
                ))

        poster = threading.Thread(target=post)
        poster.start()
        try:
            assert watched.step_write_began.wait(5), "the step never tried to write"
            # the loop is free: a read answers (WAL: reads need no lock; /healthz would wait,
            # it checks that writes can start)
            assert http.get(f"/status/{job_id}", timeout=2).status_code == 200
            assert answers == [], "the step was answered while the lock was held"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        poster.join(timeout=15)

        assert [answer.json() for answer in answers] == [{"recorded": True, "status": "running"}]
        steps = http.get(f"/status/{job_id}").json()["steps"]
        assert [step["name"] for step in steps] == ["plan_layout"]
