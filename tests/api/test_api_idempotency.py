"""The Idempotency-Key of POST /jobs (CONTRACT §2)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from levelforge.api.app import create_app
from levelforge.config import Settings
from levelforge.queues.local import LocalQueue
from levelforge.stores.sqlite import SqliteJobStore
from tests.api.orchestrator_calls import assert_error

JSON = {"Content-Type": "application/json"}


def queued_job_ids(queue: LocalQueue) -> list[str]:
    return [json.loads(message.body)["jobId"] for message in queue.receive(max_messages=100)]


def test_same_key_and_equal_body_replays_the_same_job_and_seed(client, queue) -> None:
    # Given a job created with a key and no seed (so the server draws one)
    keyed = {**JSON, "Idempotency-Key": "order-1"}
    first = client.post("/jobs", content=b'{"rooms": 5, "theme": "crypt"}', headers=keyed)
    assert first.status_code == 202
    assert "idempotent-replayed" not in first.headers

    # When the same key comes with an equal body: other key order, other whitespace
    again = client.post("/jobs", content=b'{ "theme" : "crypt",\n  "rooms":5 }', headers=keyed)

    # Then it is the same job, recorded seed included, marked as a replay
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == f"/status/{first.json()['id']}"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["spec"]["seed"] == first.json()["spec"]["seed"]
    assert again.json() == client.get(f"/jobs/{first.json()['id']}").json()
    # And only one message was queued
    assert queued_job_ids(queue) == [first.json()["id"]]


def test_replay_shows_the_job_as_it_is_now(client, internal) -> None:
    # Given a keyed job that has since been cancelled
    first = client.post("/jobs", json={"seed": 1}, headers={"Idempotency-Key": "k"}).json()
    client.post(f"/jobs/{first['id']}/cancel")

    # When the request is replayed
    again = client.post("/jobs", json={"seed": 1}, headers={"Idempotency-Key": "k"})

    # Then the replay is the current job, not a new one
    assert again.status_code == 200
    assert again.json()["status"] == "failed"
    assert again.json()["id"] == first["id"]


def test_same_key_with_a_different_body_is_422_and_queues_nothing(client, queue) -> None:
    first = client.post("/jobs", json={"rooms": 5}, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 202

    response = client.post("/jobs", json={"rooms": 6}, headers={"Idempotency-Key": "k-1"})

    assert_error(response, 422, "idempotency_key_reused")
    assert queued_job_ids(queue) == [first.json()["id"]]


def test_explicit_default_is_a_different_body(client) -> None:
    # "equal as JSON": {} and {"rooms": 12} are not equal JSON, even if they normalise alike
    client.post("/jobs", json={}, headers={"Idempotency-Key": "k-2"})

    response = client.post("/jobs", json={"rooms": 12}, headers={"Idempotency-Key": "k-2"})

    assert_error(response, 422, "idempotency_key_reused")


def test_different_keys_make_different_jobs(client) -> None:
    a = client.post("/jobs", json={"seed": 3}, headers={"Idempotency-Key": "a"})
    b = client.post("/jobs", json={"seed": 3}, headers={"Idempotency-Key": "b"})

    assert (a.status_code, b.status_code) == (202, 202)
    assert a.json()["id"] != b.json()["id"]


def test_key_of_255_printable_characters_is_accepted(client) -> None:
    printable = "".join(chr(code) for code in range(0x21, 0x7F))
    key = (printable * 3)[:255]

    first = client.post("/jobs", json={}, headers={"Idempotency-Key": key})
    again = client.post("/jobs", json={}, headers={"Idempotency-Key": key})

    assert first.status_code == 202, first.text
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(b"k" * 256, id="256-chars"),
        pytest.param("clé-ключ".encode(), id="non-ascii-utf8"),
        pytest.param(b"caf\xe9", id="non-ascii-latin1"),
        pytest.param(b"", id="empty"),
        pytest.param(b"tab\there", id="control-char"),
    ],
)
def test_bad_key_is_422_and_queues_nothing(client, queue, key) -> None:
    response = client.post("/jobs", json={}, headers={"Idempotency-Key": key})

    body = assert_error(response, 422, "validation_error")
    assert "Idempotency-Key" in body["message"]
    assert queued_job_ids(queue) == []


class LiveServer:
    """The app served by a real uvicorn on 127.0.0.1, in a thread of this process."""

    def __init__(self, app) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(
            app, loop="asyncio", http="h11", ws="none", lifespan="on", log_config=None,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]})

    def __enter__(self) -> LiveServer:
        self.thread.start()
        with httpx.Client(base_url=self.url) as client:
            for _attempt in range(500):  # until the server answers (or it died)
                if not self.thread.is_alive():
                    raise RuntimeError("uvicorn did not start")
                try:
                    if client.get("/healthz", timeout=1.0).status_code == 200:
                        return self
                except httpx.TransportError:
                    self.thread.join(0.01)
        raise RuntimeError("uvicorn did not answer")

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


@pytest.fixture
def live_server(settings: Settings, store: SqliteJobStore, queue: LocalQueue) -> Iterator[LiveServer]:
    app = create_app(settings, store, queue, consume_dead_letters=False)
    with LiveServer(app) as server:
        yield server


def test_concurrent_creates_with_one_key_make_one_job_and_one_message(live_server, queue) -> None:
    # Given 16 clients ready to post the same keyed request at the same moment
    clients = 16
    barrier = threading.Barrier(clients)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def post() -> None:
        with httpx.Client(base_url=live_server.url, timeout=30.0) as client:
            barrier.wait()
            response = client.post("/jobs", json={"rooms": 4}, headers={"Idempotency-Key": "race"})
            response.read()
            with lock:
                responses.append(response)

    # When they all post at once
    threads = [threading.Thread(target=post) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # Then exactly one created the job, the others replayed it, and one message is queued
    assert len(responses) == clients
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * (clients - 1) + [202], [r.text for r in responses]
    ids = {response.json()["id"] for response in responses}
    seeds = {response.json()["spec"]["seed"] for response in responses}
    assert len(ids) == 1
    assert len(seeds) == 1
    assert queued_job_ids(queue) == list(ids)
    with httpx.Client(base_url=live_server.url) as client:
        assert [job["id"] for job in client.get("/jobs").json()["jobs"]] == list(ids)
