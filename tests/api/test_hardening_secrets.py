"""No secret ever in a log line or an error body, checked on a full run: a real
``levelforge serve`` (Orchestrator and workers) with API keys, an internal token and AWS
keys in its environment, driven through jobs, listings, artifacts, events and failing
requests; then every captured log line and every response body is searched for them."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Deployment
from tests.e2e.processes import TOKEN, environment, wait_until

ACME_KEY = "acme-key-7c1f0e2d9b8a4c3e"
GLOBEX_KEY = "globex-key-5a6b7c8d9e0f1a2b"
AWS_ACCESS_KEY_ID = "AKIAFAKEKEY000EXAMPLE"
AWS_SECRET_ACCESS_KEY = "fakeSecretAccessKey/K7MDENG/bPxRfiCYEXAMPLEKEY"
SECRETS = (ACME_KEY, GLOBEX_KEY, TOKEN, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
JSON = {"Content-Type": "application/json"}
SPEC = {"seed": 3, "width": 48, "height": 32, "rooms": 6}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Deployment]:
    env = environment(
        tmp_path / "levelforge.db",
        API_KEYS=f"acme:{ACME_KEY},globex:{GLOBEX_KEY}",
        RATE_LIMIT_PER_MINUTE="50",
        AWS_ACCESS_KEY_ID=AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=AWS_SECRET_ACCESS_KEY,
        AWS_REGION="us-east-1",
    )
    deployment = Deployment(tmp=tmp_path, env=env)
    try:
        yield deployment
    finally:
        deployment.close()


def drive(client: httpx.Client) -> list[httpx.Response]:
    """Jobs through every public route, and requests that fail in every way."""
    acme = {"Authorization": f"Bearer {ACME_KEY}"}
    internal = {"X-INTERNAL-TOKEN": TOKEN}
    globex = {"Authorization": f"Bearer {GLOBEX_KEY}"}
    answers = []
    created = client.post("/jobs", json=SPEC, headers={**acme, "Idempotency-Key": "run-1"})
    job_id = created.json()["id"]
    answers.append(created)

    def finished() -> httpx.Response | None:
        answer = client.get(f"/status/{job_id}", headers=acme)
        return answer if answer.json()["status"] in ("done", "failed") else None

    answers.append(wait_until(finished, timeout=60, what="the job to finish", every=0.1))
    answers += [
        client.post("/jobs", json=SPEC, headers={**acme, "Idempotency-Key": "run-1"}),
        client.get("/jobs?limit=5", headers=acme),
        client.get(f"/jobs/{job_id}/events", headers=acme),
        client.get(f"/jobs/{job_id}/artifacts/minimap.txt", headers=acme),
        client.post(f"/jobs/{job_id}/cancel", headers=acme),  # 409: already terminal
        client.get(f"/jobs/{job_id}", headers=globex),  # 404: another tenant's
        client.get(f"/jobs/{job_id}/events", headers=globex),
        client.get("/jobs", headers={"Authorization": f"Bearer {ACME_KEY}0"}),  # 401: near miss
        client.get("/jobs", headers={"Authorization": f"Bearer {TOKEN}"}),  # the token is no key
        client.get("/jobs", headers={"Authorization": ACME_KEY}),
        client.post("/jobs", json={"rooms": ACME_KEY}, headers=acme),  # 422 with a key in the body
        client.post("/jobs", content=b"{" + ACME_KEY.encode(), headers={**acme, **JSON}),
        client.get(f"/jobs?cursor={GLOBEX_KEY}", headers=acme),
        client.post(f"/internal/jobs/{job_id}/step", json={}, headers={"X-INTERNAL-TOKEN": f"{TOKEN}x"}),
        client.post(f"/internal/jobs/{job_id}/step", json={"stepId": TOKEN}, headers=internal),
        client.post(f"/internal/jobs/{job_id}/fail", content=b"{", headers=internal),
        client.get("/metrics", headers=acme),
        client.get("/openapi.json", headers=acme),
    ]
    return answers


def test_a_full_run_writes_no_secret_in_any_log_line_or_body(served: Deployment) -> None:
    """Given `levelforge serve` with API keys, a token and AWS keys in its environment,
    When jobs run and requests fail with bad keys, bad tokens and 422s, Then neither the
    captured logs nor any response body holds any of them (and there were logs)."""
    server = served.serve(workers=1)
    with served.client() as client:
        answers = drive(client)
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=15)

    statuses = [answer.status_code for answer in answers]
    assert statuses[:4] == [202, 200, 200, 200]
    assert statuses[6:] == [409, 404, 404, 401, 401, 401, 422, 422, 422, 401, 422, 422, 200, 200]
    log = served.log()
    assert "job created" in log and "request_id" in log
    for secret in SECRETS:
        assert secret not in log, f"a secret is in the logs: {secret[:4]}…"
        for answer in answers:
            assert secret not in answer.text, f"a secret is in the body of {answer.request.url.path}"
            assert all(secret not in value for value in answer.headers.values())
    logged = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any("request_id" in line for line in logged), "no JSON log line carried a request_id"
