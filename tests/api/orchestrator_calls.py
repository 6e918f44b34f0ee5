"""The calls a client and a worker make to the Orchestrator, in a few words each."""

from __future__ import annotations

import re
from typing import Any

import httpx

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TOKEN = "s3cret-token"
STARTED_AT = "2025-12-25T12:00:00.000Z"
ENDED_AT = "2025-12-25T12:00:00.003Z"
DEFAULTS = {"width": 64, "height": 40, "rooms": 12, "difficulty": 3, "theme": "dungeon", "loops": 0.15}
PIPELINE = ("plan_layout", "carve_rooms", "connect_rooms", "place_doors")


def create_job(client: httpx.Client, spec: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    response = client.post("/jobs", json={"seed": 42} if spec is None else spec, headers=headers)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def step_event(job_id: str, name: str = "plan_layout", **changes: Any) -> dict[str, Any]:
    event = {
        "stepId": f"{job_id}:{name}", "name": name, "startedAt": STARTED_AT, "endedAt": ENDED_AT,
        "durationMs": 3, "summary": f"did {name}", "status": "ok",
    }
    event.update(changes)
    return event


def post_step(
    client: httpx.Client, job_id: str, token: str, name: str = "plan_layout", **changes: Any
) -> httpx.Response:
    return client.post(
        f"/internal/jobs/{job_id}/step", json=step_event(job_id, name, **changes),
        headers={"X-INTERNAL-TOKEN": token},
    )


def complete(client: httpx.Client, job_id: str, token: str, result: dict[str, Any]) -> httpx.Response:
    return client.post(
        f"/internal/jobs/{job_id}/complete", json={"result": result}, headers={"X-INTERNAL-TOKEN": token}
    )


def fail(client: httpx.Client, job_id: str, token: str, error: dict[str, Any]) -> httpx.Response:
    return client.post(
        f"/internal/jobs/{job_id}/fail", json={"error": error}, headers={"X-INTERNAL-TOKEN": token}
    )


def get_job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/status/{job_id}")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def assert_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """The response is the contract's error body with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert isinstance(body["message"], str)
    assert body["message"]
    return body
