"""Hostile input over the live app (issue 6): every answer is the contract's error body
with its status (CONTRACT §2, §6), never a 500, never a traceback.

Requests go straight to the ASGI app, so the headers and bytes are exactly these: no
client library fixes a Content-Length or re-encodes a body on the way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from fastapi import FastAPI

from levelforge.config import PUBLIC_BODY_LIMIT
from tests.fuzz.conftest import TOKEN, Seeded

INTERNAL = [(b"x-internal-token", TOKEN.encode())]
JSON = [(b"content-type", b"application/json")]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[bytes, bytes]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(
    app: FastAPI,
    method: str,
    path: str,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    query: bytes = b"",
) -> Answer:
    """One request through the ASGI interface, the body in one message."""
    headers = list(headers or [])
    if body and not any(name == b"content-length" for name, _value in headers):
        headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": query, "root_path": "", "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    messages: list[dict[str, Any]] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def collect(message: dict[str, Any]) -> None:
        messages.append(message)

    async def call() -> None:
        with anyio.fail_after(30):
            await app(scope, receive, collect)

    anyio.run(call)
    start = next(message for message in messages if message["type"] == "http.response.start")
    bodies = [message.get("body", b"") for message in messages if message["type"] == "http.response.body"]
    data = b"".join(bodies)
    return Answer(start["status"], dict(start["headers"]), data)


def assert_error(answer: Answer, status: int, error: str) -> dict[str, Any]:
    """The contract's error: this status, JSON ``{"error", "message", "details"?}``, no trace."""
    assert b"Traceback" not in answer.body, answer.body
    assert answer.status == status, answer.body
    assert answer.headers[b"content-type"].startswith(b"application/json")
    body: dict[str, Any] = answer.json()
    assert body["error"] == error, body
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/jobs", []), ("/internal/jobs/01JFZ3K5Q8C4W7R2N6V9XTBHDM/complete", INTERNAL)],
    ids=["public", "internal"],
)
def test_a_huge_content_length_is_413(app: FastAPI, path: str, headers: list[tuple[bytes, bytes]]) -> None:
    """Given a declared length of a terabyte, when it arrives, then it is 413 at once."""
    answer = send(app, "POST", path, b"{}", [*headers, *JSON, (b"content-length", b"1099511627776")])
    assert_error(answer, 413, "payload_too_large")


def test_a_body_just_over_the_limit_is_413_whatever_it_declares(app: FastAPI) -> None:
    """Given a body longer than its declared Content-Length and over 64 KiB, then 413."""
    body = b'{"seed": 1' + b" " * PUBLIC_BODY_LIMIT + b"}"
    answer = send(app, "POST", "/jobs", body, [*JSON, (b"content-length", b"10")])
    assert_error(answer, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"seed": 1\x00}', "invalid_json"),
        (b"\x00" * 64, "invalid_json"),
        (b'{"theme": "dun\\u0000geon"}', "validation_error"),
        (b'{"theme": "\xff\xfe"}', "invalid_json"),
        (b"\xc3\x28\xa0\xa1", "invalid_json"),
        (b"[" * 30_000 + b"]" * 30_000, "invalid_json"),
        (b'{"seed": ' + b"9" * 5000 + b"}", "invalid_json"),  # past Python's int digits limit
    ],
    ids=["nul-in-json", "only-nuls", "escaped-nul-in-a-string", "invalid-utf8-in-a-string",
         "invalid-utf8", "nested-30000-deep", "a-5000-digit-integer"],
)
def test_a_hostile_body_is_422(app: FastAPI, body: bytes, error: str) -> None:
    """Given a body no spec can be read from, when it is posted, then 422 with the error."""
    assert_error(send(app, "POST", "/jobs", body, JSON), 422, error)


def test_a_deeply_nested_result_is_refused_or_stored_never_500(app: FastAPI, seeded: Seeded) -> None:
    """Given a worker's result nested 20,000 deep (under the 1 MiB internal limit), when it
    completes the job, then it is a 422, never a 500."""
    body = b'{"result": {"a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}}"
    answer = send(app, "POST", f"/internal/jobs/{seeded.queued}/complete", body, [*INTERNAL, *JSON])
    assert_error(answer, 422, "invalid_json")


def test_a_10000_key_object_is_answered_by_the_contract(app: FastAPI, seeded: Seeded) -> None:
    """Given 10,000 unknown keys in a step and 10,000 keys in a result, then the step is
    422 and the result, a JSON object like any other, completes the job."""
    many = {f"k{index}": index for index in range(10_000)}
    step = json.dumps(many).encode()
    answer = send(app, "POST", f"/internal/jobs/{seeded.queued}/step", step, [*INTERNAL, *JSON])
    assert_error(answer, 422, "validation_error")
    result = json.dumps({"result": many}).encode()
    answer = send(app, "POST", f"/internal/jobs/{seeded.queued}/complete", result, [*INTERNAL, *JSON])
    assert answer.status == 200, answer.body
    assert answer.json()["status"] == "done"
    public = json.dumps(many).encode()
    assert_error(send(app, "POST", "/jobs", public, JSON), 413, "payload_too_large")


@pytest.mark.parametrize(
    "query",
    [b"limit=1&limit=2", b"status=queued&status=done", b"cursor=a&cursor=b", b"limit=1&" * 2000],
    ids=["limit", "status", "cursor", "limit-2000-times"],
)
def test_repeated_query_parameters_never_500(app: FastAPI, seeded: Seeded, query: bytes) -> None:
    """Given a parameter repeated, when jobs are listed, then a page or a 422, never a 500."""
    answer = send(app, "GET", "/jobs", query=query)
    assert b"Traceback" not in answer.body
    if answer.status == 200:
        assert set(answer.json()) == {"jobs", "nextCursor"}
    else:
        assert_error(answer, 422, "validation_error")


@pytest.mark.parametrize(
    "name",
    ["../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "../scene-graph.json", "minimap.txt/..",
     "/etc/passwd", "minimap.txt\x00.json", "%00", "..\\..\\windows\\win.ini"],
)
def test_path_traversal_in_an_artifact_name_is_404(app: FastAPI, seeded: Seeded, name: str) -> None:
    """Given a done job, when an artifact is asked for by a name that climbs out, then 404:
    names are a fixed list (CONTRACT §5)."""
    answer = send(app, "GET", f"/jobs/{seeded.done}/artifacts/{name}")
    assert_error(answer, 404, "not_found")


@pytest.mark.parametrize(
    "path",
    ["/status/../../etc/passwd", "/status/..%2F..%2Fetc%2Fpasswd", "/jobs/%2e%2e/artifacts/minimap.txt",
     "/jobs/..%5C..%5Cwin.ini", "/status/\x00", "/jobs/../jobs/x/events", "/web/../api/app.py",
     "/web/..%2F__init__.py", "/internal/../jobs"],
)
def test_path_traversal_in_a_path_is_404(app: FastAPI, path: str) -> None:
    """Given a path that climbs out, then 404, 405 for a known path and a wrong method, or
    401 for anything under ``/internal/`` without the token: paths are never resolved."""
    answer = send(app, "GET", path)
    assert answer.status in (401, 404, 405), answer.body
    error = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}[answer.status]
    assert_error(answer, answer.status, error)
    assert (answer.status == 401) == path.startswith("/internal/")


@pytest.mark.parametrize(
    ("method", "path", "query", "status", "error"),
    [
        ("GET", "/status/" + "A" * 100_000, b"", 404, "not_found"),
        ("GET", "/jobs/" + "A" * 100_000 + "/events", b"", 404, "not_found"),
        ("GET", "/jobs", b"cursor=" + b"A" * 100_000, 422, "validation_error"),
        ("GET", "/jobs", b"x" * 100_000 + b"=1", 200, ""),
        ("POST", "/internal/jobs/" + "A" * 100_000 + "/fail", b"", 401, "unauthorized"),
    ],
    ids=["long-id", "long-id-events", "long-cursor", "long-unknown-parameter", "long-internal-no-token"],
)
def test_a_very_long_url_is_answered_by_the_contract(
    app: FastAPI, method: str, path: str, query: bytes, status: int, error: str
) -> None:
    """Given a URL of 100,000 characters, then the contract's answer, never a 500."""
    answer = send(app, method, path, query=query)
    if status == 200:
        assert answer.status == 200, answer.body
        assert set(answer.json()) == {"jobs", "nextCursor"}
    else:
        assert_error(answer, status, error)


def test_a_nul_in_a_header_is_422(app: FastAPI) -> None:
    """Given an Idempotency-Key and a Last-Event-ID holding NUL bytes, then 422."""
    answer = send(app, "POST", "/jobs", b"{}", [*JSON, (b"idempotency-key", b"a\x00b")])
    assert_error(answer, 422, "validation_error")
    answer = send(app, "GET", "/jobs/x/events", headers=[(b"last-event-id", b"1\x00")])
    assert_error(answer, 422, "validation_error")
