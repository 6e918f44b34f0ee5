"""``GET /status/{id}?wait=SECONDS`` (and ``GET /jobs/{id}?wait=``): a long poll that
answers as soon as the job is terminal, so a client learns of the end at once instead of
by polling; at the latest after ``wait`` seconds, with the job as it is then."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from levelforge import lifecycle
from levelforge.api.routes_events import StreamTiming
from levelforge.stores.sqlite import SqliteJobStore
from tests.api.live_server import LiveServer
from tests.api.orchestrator_calls import TOKEN, step_event

RESULT = {"summary": {"rooms": 1, "doors": 0, "enemies": 0}, "asciiMinimap": "@>\n"}


@pytest.fixture
def server(serve: Callable[..., LiveServer], store: SqliteJobStore) -> LiveServer:
    return serve(store)


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def new_job(http: httpx.Client) -> str:
    response = http.post("/jobs", json={"seed": 1})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def internal(http: httpx.Client, job_id: str, route: str, body: dict[str, object]) -> None:
    answer = http.post(f"/internal/jobs/{job_id}/{route}", json=body, headers={"X-INTERNAL-TOKEN": TOKEN})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path", ["/status/{id}", "/jobs/{id}"])
def test_a_long_poll_answers_when_the_job_becomes_terminal(
    server: LiveServer, http: httpx.Client, path: str
) -> None:
    """Given a queued job and a client long-polling it for up to 20 s
    When a worker posts a step (not terminal: the poll goes on) and then completes the job
    Then the poll answers with the done job and its result, long before its 20 s."""
    job_id = new_job(http)
    answers: list[httpx.Response] = []
    asked = threading.Event()

    def poll() -> None:
        with server.client() as client:
            asked.set()
            answers.append(client.get(path.format(id=job_id), params={"wait": 20}, timeout=30))

    poller = threading.Thread(target=poll)
    started = time.monotonic()
    poller.start()
    asked.wait(5)
    internal(http, job_id, "step", step_event(job_id, "plan_layout"))
    internal(http, job_id, "complete", {"result": RESULT})
    poller.join(25)
    assert len(answers) == 1
    job = answers[0].json()
    assert (answers[0].status_code, job["status"], job["result"]) == (200, "done", RESULT)
    assert [step["name"] for step in job["steps"]] == ["plan_layout"]
    assert time.monotonic() - started < 15


def test_a_long_poll_of_a_job_that_stays_queued_answers_after_its_wait(http: httpx.Client) -> None:
    job_id = new_job(http)
    started = time.monotonic()
    answer = http.get(f"/status/{job_id}", params={"wait": 0.3})
    assert (answer.status_code, answer.json()["status"]) == (200, "queued")
    assert time.monotonic() - started >= 0.3


def test_a_long_poll_of_a_terminal_job_answers_at_once(http: httpx.Client) -> None:
    job_id = new_job(http)
    internal(http, job_id, "fail", {"error": {"message": "no", "code": "x"}})
    answer = http.get(f"/status/{job_id}", params={"wait": 30}, timeout=5)
    assert (answer.status_code, answer.json()["status"]) == (200, "failed")


def test_a_long_poll_sees_a_change_written_by_another_orchestrator(
    http: httpx.Client, store: SqliteJobStore
) -> None:
    """Given a job long-polled on this Orchestrator
    When another process's Orchestrator completes it (here: the store written directly)
    Then the poll sees it at its next look at the store and answers done."""
    job_id = new_job(http)
    timer = threading.Timer(0.2, lifecycle.complete, (store, job_id, RESULT))
    timer.start()
    try:
        answer = http.get(f"/status/{job_id}", params={"wait": 10}, timeout=15)
    finally:
        timer.join()
    assert (answer.status_code, answer.json()["status"]) == (200, "done")


@pytest.mark.parametrize("wait", ["-1", "30.5", "soon", "nan"])
def test_a_bad_wait_is_422_naming_it(http: httpx.Client, wait: str) -> None:
    job_id = new_job(http)
    answer = http.get(f"/status/{job_id}", params={"wait": wait})
    assert answer.status_code == 422
    assert answer.json()["details"][0]["field"] == "wait"


def test_a_long_poll_of_an_unknown_job_is_404_at_once(http: httpx.Client) -> None:
    answer = http.get("/status/01JFZ3K5Q8C4W7R2N6V9XTBHDM", params={"wait": 30}, timeout=5)
    assert (answer.status_code, answer.json()["error"]) == (404, "not_found")


class CountingStore:
    """The real store, counting the job reads of status requests and long polls."""

    def __init__(self, store: SqliteJobStore) -> None:
        self.store = store
        self.reads = 0

    def get_json(self, job_id: str) -> Any:
        self.reads += 1
        return self.store.get_json(job_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_steps_written_here_wake_a_long_poll_without_a_read_of_the_job(
    serve: Callable[..., LiveServer], store: SqliteJobStore
) -> None:
    """Given a long poll on this Orchestrator (looking at the store only every 30 s for
    other Orchestrators' writes)
    When ten steps and the completion are posted here
    Then it answers done, having read the job once, when asked (a read on DynamoDB is a
    request: ten steps must not cost ten). The second read is the completion's own answer
    (the embedded store's stored JSON), which the long poll answers too."""
    counting = CountingStore(store)
    server = serve(counting, StreamTiming(poll_seconds=30, heartbeat_seconds=30))
    with server.client() as http:
        job_id = new_job(http)
        answers: list[httpx.Response] = []
        poller = threading.Thread(
            target=lambda: answers.append(http.get(f"/status/{job_id}", params={"wait": 20}, timeout=30))
        )
        with server.client() as worker:
            poller.start()
            while counting.reads == 0:  # the poll has read the job once: it waits now
                time.sleep(0.001)
            for position in range(10):
                internal(worker, job_id, "step", step_event(job_id, f"step_{position}"))
            internal(worker, job_id, "complete", {"result": RESULT})
        poller.join(25)
    assert answers[0].json()["status"] == "done"
    assert answers[0].json()["result"] == RESULT
    assert counting.reads == 2
