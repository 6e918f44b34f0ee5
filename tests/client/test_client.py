"""The Python client against a real ``levelforge serve`` on 127.0.0.1: create, wait,
artifacts, list, get, cancel, and its errors."""

from __future__ import annotations

import json

import pytest

from levelforge.client import (
    Client,
    Conflict,
    InvalidRequest,
    NotFound,
    Step,
    WaitTimeout,
)
from levelforge.client.protocol import EventParser
from levelforge.generation import generate_level
from levelforge.worker import PIPELINE_STEPS
from tests.client.proxy import Action, Proxy
from tests.e2e.conftest import Deployment

pytestmark = pytest.mark.e2e
SPEC = {"seed": 7, "width": 48, "height": 32, "rooms": 9, "theme": "crypt"}


def test_create_wait_and_every_artifact(deployment: Deployment) -> None:
    """Given `serve` with a worker
    When a client creates a job and waits for it, following its steps
    Then each step is reported once, in order, from the job's event stream (one read of the
    job after it), the job is done, and each artifact's bytes (from the inline copy or the
    artifact route) equal `generate_level`'s."""
    deployment.serve(workers=1)
    steps: list[Step] = []
    with Proxy(deployment.url) as proxy, Client(proxy.url) as client:
        created = client.create(SPEC)
        assert created.status.value == "queued" and created.spec["seed"] == 7
        job = client.wait(created, timeout=60, on_step=steps.append)
        assert job.status.value == "done" and job.result is not None
        assert [step.name for step in steps] == list(PIPELINE_STEPS)
        assert steps == job.steps
        assert [(seen.method, seen.status) for seen in proxy.seen] == [
            ("POST", 202), ("GET", 200), ("GET", 200)
        ]
        assert [seen.path for seen in proxy.seen[1:]] == [f"/jobs/{job.id}/events", f"/status/{job.id}"]
        expected = generate_level(SPEC).artifacts()
        for name, data in expected.items():
            assert client.artifact(job, name) == data, name
            assert client.artifact(job.id, name) == data, name


def test_wait_falls_back_to_polling_without_the_event_stream(deployment: Deployment) -> None:
    """Given `serve` behind a proxy that answers 404 on the event stream route (as a server
    without it, or a gateway that drops streams, would)
    When the client waits for a job
    Then it still gets the done job by long polls, and every step reported once."""
    deployment.serve(workers=1)
    steps: list[str] = []

    def no_streams(method: str, path: str) -> Action | None:
        return "not_found" if path.endswith("/events") else None

    with Proxy(deployment.url, no_streams) as proxy, Client(proxy.url) as client:
        job = client.wait(client.create(SPEC), timeout=60, on_step=lambda step: steps.append(step.name))
        assert job.status.value == "done"
        assert steps == list(PIPELINE_STEPS)
        assert [seen.status for seen in proxy.seen if seen.path.endswith("/events")] == [404]
        assert any(seen.path.startswith("/status/") for seen in proxy.seen)


def test_wait_times_out_with_the_job_as_last_seen(deployment: Deployment) -> None:
    """Given `serve` with no workers (jobs stay queued)
    When the client waits half a second for a job
    Then WaitTimeout, carrying the queued job."""
    deployment.serve(workers=0)
    with Client(deployment.url) as client:
        job = client.create(SPEC)
        with pytest.raises(WaitTimeout) as raised:
            client.wait(job, timeout=0.5)
        assert raised.value.job.id == job.id and raised.value.job.status.value == "queued"
        assert isinstance(raised.value, TimeoutError)


def test_list_get_cancel_and_errors(deployment: Deployment) -> None:
    """Given `serve` with no workers and three jobs created by the client
    Then list pages through them newest first with the server's cursors, get reads one,
    cancel fails it as cancelled and a second cancel is a Conflict; an unknown job is
    NotFound, a bad spec an InvalidRequest naming the field."""
    deployment.serve(workers=0)
    with Client(deployment.url) as client:
        jobs = [client.create({**SPEC, "seed": n}) for n in range(3)]
        first = client.list(limit=2)
        assert [job.id for job in first.jobs] == [jobs[2].id, jobs[1].id]
        assert first.next_cursor is not None
        second = client.list(limit=2, cursor=first.next_cursor)
        assert [job.id for job in second.jobs] == [jobs[0].id] and second.next_cursor is None
        assert [job.id for job in client.iter_jobs(limit=1)] == [job.id for job in reversed(jobs)]
        assert client.get(jobs[1].id) == client.get(jobs[1])
        assert client.get(jobs[1]).spec["seed"] == 1

        cancelled = client.cancel(jobs[0])
        assert cancelled.status.value == "failed" and cancelled.error is not None
        assert cancelled.error.code == "cancelled"
        assert [job.id for job in client.list(status="failed").jobs] == [jobs[0].id]
        assert len(client.list(status="queued").jobs) == 2
        with pytest.raises(Conflict) as conflict:
            client.cancel(jobs[0])
        assert conflict.value.status_code == 409 and conflict.value.code == "job_terminal"

        with pytest.raises(NotFound) as missing:
            client.get("01JFZ3K5Q8C4W7R2N6V9XTBHDM")
        assert missing.value.code == "not_found" and "01JFZ3K5Q8C4W7R2N6V9XTBHDM" in str(missing.value)
        with pytest.raises(NotFound):
            client.artifact(jobs[1], "tiled.json")  # not produced yet
        with pytest.raises(NotFound):
            client.artifact(jobs[1], "secrets.txt")
        with pytest.raises(InvalidRequest) as invalid:
            client.create({"width": 8})
        assert invalid.value.status_code == 422 and "width" in json.dumps(invalid.value.details)


def test_the_same_idempotency_key_gives_the_same_job(deployment: Deployment) -> None:
    """Given `serve`, When the client creates twice with one idempotency key
    Then the second call answers the first job; without a key, each call makes its own."""
    deployment.serve(workers=0)
    with Client(deployment.url) as client:
        first = client.create({"rooms": 5}, idempotency_key="build-1234")
        again = client.create({"rooms": 5}, idempotency_key="build-1234")
        assert again.id == first.id and again.spec == first.spec  # the drawn seed included
        other = client.create({"rooms": 5})
        assert other.id != first.id
        assert len(client.list().jobs) == 2


def test_the_event_parser_reads_what_the_format_allows() -> None:
    """Given lines of an event stream with comments, several data lines and a retry field
    Then the parser yields each event with its name, data and id, at its blank line."""
    parser = EventParser()
    lines = [
        "retry: 1000", "", ": keep-alive", "", "id: 3", "event: step", "data: {\"a\":", "data: 1}", "",
        "data:plain", "",
    ]
    events = [event for event in map(parser.feed, lines) if event is not None]
    assert [(event.event, event.data, event.id) for event in events] == [
        ("step", '{"a":\n1}', "3"),
        ("message", "plain", "3"),
    ]
