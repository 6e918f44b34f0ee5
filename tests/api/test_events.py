"""Server-sent events of a job (CONTRACT §2, ``GET /jobs/{id}/events``).

The Orchestrator runs in a real uvicorn server on 127.0.0.1 (in a thread), over a SQLite
job store and a local queue in ``tmp_path``; the stream is read with httpx while steps
are posted through the internal API, as a worker posts them. Event ids: a step's is its
1-based position, a status's is ``{steps}-{status}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from levelforge.api.routes_events import StreamTiming
from levelforge.jobs import Job
from levelforge.stores.sqlite import SqliteJobStore
from tests.api.live_server import LiveServer
from tests.api.orchestrator_calls import TOKEN, step_event

STEPS = ("plan_layout", "carve_rooms", "connect_rooms")
RESULT = {"summary": {"rooms": 12, "doors": 14, "enemies": 5}, "asciiMinimap": "@.>\n"}


@dataclass
class Event:
    event: str
    id: str
    data: dict[str, Any]


@dataclass
class EventStream:
    """A response of ``GET /jobs/{id}/events`` read one event at a time."""

    response: httpx.Response
    comments: list[str] = field(default_factory=list)
    _lines: Iterator[str] | None = None

    def next(self) -> Event | None:
        """The next event, or None when the stream has ended."""
        if self._lines is None:
            self._lines = self.response.iter_lines()
        fields: dict[str, str] = {}
        for line in self._lines:
            if line.startswith(":"):
                self.comments.append(line)
            elif line:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
            elif "event" in fields:
                return Event(fields["event"], fields["id"], json.loads(fields["data"]))
        return None

    def take(self, count: int) -> list[Event]:
        events = [self.next() for _ in range(count)]
        assert None not in events, f"the stream ended early: {events}"
        return [event for event in events if event is not None]

    def rest(self) -> list[Event]:
        """Every event up to the end of the stream (which must come)."""
        events = []
        while (event := self.next()) is not None:
            events.append(event)
        return events


class CountingStore:
    """A job store that counts the reads of the event streams."""

    def __init__(self, store: SqliteJobStore) -> None:
        self.store = store
        self.gets = 0

    def get(self, job_id: str) -> Job:
        self.gets += 1
        return self.store.get(job_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture
def server(serve: Callable[..., LiveServer], store: SqliteJobStore) -> LiveServer:
    return serve(store)


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def new_job(client: httpx.Client) -> str:
    response = client.post("/jobs", json={"seed": 1})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def post_step(client: httpx.Client, job_id: str, name: str, **changes: Any) -> None:
    response = client.post(
        f"/internal/jobs/{job_id}/step", json=step_event(job_id, name, **changes),
        headers={"X-INTERNAL-TOKEN": TOKEN},
    )
    assert response.status_code == 200, response.text


def finish(client: httpx.Client, job_id: str, how: str, body: dict[str, Any]) -> None:
    response = client.post(f"/internal/jobs/{job_id}/{how}", json=body, headers={"X-INTERNAL-TOKEN": TOKEN})
    assert response.status_code == 200, response.text


def open_stream(client: httpx.Client, job_id: str, last_event_id: str | None = None) -> Any:
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    return client.stream("GET", f"/jobs/{job_id}/events", headers=headers)


def kinds(events: list[Event]) -> list[tuple[str, str]]:
    return [(event.event, event.id) for event in events]


def test_steps_and_status_changes_arrive_live_in_order_with_their_positions(http: httpx.Client) -> None:
    """Given a queued job and a client reading its events
    When a worker posts three steps and completes the job
    Then the client gets `status queued`, `status running`, the steps with ids 1, 2, 3 as
    they are posted, and `status done` with the result's summary; then the stream ends."""
    job_id = new_job(http)
    with open_stream(http, job_id) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        stream = EventStream(response)
        [queued] = stream.take(1)
        assert (queued.event, queued.id, queued.data["status"]) == ("status", "0-queued", "queued")
        for position, name in enumerate(STEPS, 1):
            post_step(http, job_id, name, summary=f"step {position}")
            events = stream.take(2 if position == 1 else 1)
            step = events[-1]
            assert (step.event, step.id) == ("step", str(position))
            assert step.data["name"] == name
            assert step.data["summary"] == f"step {position}"
            assert step.data["stepId"] == f"{job_id}:{name}"
        finish(http, job_id, "complete", {"result": RESULT})
        [done] = stream.take(1)
        assert stream.next() is None
    assert (done.event, done.id) == ("status", "3-done")
    assert done.data["summary"] == RESULT["summary"]
    assert done.data["artifacts"] == ["minimap.txt"]
    assert "error" not in done.data


def test_the_running_status_comes_before_the_first_step(http: httpx.Client) -> None:
    """Given a client reading a queued job's events
    When the first step is posted
    Then `status running` (id `0-running`) comes just before step 1."""
    job_id = new_job(http)
    with open_stream(http, job_id) as response:
        stream = EventStream(response)
        stream.take(1)
        post_step(http, job_id, "plan_layout")
        assert kinds(stream.take(2)) == [("status", "0-running"), ("step", "1")]


def test_a_done_job_is_replayed_and_the_stream_ends(http: httpx.Client) -> None:
    """Given a job that is already done
    When a client asks for its events
    Then it gets every event once, in order, and the stream ends."""
    job_id = new_job(http)
    for name in STEPS:
        post_step(http, job_id, name)
    finish(http, job_id, "complete", {"result": RESULT})
    with open_stream(http, job_id) as response:
        events = EventStream(response).rest()
    assert kinds(events) == [("status", "0-running"), ("step", "1"), ("step", "2"), ("step", "3"),
                             ("status", "3-done")]
    assert [event.data["name"] for event in events[1:4]] == list(STEPS)


def test_last_event_id_resumes_without_repeats(http: httpx.Client) -> None:
    """Given a running job with two steps, read up to step 1
    When the client reconnects with `Last-Event-ID: 1` and the job goes on
    Then it gets step 2, then the new step 3 and the terminal status: nothing twice."""
    job_id = new_job(http)
    post_step(http, job_id, STEPS[0])
    post_step(http, job_id, STEPS[1])
    with open_stream(http, job_id, last_event_id="1") as response:
        stream = EventStream(response)
        assert kinds(stream.take(1)) == [("step", "2")]
        post_step(http, job_id, STEPS[2])
        assert kinds(stream.take(1)) == [("step", "3")]
        finish(http, job_id, "complete", {"result": RESULT})
        assert kinds(stream.rest()) == [("status", "3-done")]


@pytest.mark.parametrize(
    ("last_event_id", "expected"),
    [
        ("0-queued", [("status", "0-running"), ("step", "1"), ("step", "2"), ("status", "2-failed")]),
        ("0-running", [("step", "1"), ("step", "2"), ("status", "2-failed")]),
        ("2", [("status", "2-failed")]),
        ("2-running", [("status", "2-failed")]),
    ],
)
def test_every_id_of_a_stream_resumes_just_after_its_event(
    http: httpx.Client, last_event_id: str, expected: list[tuple[str, str]]
) -> None:
    """Given a job failed after two steps
    When a client resumes from any id the stream gave
    Then it gets exactly the events after that one."""
    job_id = new_job(http)
    post_step(http, job_id, STEPS[0])
    post_step(http, job_id, STEPS[1])
    finish(http, job_id, "fail", {"error": {"message": "boom", "code": "generation_failed"}})
    with open_stream(http, job_id, last_event_id=last_event_id) as response:
        assert kinds(EventStream(response).rest()) == expected


def test_resuming_after_the_terminal_status_answers_204(http: httpx.Client) -> None:
    """Given a done job whose terminal status the client has seen
    When it reconnects with that id (as an EventSource does when a stream ends)
    Then the answer is 204 No Content, which stops an EventSource from reconnecting."""
    job_id = new_job(http)
    finish(http, job_id, "complete", {"result": RESULT})
    response = http.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": "0-done"})
    assert response.status_code == 204
    assert response.content == b""


def test_the_stream_ends_after_a_failure_with_its_error(http: httpx.Client) -> None:
    """Given a client reading a running job's events
    When the job fails
    Then the last event is `status failed` carrying the error, and the stream ends."""
    job_id = new_job(http)
    post_step(http, job_id, STEPS[0])
    error = {"message": "no valid level", "code": "generation_failed", "details": {"attempts": 8}}
    with open_stream(http, job_id) as response:
        stream = EventStream(response)
        assert kinds(stream.take(2)) == [("status", "0-running"), ("step", "1")]
        finish(http, job_id, "fail", {"error": error})
        [failed] = stream.rest()
    assert (failed.event, failed.id) == ("status", "1-failed")
    assert failed.data["error"] == error
    assert "summary" not in failed.data


def test_the_stream_ends_after_a_cancel(http: httpx.Client) -> None:
    """Given a client reading a queued job's events
    When the job is cancelled
    Then the stream ends with `status failed`, `error.code = cancelled`."""
    job_id = new_job(http)
    with open_stream(http, job_id) as response:
        stream = EventStream(response)
        stream.take(1)
        assert http.post(f"/jobs/{job_id}/cancel").status_code == 200
        [cancelled] = stream.rest()
    assert (cancelled.id, cancelled.data["status"]) == ("0-failed", "failed")
    assert cancelled.data["error"]["code"] == "cancelled"


def test_an_unknown_job_is_a_404_before_any_stream(http: httpx.Client) -> None:
    """Given no such job
    When a client asks for its events
    Then it gets the contract's 404 JSON error, not a stream."""
    response = http.get("/jobs/01JFZ3K5Q8C4W7R2N6V9XTBHDM/events")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("last_event_id", ["abc", "-1", "3-finished", "1" * 10])
def test_a_malformed_last_event_id_is_a_422(http: httpx.Client, last_event_id: str) -> None:
    """Given a Last-Event-ID this server never sends
    When a client resumes with it
    Then it gets 422 naming the header (a bad header is judged before the 404)."""
    response = http.get("/jobs/01JFZ3K5Q8C4W7R2N6V9XTBHDM/events", headers={"Last-Event-ID": last_event_id})
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == "Last-Event-ID"


def test_a_quiet_stream_sends_keep_alive_comments(
    serve: Callable[..., LiveServer], store: SqliteJobStore
) -> None:
    """Given a stream whose heartbeat interval is 0.1 s
    When nothing happens to the job for a while
    Then `: keep-alive` comments keep the connection busy, and events still follow."""
    server = serve(store, StreamTiming(poll_seconds=0.02, heartbeat_seconds=0.1))
    with server.client() as http:
        job_id = new_job(http)
        with open_stream(http, job_id) as response:
            stream = EventStream(response)
            stream.take(1)
            time.sleep(0.5)
            post_step(http, job_id, STEPS[0])
            assert kinds(stream.take(2)) == [("status", "0-running"), ("step", "1")]
    assert len(stream.comments) >= 2
    assert set(stream.comments) == {": keep-alive"}


def test_another_orchestrator_sees_the_steps_posted_to_this_one(
    serve: Callable[..., LiveServer], store: SqliteJobStore, db_path: Any
) -> None:
    """Given two Orchestrators over one SQLite file (each with its own store)
    When a client reads events from one and a worker posts steps to the other
    Then the client gets every step: the stream reads the store, not process memory."""
    other_store = SqliteJobStore(db_path)
    try:
        first, second = serve(store), serve(other_store)
        with first.client() as reader, second.client() as writer:
            job_id = new_job(writer)
            with open_stream(reader, job_id) as response:
                stream = EventStream(response)
                stream.take(1)
                for name in STEPS:
                    post_step(writer, job_id, name)
                finish(writer, job_id, "complete", {"result": RESULT})
                assert [event.id for event in stream.rest()] == ["0-running", "1", "2", "3", "3-done"]
    finally:
        other_store.close()


def test_a_client_that_goes_away_stops_its_stream(
    serve: Callable[..., LiveServer], store: SqliteJobStore
) -> None:
    """Given a client reading a queued job's events (the store read every 20 ms)
    When the client disconnects
    Then the server stops reading the store for it."""
    counting = CountingStore(store)
    server = serve(counting)
    with server.client() as http:
        job_id = new_job(http)
        with open_stream(http, job_id) as response:
            stream = EventStream(response)
            stream.take(1)
            time.sleep(0.3)
            assert counting.gets > 5
    time.sleep(0.3)
    reads = counting.gets
    time.sleep(0.3)
    assert counting.gets == reads


def test_many_streams_at_once_do_not_hold_a_thread_each(http: httpx.Client, server: LiveServer) -> None:
    """Given more open streams than the server's thread pool has threads (40)
    When a worker posts a step
    Then every stream gets it: no stream holds a thread while it waits."""
    job_id = new_job(http)
    clients = 60

    async def read_until_step(client: httpx.AsyncClient, ready: asyncio.Event, opened: list[int]) -> str:
        async with client.stream("GET", f"/jobs/{job_id}/events") as response:
            lines = response.aiter_lines()
            async for line in lines:
                if line.startswith("id: 0-queued"):
                    break
            opened.append(1)
            if len(opened) == clients:
                ready.set()
            async for line in lines:
                if line.startswith("event: step"):
                    return line
        return "ended"

    async def main() -> list[str]:
        ready, opened = asyncio.Event(), list[int]()
        limits = httpx.Limits(max_connections=clients + 5)
        async with httpx.AsyncClient(base_url=server.url, timeout=10.0, limits=limits) as client:
            readers = [asyncio.create_task(read_until_step(client, ready, opened)) for _ in range(clients)]
            await asyncio.wait_for(ready.wait(), timeout=10)
            await asyncio.to_thread(post_step, http, job_id, STEPS[0])
            return await asyncio.wait_for(asyncio.gather(*readers), timeout=10)

    assert asyncio.run(main()) == ["event: step"] * clients


def test_a_stream_wakes_at_once_for_changes_this_process_writes(serve: Callable[..., LiveServer],
                                                                store: SqliteJobStore) -> None:
    """Given a stream whose store poll is an hour apart
    When a worker posts steps and completes the job through this Orchestrator
    Then each event arrives at once: the write itself wakes the stream (a poll never would
    within the test's timeout)."""
    server = serve(store, StreamTiming(poll_seconds=3600, heartbeat_seconds=3600))
    with server.client() as http:
        job_id = new_job(http)
        with open_stream(http, job_id) as response:
            stream = EventStream(response)
            assert stream.take(1)[0].id == "0-queued"
            post_step(http, job_id, "plan_layout")
            assert kinds(stream.take(2)) == [("status", "0-running"), ("step", "1")]
            post_step(http, job_id, "carve_rooms")
            assert kinds(stream.take(1)) == [("step", "2")]
            finish(http, job_id, "complete", {"result": {"summary": {"rooms": 1}}})
            assert kinds(stream.rest()) == [("status", "2-done")]


def test_a_stream_wakes_at_once_when_this_process_fails_the_job(serve: Callable[..., LiveServer],
                                                                store: SqliteJobStore) -> None:
    server = serve(store, StreamTiming(poll_seconds=3600, heartbeat_seconds=3600))
    with server.client() as http:
        job_id = new_job(http)
        with open_stream(http, job_id) as response:
            stream = EventStream(response)
            assert stream.take(1)[0].id == "0-queued"
            finish(http, job_id, "fail", {"error": {"message": "boom", "code": "step_failed"}})
            [failed] = stream.rest()
            assert (failed.id, failed.data["error"]["code"]) == ("0-failed", "step_failed")
