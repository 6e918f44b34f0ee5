"""``levelforge submit``: a job posted to the Orchestrator, its steps followed as they arrive."""

from __future__ import annotations

import json
import sys
from typing import Any

import httpx

from levelforge.config import Settings

#: a long poll's wait (``GET /status/{id}?wait=``) when the event stream ended early
WAIT_SECONDS = 30
TERMINAL = ("done", "failed")


def submit(settings: Settings, spec: dict[str, Any], *, wait: bool) -> int:
    with httpx.Client(base_url=settings.orchestrator_url, timeout=10.0) as client:
        try:
            response = client.post("/jobs", json=spec)
        except httpx.TransportError as exc:
            print(f"levelforge: cannot reach {settings.orchestrator_url}: {exc}", file=sys.stderr)
            return 1
        if response.status_code >= 400:
            print(f"levelforge: {response.status_code}: {describe_error(response)}", file=sys.stderr)
            return 2 if response.status_code == 422 else 1
        job = response.json()
        print(f"job {job['id']} {job['status']}", file=sys.stderr)
        if not wait:
            print(job["id"])
            return 0
        return follow(client, job["id"])


def describe_error(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except json.JSONDecodeError:
        return response.text


def follow(client: httpx.Client, job_id: str) -> int:
    """Print each step as it is recorded (the job's event stream: pushed, not polled), then
    the minimap (or the error) from the finished job."""
    with client.stream("GET", f"/jobs/{job_id}/events", timeout=httpx.Timeout(10.0, read=None)) as events:
        events.raise_for_status()
        kind = ""
        for line in events.iter_lines():
            if line.startswith("event:"):
                kind = line.partition(":")[2].strip()
            elif line.startswith("data:") and kind == "step":
                show_step(json.loads(line.partition(":")[2]))
    # the stream ends after the terminal status (or early, if the Orchestrator stopped):
    # the job with its result, by a long poll that answers at once once it is terminal
    while True:
        answer = client.get(f"/status/{job_id}", params={"wait": WAIT_SECONDS}, timeout=WAIT_SECONDS + 10)
        job: dict[str, Any] = answer.raise_for_status().json()
        if job["status"] in TERMINAL:
            return report(client, job)


def show_step(step: dict[str, Any]) -> None:
    mark = "ok " if step["status"] == "ok" else "ERR"
    print(f"  [{mark}] {step['name']:<22} {step['durationMs']:>8.2f} ms  {step['summary']}", file=sys.stderr)


def report(client: httpx.Client, job: dict[str, Any]) -> int:
    if job["status"] == "failed":
        error = job.get("error") or {}
        print(f"job {job['id']} failed: {error.get('code')}: {error.get('message')}", file=sys.stderr)
        return 1
    minimap = job["result"].get("asciiMinimap")
    if minimap is None:
        minimap = client.get(f"/jobs/{job['id']}/artifacts/minimap.txt", follow_redirects=True).text
    sys.stdout.write(minimap)
    print(f"job {job['id']} done", file=sys.stderr)
    return 0
