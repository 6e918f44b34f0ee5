"""Webhooks end to end on the emulated AWS (issue 19): real `levelforge orchestrator` and
`levelforge worker` processes on DynamoDB, SQS and S3, each as the IAM user docs/aws.md
documents for it, and a receiver on 127.0.0.1. Signatures are checked by the tests' own
implementation of the Standard Webhooks convention."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from levelforge.ports import DeliveryState
from levelforge.stores.dynamodb import open_dynamodb_store
from tests.aws.conftest import AwsDeployment, Stack, deploy
from tests.aws.test_aws_cost import DYNAMODB_READS, DYNAMODB_WRITES, Requests, running_service
from tests.e2e.following import assert_complete_run, wait_terminal
from tests.e2e.processes import TOKEN, wait_healthy, wait_until
from tests.e2e.test_webhooks import FAULT_POINTS, KILL_ROUNDS, create, delivered
from tests.e2e.webhook_receiver import SECRET, Receiver, receiving, verify

pytestmark = pytest.mark.e2e
HOOK_SETTINGS = {
    "WEBHOOK_SECRET": SECRET, "WEBHOOK_ALLOW_PRIVATE": "1", "WEBHOOK_BACKOFF_BASE_SECONDS": "0.1",
    "WEBHOOK_TIMEOUT_SECONDS": "0.25", "WEBHOOK_POLL_SECONDS": "0.5",
}


@pytest.fixture
def hooks(stack: Stack, tmp_path: Path) -> Iterator[AwsDeployment]:
    deployment = deploy(stack, tmp_path, **HOOK_SETTINGS)
    try:
        yield deployment
    finally:
        deployment.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiving()


def without_urls(job: dict[str, Any]) -> dict[str, Any]:
    """The resource without its presigned URLs (signed anew at each read)."""
    result = job["result"]
    if result is None:
        return job
    return {**job, "result": {key: value for key, value in result.items() if not key.endswith("Url")}}


def assert_signed(client: httpx.Client, receiver: Receiver, job_id: str) -> dict[str, Any]:
    hits = receiver.of(job_id)
    assert hits and all(verify(hit.headers, hit.body) for hit in hits)
    assert {hit.headers["webhook-id"] for hit in hits} == {f"msg_{job_id}"}
    resource: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
    assert without_urls(hits[-1].job) == without_urls(resource)
    return resource


def test_done_and_cancelled_jobs_are_delivered_signed_on_aws(
    hooks: AwsDeployment, receiver: Receiver
) -> None:
    """Given an Orchestrator on DynamoDB and a receiver
    When a job is cancelled, and another is done by a Worker
    Then each is POSTed once, signed, with its resource (presigned URLs that work), and
    its deliveries show one attempt answered 200."""
    hooks.orchestrator()
    with hooks.client() as client:
        cancelled = create(client, receiver.url)
        assert client.post(f"/jobs/{cancelled}/cancel").status_code == 200
        done = create(client, receiver.url)
        hooks.worker()
        assert_complete_run(wait_terminal(client, done))
        for job_id in (cancelled, done):
            log = delivered(client, job_id)
            assert log["state"] == "delivered" and [a["statusCode"] for a in log["deliveries"]] == [200]
            assert len(receiver.of(job_id)) == 1
        assert assert_signed(client, receiver, cancelled)["error"]["code"] == "cancelled"
        sent = assert_signed(client, receiver, done)
        fetched = httpx.get(receiver.of(done)[0].job["result"]["asciiMinimapUrl"], timeout=10)
        assert fetched.status_code == 200 and fetched.text == sent["result"]["asciiMinimap"]


def test_a_receiver_failing_three_times_gets_four_attempts_on_aws(hooks: AwsDeployment) -> None:
    hooks.orchestrator()
    hooks.worker()
    for receiver in receiving([503, 500, 502]):
        with hooks.client() as client:
            job_id = create(client, receiver.url)
            log = delivered(client, job_id)
            assert_signed(client, receiver, job_id)
        assert [attempt["statusCode"] for attempt in log["deliveries"]] == [503, 500, 502, 200]
        assert log["state"] == "delivered" and len(receiver.of(job_id)) == 4


def test_an_orchestrator_killed_between_the_end_and_the_delivery_still_delivers_on_aws(
    stack: Stack, tmp_path: Path, receiver: Receiver
) -> None:
    """Given an Orchestrator on DynamoDB that SIGKILLs itself right after a job's end,
    after claiming its delivery, and after sending it, in turn (``make chaos``: 50 rounds)
    When it is started again
    Then every webhook arrives with its one webhook-id; only the kill after sending gives
    a duplicate."""
    fuse = tmp_path / "fuse"
    deployment = deploy(stack, tmp_path, **HOOK_SETTINGS, LEVELFORGE_FAULT_KILL_IN_WEBHOOK=str(fuse))
    internal = {"X-INTERNAL-TOKEN": TOKEN}
    duplicates = set()
    try:
        process = deployment.orchestrator()
        with deployment.client() as client:
            for round_ in range(KILL_ROUNDS):
                point = FAULT_POINTS[round_ % len(FAULT_POINTS)]
                job_id = create(client, receiver.url)
                fuse.write_text(point)
                with contextlib.suppress(httpx.TransportError):
                    client.post(f"/internal/jobs/{job_id}/complete", json={"result": {}}, headers=internal)
                dying = process
                wait_until(lambda: True if dying.poll() is not None else None, timeout=15,  # noqa: B023
                           what=f"the Orchestrator to die at {point}")
                assert process.returncode == -signal.SIGKILL and not fuse.exists()
                process = deployment.start("orchestrator", "--port", str(deployment.port))
                wait_healthy(deployment.url, process)
                assert delivered(client, job_id)["state"] == "delivered"
                assert_signed(client, receiver, job_id)
                if len(receiver.of(job_id)) > 1:
                    duplicates.add(point)
    finally:
        deployment.close()
    assert duplicates <= {"sent"}


def test_a_job_with_a_webhook_costs_five_more_dynamodb_writes_and_two_reads(
    stack: Stack, receiver: Receiver
) -> None:
    """Given an Orchestrator and a Worker on DynamoDB, SQS and S3 (each client counted)
    When a job with a webhook runs and is delivered at the first attempt
    Then the Orchestrator's DynamoDB requests are a job's (create, steps) plus: the
    terminal write refused for its webhook, the two-item transaction of the end and its
    delivery, the claim and the attempt's record (writes); the Query of due deliveries
    and the job's read for the body (reads). SQS and S3 are unchanged."""
    settings = {"webhook_secret": SECRET, "webhook_allow_private": True}
    with running_service(stack, **settings) as service:
        checker = open_dynamodb_store(stack.settings(), stack.emulator.admin)  # not counted
        service.requests.take()
        body = {"seed": 3, "webhook": {"url": receiver.url}}
        job_id = httpx.post(f"{service.url}/jobs", json=body).json()["id"]

        def settled() -> bool | None:
            log = checker.delivery_log(job_id)
            acked = service.requests.counts[("worker", "sqs", "DeleteMessage")]
            return True if acked and log is not None and log.state is DeliveryState.DELIVERED else None

        wait_until(settled, timeout=60, what="the job and its webhook")
        counts = service.requests.take()
        steps = len(checker.get(job_id).steps)
        checker.close()

    print("AWS requests of one job with a webhook:")
    for key in sorted(counts):
        print(f"| {key[0]}: {key[1]} {key[2]} | {counts[key]} |")
    dynamodb = {key[2]: n for key, n in counts.items() if key[1] == "dynamodb"}
    assert dynamodb == {
        "PutItem": 1, "UpdateItem": steps + 3, "TransactWriteItems": 2, "Query": 1, "GetItem": 1,
    }
    assert Requests.total(counts, "dynamodb", DYNAMODB_WRITES) == steps + 6
    assert Requests.total(counts, "dynamodb", DYNAMODB_READS) == 2
    assert Requests.total(counts, "sqs") == 3 and len(receiver.of(job_id)) == 1
