"""``levelforge submit``: a job posted to the Orchestrator, its steps followed as they arrive."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import httpx

from levelforge.config import Settings

POLL_SECONDS = 0.05
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
    """Print each step as it is recorded, then the minimap (or the error)."""
    shown = 0
    while True:
        job = client.get(f"/status/{job_id}").raise_for_status().json()
        for step in job["steps"][shown:]:
            mark = "ok " if step["status"] == "ok" else "ERR"
            print(
                f"  [{mark}] {step['name']:<22} {step['durationMs']:>8.2f} ms  {step['summary']}",
                file=sys.stderr,
            )
        shown = len(job["steps"])
        if job["status"] in TERMINAL:
            return report(client, job)
        time.sleep(POLL_SECONDS)


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
