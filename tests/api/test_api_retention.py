"""Retention (issue 16): a job past JOB_RETENTION_DAYS answers 404 on every route, as one
that never existed, from the instant it expires (before the sweeper deletes it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from levelforge.config import load_settings
from tests.api.orchestrator_calls import TOKEN, assert_error, complete, create_job, post_step

ROUTES = [
    ("GET", "/status/{id}"), ("GET", "/jobs/{id}"), ("POST", "/jobs/{id}/cancel"),
    ("GET", "/jobs/{id}/events"), ("GET", "/jobs/{id}/artifacts/minimap.txt"),
    ("GET", "/jobs/{id}/artifacts/scene-graph.json"),
]


def expire_all(db_path: Path) -> None:
    """As if the retention had run out: every terminal job ended long ago."""
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE jobs SET updated_at = '2020-01-01T00:00:00.000Z' WHERE status = 'done'")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_an_expired_job_is_404_on_every_public_route(client, db_path, method, path) -> None:
    """Given a done job, When its retention has run out, Then every public route answers
    404 `not_found` for it and the listing leaves it out."""
    job = create_job(client)
    post_step(client, job["id"], TOKEN)
    result = {"summary": {}, "asciiMinimap": "#..#", "sceneGraph": {}}
    assert complete(client, job["id"], TOKEN, result).status_code == 200
    assert client.request(method, path.format(id=job["id"])).status_code in (200, 409)

    expire_all(db_path)

    assert_error(client.request(method, path.format(id=job["id"])), 404, "not_found")
    assert client.get("/jobs").json()["jobs"] == []


def test_a_worker_reporting_on_an_expired_job_is_told_it_is_gone(client, db_path) -> None:
    """Given a done job that expired, When a late worker posts a step or a result, Then 404."""
    job = create_job(client)
    assert complete(client, job["id"], TOKEN, {"summary": {}}).status_code == 200
    expire_all(db_path)

    assert_error(post_step(client, job["id"], TOKEN, name="validate"), 404, "not_found")
    assert_error(complete(client, job["id"], TOKEN, {"summary": {}}), 404, "not_found")


@pytest.mark.parametrize(("value", "seconds"), [("0.0001", 8.64), ("1.5", 129600.0), ("30", 2592000.0)])
def test_job_retention_days_accepts_a_fraction(monkeypatch, value, seconds) -> None:
    """Given JOB_RETENTION_DAYS as a fraction of a day, When read, Then it is that many seconds."""
    monkeypatch.setenv("JOB_RETENTION_DAYS", value)

    assert load_settings().job_retention_days * 86400 == pytest.approx(seconds)
