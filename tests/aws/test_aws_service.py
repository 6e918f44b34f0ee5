"""End to end on the emulated AWS: real `levelforge orchestrator` and `levelforge worker`
processes on DynamoDB, SQS and S3, each as the IAM user docs/aws.md documents for it."""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from levelforge.generation import generate_level
from levelforge.jobs import ARTIFACTS
from levelforge.worker import PIPELINE_STEPS
from tests.aws.conftest import AwsDeployment, Stack, deploy, make_stack
from tests.aws.emulator import Emulator
from tests.e2e.following import assert_complete_run, started, wait_terminal
from tests.e2e.processes import wait_until

pytestmark = pytest.mark.e2e
PRESIGN_SECONDS = 5


def tampered(url: str) -> str:
    """The URL with the last character of its signature changed."""
    signature = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    changed = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    return url.replace(f"X-Amz-Signature={signature}", f"X-Amz-Signature={changed}")


def test_fifty_jobs_finish_with_their_artifacts_behind_presigned_urls(deployment: AwsDeployment) -> None:
    """Given an Orchestrator and two Workers on DynamoDB, SQS and S3
    When 50 jobs are submitted at once
    Then every one is done with every step once; each presigned URL of a job read gives
    the artifact's bytes (equal to `generate_level`'s), the artifact route answers 302 to
    a URL that works, and a URL with a changed signature or past its expiry gets 403."""
    deployment.orchestrator()
    deployment.worker()
    deployment.worker()
    specs = [{"seed": n, "width": 40 + n, "height": 30 + n % 7, "rooms": 1 + n % 12} for n in range(50)]
    with deployment.client() as client, ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda spec: client.post("/jobs", json=spec), specs))
        assert [response.status_code for response in created] == [202] * 50
        jobs = list(pool.map(lambda r: wait_terminal(client, r.json()["id"]), created))
        for job in jobs:
            assert_complete_run(job)
        signed_at = time.monotonic()
        first = client.get(f"/jobs/{jobs[0]['id']}").json()["result"]["asciiMinimapUrl"]
        for n in (0, 7, 23, 49):
            fresh = client.get(f"/jobs/{jobs[n]['id']}").json()["result"]
            expected = generate_level(specs[n]).artifacts()
            for name, data in expected.items():
                field, content_type = ARTIFACTS[name]
                fetched = httpx.get(fresh[f"{field}Url"], timeout=10)
                assert fetched.status_code == 200 and fetched.content == data, name
                assert fetched.headers["content-type"] == content_type
        for job in jobs:
            redirect = client.get(f"/jobs/{job['id']}/artifacts/minimap.txt")
            assert redirect.status_code == 302
            target = httpx.get(redirect.headers["location"], timeout=10)
            assert target.status_code == 200 and target.text == job["result"]["asciiMinimap"]
        assert httpx.get(tampered(first), timeout=10).status_code == 403
        time.sleep(max(0.0, PRESIGN_SECONDS + 1.5 - (time.monotonic() - signed_at)))
        assert httpx.get(first, timeout=10).status_code == 403


def test_a_worker_killed_mid_job_and_the_job_finishes_once_after_redelivery(
    deployment: AwsDeployment,
) -> None:
    """Given an Orchestrator and one Worker busy with a large level (visibility 2 s)
    When the Worker is SIGKILLed after some steps are recorded, and a new Worker starts
    Then SQS delivers the job again after the visibility timeout, it finishes `done`, and
    no step is recorded twice."""
    deployment.orchestrator()
    spec = {"seed": 11, "width": 512, "height": 512, "rooms": 2000}
    with deployment.client() as client:
        for attempt in range(5):
            worker = deployment.worker()
            job_id = client.post("/jobs", json={**spec, "seed": spec["seed"] + attempt}).json()["id"]
            job = wait_until(
                functools.partial(started, client, job_id), timeout=60, what="first steps", every=0.005
            )
            worker.kill()
            worker.wait()
            if job["status"] == "running" and client.get(f"/status/{job_id}").json()["status"] == "running":
                break
            wait_terminal(client, job_id)
        else:
            pytest.fail("never caught a worker mid-job in 5 attempts")
        killed_at = len(client.get(f"/status/{job_id}").json()["steps"])
        deployment.worker()
        job = wait_terminal(client, job_id, timeout=90)
    assert 0 < killed_at < len(PIPELINE_STEPS)
    assert_complete_run(job)


def test_a_message_that_keeps_failing_ends_as_worker_lost(ministack: Emulator, tmp_path: Path) -> None:
    """Given a queue redriving after 3 receives (visibility 1 s) and a Worker whose every
    report is refused (wrong token), so it never acknowledges its message
    When SQS has delivered the message 3 times
    Then it is in the dead-letter queue and the Orchestrator fails the job `worker_lost`."""
    stack: Stack = make_stack(ministack, visibility_timeout=1, max_deliveries=3)
    deployment = deploy(stack, tmp_path)
    try:
        deployment.orchestrator()
        assert deployment.worker_env is not None
        deployment.worker(env={**deployment.worker_env, "INTERNAL_TOKEN": "not-the-token"})
        with deployment.client() as client:
            job_id = client.post("/jobs", json={"seed": 5}).json()["id"]
            job = wait_terminal(client, job_id, timeout=60)
    finally:
        deployment.close()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "worker_lost"
    assert job["error"]["details"]["deliveries"] == 3
    assert job["steps"] == []
