"""POST /jobs (CONTRACT §2, §3, §4): creation, the spec's validation, and body limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from levelforge.queues.local import LocalQueue
from tests.api.orchestrator_calls import DEFAULTS, TIMESTAMP, assert_error, get_job

PUBLIC_LIMIT = 64 * 1024


def queued_bodies(queue: LocalQueue) -> list[dict[str, Any]]:
    """Every message on the queue, taken (hidden for 30 s: each is seen once)."""
    return [json.loads(message.body) for message in queue.receive(max_messages=100)]


def test_create_records_normalised_spec_with_drawn_seed_and_queues_it(client, queue) -> None:
    # Given a spec with only a few fields and no seed
    spec = {"rooms": 5, "theme": "cave"}

    # When it is posted
    response = client.post("/jobs", json=spec)

    # Then the job is accepted, located, and its spec has every default and a drawn seed
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/status/{job['id']}"
    assert set(job) >= {"id", "status", "spec", "createdAt", "updatedAt", "steps", "result", "error"}
    assert job["status"] == "queued"
    seed = job["spec"]["seed"]
    assert isinstance(seed, int)
    assert 0 <= seed <= 2**53 - 1
    assert job["spec"] == {**DEFAULTS, "rooms": 5, "theme": "cave", "seed": seed}
    assert TIMESTAMP.match(job["createdAt"])
    assert TIMESTAMP.match(job["updatedAt"])
    assert job["steps"] == []
    assert job["result"] is None
    assert job["error"] is None
    # And the same resource is stored
    assert get_job(client, job["id"]) == job
    # And one message carries the job's id and its normalised spec (seed included)
    assert queued_bodies(queue) == [{"jobId": job["id"], "spec": job["spec"]}]


def test_an_empty_spec_gets_every_default(client) -> None:
    response = client.post("/jobs", json={})

    assert response.status_code == 202
    spec = response.json()["spec"]
    assert {key: spec[key] for key in DEFAULTS} == DEFAULTS
    assert set(spec) == {*DEFAULTS, "seed"}


def test_every_range_edge_inside_is_accepted(client) -> None:
    # Given specs at each inclusive bound of §4 (loops as an integer is a number)
    edges = [
        {"seed": 0}, {"seed": 2**53 - 1}, {"width": 16, "height": 16, "rooms": 4},
        {"width": 512, "height": 512, "rooms": 2000}, {"difficulty": 1}, {"difficulty": 10},
        {"loops": 0}, {"loops": 1}, {"theme": "crypt"}, {"rooms": 1},
    ]
    for spec in edges:
        # When each is posted
        response = client.post("/jobs", json=spec)
        # Then it is accepted with those values recorded
        assert response.status_code == 202, (spec, response.text)
        recorded = response.json()["spec"]
        assert all(recorded[key] == value for key, value in spec.items()), (spec, recorded)


INVALID_SPECS = [
    pytest.param({"width": "64"}, "width", id="string-integer"),
    pytest.param({"width": True}, "width", id="true-as-integer"),
    pytest.param({"height": 64.5}, "height", id="fractional"),
    pytest.param({"height": 64.0}, "height", id="integral-float"),
    pytest.param({"rooms": 12.0}, "rooms", id="rooms-float"),
    pytest.param({"difficulty": "3"}, "difficulty", id="difficulty-string"),
    pytest.param({"seed": 42.0}, "seed", id="seed-float"),
    pytest.param({"seed": "42"}, "seed", id="seed-string"),
    pytest.param({"seed": None}, "seed", id="seed-null"),
    pytest.param({"width": 15}, "width", id="width-low"),
    pytest.param({"width": 513}, "width", id="width-high"),
    pytest.param({"height": 15}, "height", id="height-low"),
    pytest.param({"height": 513}, "height", id="height-high"),
    pytest.param({"rooms": 0}, "rooms", id="rooms-low"),
    pytest.param({"width": 512, "height": 512, "rooms": 2001}, "rooms", id="rooms-high"),
    pytest.param({"difficulty": 0}, "difficulty", id="difficulty-low"),
    pytest.param({"difficulty": 11}, "difficulty", id="difficulty-high"),
    pytest.param({"seed": -1}, "seed", id="seed-negative"),
    pytest.param({"seed": 2**53}, "seed", id="seed-2^53"),
    pytest.param({"theme": "forest"}, "theme", id="theme-unknown"),
    pytest.param({"theme": "Dungeon"}, "theme", id="theme-case"),
    pytest.param({"theme": 1}, "theme", id="theme-number"),
    pytest.param({"loops": True}, "loops", id="loops-bool"),
    pytest.param({"loops": "0.5"}, "loops", id="loops-string"),
    pytest.param({"loops": -0.01}, "loops", id="loops-low"),
    pytest.param({"loops": 1.01}, "loops", id="loops-high"),
    pytest.param({"colour": "red"}, "colour", id="unknown-field"),
    pytest.param({"rooms": 41}, "rooms", id="rooms-do-not-fit-default-size"),
    pytest.param({"width": 16, "height": 16, "rooms": 5}, "rooms", id="rooms-do-not-fit-16x16"),
]


@pytest.mark.parametrize(("spec", "field"), INVALID_SPECS)
def test_invalid_spec_is_refused_naming_the_field_and_nothing_is_queued(client, queue, spec, field) -> None:
    # When an invalid spec is posted
    response = client.post("/jobs", json=spec)

    # Then it is refused with 422 naming the field, in the message and the details
    body = assert_error(response, 422, "validation_error")
    assert field in body["message"]
    assert field in [detail["field"] for detail in body["details"]]
    # And nothing is queued, and no job exists
    assert queued_bodies(queue) == []
    assert client.get("/jobs").json()["jobs"] == []


def test_rooms_that_exactly_fit_are_accepted(client) -> None:
    # 40 rooms * 64 tiles = 2560 = 64 * 40: the largest count that fits the default size
    assert client.post("/jobs", json={"rooms": 40}).status_code == 202


@pytest.mark.parametrize(
    ("content", "error"),
    [
        pytest.param(b'{"seed": 42', "invalid_json", id="truncated"),
        pytest.param(b"{seed: 42}", "invalid_json", id="unquoted-key"),
        pytest.param(b"\xff\xfe", "invalid_json", id="not-utf8"),
        pytest.param(b"[1, 2]", "validation_error", id="array"),
        pytest.param(b'"a string"', "validation_error", id="string"),
        pytest.param(b"42", "validation_error", id="number"),
        pytest.param(b"null", "validation_error", id="null"),
    ],
)
def test_body_that_is_not_a_spec_object_is_422(client, queue, content, error) -> None:
    # When the body is malformed JSON or JSON that is not an object
    response = client.post("/jobs", content=content, headers={"Content-Type": "application/json"})

    # Then it is 422 (never a 500) and nothing is queued
    assert_error(response, 422, error)
    assert queued_bodies(queue) == []


def test_no_body_is_422(client, queue) -> None:
    response = client.post("/jobs", headers={"Content-Type": "application/json"})

    assert_error(response, 422, "validation_error")
    assert queued_bodies(queue) == []


def padded_spec(size: int) -> bytes:
    """A valid spec of exactly ``size`` bytes, padded with JSON whitespace."""
    head, tail = b'{"seed": 7,', b'"rooms": 3}'
    return head + b" " * (size - len(head) - len(tail)) + tail


def test_public_body_of_exactly_64_kib_is_accepted(client) -> None:
    body = padded_spec(PUBLIC_LIMIT)
    assert len(body) == 65536

    response = client.post("/jobs", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 202, response.text
    assert response.json()["spec"]["rooms"] == 3


def test_public_body_one_byte_over_64_kib_is_413(client, queue) -> None:
    response = client.post(
        "/jobs", content=padded_spec(PUBLIC_LIMIT + 1), headers={"Content-Type": "application/json"}
    )

    assert_error(response, 413, "payload_too_large")
    assert queued_bodies(queue) == []


def chunks_of(body: bytes, size: int = 4096) -> Iterator[bytes]:
    """A generator body: httpx sends it chunked, with no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_chunked_public_body_over_the_limit_is_413(client, queue) -> None:
    response = client.post(
        "/jobs", content=chunks_of(padded_spec(PUBLIC_LIMIT + 1)),
        headers={"Content-Type": "application/json"},
    )

    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")
    assert queued_bodies(queue) == []


def test_chunked_public_body_within_the_limit_is_read_whole(client) -> None:
    response = client.post(
        "/jobs", content=chunks_of(padded_spec(PUBLIC_LIMIT)), headers={"Content-Type": "application/json"}
    )

    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 202, response.text
    assert response.json()["spec"]["seed"] == 7


def test_413_comes_before_422(client) -> None:
    # An oversized body that is also malformed JSON is judged by its size first
    response = client.post(
        "/jobs", content=b"[" * (PUBLIC_LIMIT + 1), headers={"Content-Type": "application/json"}
    )

    assert_error(response, 413, "payload_too_large")


def test_deeply_nested_json_within_the_limit_is_422_invalid_json(client, queue) -> None:
    # Given a body under 64 KiB that Python's JSON parser cannot nest that deep
    body = b"[" * 60_000

    # When it is posted
    response = client.post("/jobs", content=body, headers={"Content-Type": "application/json"})

    # Then it is malformed JSON: 422 invalid_json (the contract has no 400)
    assert_error(response, 422, "invalid_json")
    assert queued_bodies(queue) == []
