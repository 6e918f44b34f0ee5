"""What users expect of every response and log line: security headers (the viewer's
Content-Security-Policy forbids inline script), a request id in every response and in
every log line written for the request, and no secret in an error body."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from levelforge.api.requests import CONTENT_SECURITY_POLICY
from levelforge.config import Settings
from levelforge.logs import JsonFormatter, RequestIdFilter
from tests.api.orchestrator_calls import TOKEN, assert_error, post_step

KEY = "key-acme-secret-0123456789"
ROUTES = ["/", "/web/app.js", "/healthz", "/jobs", "/metrics", "/openapi.json", "/no-such-route"]


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(internal_token=TOKEN, database_path=db_path, api_keys=f"acme:{KEY}")


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """The JSON log lines written meanwhile, as ``configure_logging`` writes them."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield sink
    root.removeHandler(handler)
    root.setLevel(previous)


def lines(sink: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in sink.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("authorized", [True, False])
def test_every_response_has_nosniff_a_referrer_policy_and_a_request_id(client, path, authorized) -> None:
    response = client.get(path, headers={"Authorization": f"Bearer {KEY}"} if authorized else {})

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


@pytest.mark.parametrize("path", ["/", "/web/app.js", "/web/style.css"])
def test_the_viewer_forbids_inline_script_and_framing(client, path) -> None:
    """Given the viewer's files, Then their CSP allows scripts from the server only (no
    'unsafe-inline'), no plug-ins, no base URL change and no framing; pictures may be
    blob: URLs (the viewer's downloaded preview)."""
    policy = client.get(path).headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}

    assert policy == CONTENT_SECURITY_POLICY
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert set(directives["img-src"]) == {"'self'", "data:", "blob:"}
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_the_viewer_page_has_no_inline_script_or_style(client) -> None:
    """The CSP would block them: the page loads its code and style from files only."""
    page = client.get("/").text

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)


def test_a_well_formed_request_id_is_kept_and_a_bad_one_replaced(client) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "trace-42.a:b_c"})
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\twith\"quotes" + "x" * 200})

    assert kept.headers["x-request-id"] == "trace-42.a:b_c"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])


def test_each_request_gets_its_own_id(client) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(5)}

    assert len(ids) == 5


def test_log_lines_of_a_request_carry_its_request_id(client, log) -> None:
    """Given JSON logs, When a job is created and cancelled, Then each line about it
    carries the job_id and the request_id of the request it was written for."""
    created = client.post("/jobs", json={"seed": 1}, headers={"Authorization": f"Bearer {KEY}"})
    cancelled = client.post(
        f"/jobs/{created.json()['id']}/cancel",
        headers={"Authorization": f"Bearer {KEY}", "X-Request-ID": "cancel-1"},
    )

    written = {line["message"]: line for line in lines(log) if line.get("job_id") == created.json()["id"]}
    assert written["job created"]["request_id"] == created.headers["x-request-id"]
    assert written["job cancelled"]["request_id"] == cancelled.headers["x-request-id"] == "cancel-1"


def test_log_lines_outside_a_request_carry_no_request_id(client, log) -> None:
    client.get("/healthz")
    logging.getLogger("levelforge.test").info("outside")

    assert "request_id" not in lines(log)[-1]


def test_no_secret_in_error_bodies_or_logs(client, log) -> None:
    """Given a key and a token, When requests fail with a wrong key, a wrong token, a
    near-miss of each, and 422s, Then no response body and no log line holds either."""
    answers = [
        client.get("/jobs", headers={"Authorization": f"Bearer {KEY}x"}),
        client.get("/jobs", headers={"Authorization": f"Bearer {TOKEN}"}),
        client.post("/jobs", json={"rooms": KEY}, headers={"Authorization": f"Bearer {KEY}"}),
        client.post("/jobs", content=KEY.encode(), headers={"Authorization": f"Bearer {KEY}"}),
        client.post("/internal/jobs/x/step", json={}, headers={"X-INTERNAL-TOKEN": TOKEN + "x"}),
        post_step(client, "01JFZ3K5Q8C4W7R2N6V9XTBHDM", TOKEN, summary=TOKEN),
    ]

    assert_error(answers[0], 401, "unauthorized")
    assert_error(answers[4], 401, "unauthorized")
    for answer in answers:
        assert KEY not in answer.text and TOKEN not in answer.text, answer.text
    assert KEY not in log.getvalue() and TOKEN not in log.getvalue()
