"""Webhooks end to end on the embedded default (issue 19): a real `levelforge serve` (or
`orchestrator`) and a receiver on 127.0.0.1. Every delivery's signature is checked by an
independent implementation of the Standard Webhooks convention (``webhook_receiver``)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Deployment
from tests.e2e.following import assert_complete_run, wait_terminal
from tests.e2e.processes import TOKEN, environment, wait_healthy, wait_until
from tests.e2e.webhook_receiver import SECRET, Receiver, receiving, unused_port, verify

pytestmark = pytest.mark.e2e
SMALL = {"seed": 7, "width": 32, "height": 24, "rooms": 4}
#: rounds of the kill test in the suite (``make chaos`` runs 50)
KILL_ROUNDS = int(os.environ.get("WEBHOOK_KILL_ROUNDS", "3"))
FAULT_POINTS = ("terminal-written", "claimed", "sent")


def client_verify_webhook() -> Callable[..., None] | None:
    """``levelforge.client.verify_webhook`` (raises unless signed), when the build has it."""
    try:
        from levelforge.client import verify_webhook  # type: ignore[attr-defined,unused-ignore]  # noqa: PLC0415
    except ImportError:
        return None
    check: Callable[..., None] = verify_webhook
    return check


def webhook_env(tmp: Path, **extra: str) -> dict[str, str]:
    settings = {
        "VISIBILITY_TIMEOUT_SECONDS": "2", "WEBHOOK_SECRET": SECRET, "WEBHOOK_ALLOW_PRIVATE": "1",
        "WEBHOOK_BACKOFF_BASE_SECONDS": "0.1", "WEBHOOK_TIMEOUT_SECONDS": "1", "WEBHOOK_POLL_SECONDS": "0.5",
    }
    return environment(tmp / "levelforge.db", **(settings | extra))


@pytest.fixture
def hooks(tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment(tmp=tmp_path, env=webhook_env(tmp_path))
    try:
        yield deployment
    finally:
        deployment.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiving()


def create(client: httpx.Client, url: str, spec: dict[str, Any] | None = None) -> str:
    answer = client.post("/jobs", json={**(spec or SMALL), "webhook": {"url": url}})
    assert answer.status_code == 202, answer.text
    job_id: str = answer.json()["id"]
    return job_id


def delivered(client: httpx.Client, job_id: str, timeout: float = 20.0) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        log: dict[str, Any] = client.get(f"/jobs/{job_id}/deliveries").json()
        return log if log["state"] in ("delivered", "abandoned") else None

    return wait_until(settled, timeout=timeout, what=f"job {job_id}'s webhook", every=0.05)


def assert_signed_resource(client: httpx.Client, receiver: Receiver, job_id: str) -> dict[str, Any]:
    """Every POST the receiver got for the job is signed, carries one webhook-id, and its
    body is the job's resource exactly as GET /jobs/{id} answers it."""
    hits = receiver.of(job_id)
    assert hits, f"no webhook for {job_id}"
    assert all(verify(hit.headers, hit.body) for hit in hits)
    assert not verify(hits[0].headers, hits[0].body + b" ")  # the check can fail
    client_check = client_verify_webhook()
    if client_check is not None:  # the Python client's helper, once it is part of the build
        for hit in hits:
            client_check(hit.headers, hit.body, SECRET)
    assert {hit.headers["webhook-id"] for hit in hits} == {f"msg_{job_id}"}
    assert all(abs(int(hit.headers["webhook-timestamp"]) - time.time()) < 60 for hit in hits)
    resource = client.get(f"/jobs/{job_id}").json()
    assert hits[-1].job == resource
    assert hits[-1].headers["content-type"] == "application/json"
    return resource


def test_every_terminal_status_is_delivered_signed(hooks: Deployment, receiver: Receiver) -> None:
    """Given an Orchestrator alone and a receiver
    When one job is cancelled, one failed by a worker's report, and one done by a real
    Worker started afterwards
    Then each is POSTed once, signed, with its resource as GET /jobs/{id} answers it,
    and GET /jobs/{id}/deliveries shows one attempt answered 200."""
    hooks.orchestrator()
    internal = {"X-INTERNAL-TOKEN": TOKEN}
    with hooks.client() as client:
        cancelled = create(client, receiver.url)
        assert client.post(f"/jobs/{cancelled}/cancel").status_code == 200
        failed = create(client, receiver.url)
        failure = {"error": {"message": "The level could not be generated.", "code": "generation_failed"}}
        assert client.post(f"/internal/jobs/{failed}/fail", json=failure, headers=internal).status_code == 200
        done = create(client, receiver.url)
        hooks.worker()
        assert_complete_run(wait_terminal(client, done))
        outcomes = {}
        for job_id in (cancelled, failed, done):
            log = delivered(client, job_id)
            resource = assert_signed_resource(client, receiver, job_id)
            outcomes[job_id] = (resource["status"], (resource["error"] or {}).get("code"))
            assert log["state"] == "delivered" and log["webhookId"] == f"msg_{job_id}"
            assert [attempt["statusCode"] for attempt in log["deliveries"]] == [200]
            assert log["deliveries"][0]["latencyMs"] >= 0 and log["deliveries"][0]["error"] is None
            assert len(receiver.of(job_id)) == 1
    assert outcomes == {
        cancelled: ("failed", "cancelled"), failed: ("failed", "generation_failed"), done: ("done", None)
    }


def test_the_python_client_asks_for_a_webhook_and_verifies_it(hooks: Deployment, receiver: Receiver) -> None:
    """Given a real serve, When the Python client creates a job with `webhook=` and waits,
    Then the receiver gets the done job, which the client's `verify_webhook` accepts and
    refuses once its body is changed."""
    from levelforge.client import Client, WebhookVerificationError, verify_webhook  # noqa: PLC0415

    hooks.serve(workers=1)
    with Client(hooks.url) as levelforge:
        job = levelforge.create(SMALL, webhook=receiver.url)
        assert levelforge.wait(job, timeout=60).status == "done"
    with hooks.client() as client:
        assert delivered(client, job.id)["state"] == "delivered"
        assert_signed_resource(client, receiver, job.id)
    [hit] = receiver.of(job.id)
    verify_webhook(hit.headers, hit.body, SECRET)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(hit.headers, hit.body.replace(b"done", b"fail"), SECRET)


def test_a_receiver_failing_three_times_gets_four_attempts_with_one_id(hooks: Deployment) -> None:
    """Given a receiver that answers 500 three times, then 200
    When a job with its webhook is done
    Then it gets 4 attempts, all with the same webhook-id and a valid signature, spaced by
    a growing backoff; the deliveries show 500, 500, 500, 200 and `delivered`."""
    hooks.serve(workers=1)
    for receiver in receiving([500, 500, 500]):
        with hooks.client() as client:
            job_id = create(client, receiver.url)
            log = delivered(client, job_id)
            assert_signed_resource(client, receiver, job_id)
        assert [attempt["statusCode"] for attempt in log["deliveries"]] == [500, 500, 500, 200]
        assert log["state"] == "delivered"
        assert len(receiver.of(job_id)) == 4
        assert {attempt["webhookId"] for attempt in log["deliveries"]} == {f"msg_{job_id}"}
        assert log["deliveries"][0]["response"] == "ok"


def test_a_receiver_down_at_first_still_gets_the_webhook(hooks: Deployment) -> None:
    """Given a receiver's port that refuses connections for the first 2 seconds
    When a job with a webhook to it ends meanwhile
    Then the attempts record the refused connections, and once the receiver listens it
    gets the job, signed."""
    hooks.serve(workers=1)
    receiver = Receiver(port=unused_port())
    with hooks.client() as client:
        job_id = create(client, receiver.url)
        wait_terminal(client, job_id)

        def refused_once() -> bool | None:
            attempts = client.get(f"/jobs/{job_id}/deliveries").json()["deliveries"]
            return True if attempts and attempts[0]["error"] else None

        wait_until(refused_once, timeout=10, what="a refused attempt")
        time.sleep(max(0.0, 2.0 - 0.1))  # the receiver stays down 2 s (this is the outage)
        receiver.start()
        try:
            log = delivered(client, job_id)
            assert_signed_resource(client, receiver, job_id)
        finally:
            receiver.stop()
    attempts = log["deliveries"]
    assert log["state"] == "delivered" and attempts[-1]["statusCode"] == 200
    refused = attempts[:-1]
    assert all(hit["statusCode"] is None and "connection failed" in hit["error"] for hit in refused)
    assert len(attempts) >= 2 and len(receiver.of(job_id)) == 1


def test_an_orchestrator_killed_between_the_end_and_the_delivery_still_delivers(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Given an Orchestrator that SIGKILLs itself at one of three instants, round after
    round: right after writing a job's end, after claiming its delivery, and after the
    receiver answered but before the attempt is recorded
    When it is started again each time
    Then every job's webhook arrives (0 lost), a job's POSTs all carry its one webhook-id
    and a valid signature, and only a kill after sending gives a duplicate. (``make
    chaos`` runs 50 rounds, ``WEBHOOK_KILL_ROUNDS``.)"""
    fuse = tmp_path / "fuse"
    env = webhook_env(tmp_path, WEBHOOK_TIMEOUT_SECONDS="0.25", LEVELFORGE_FAULT_KILL_IN_WEBHOOK=str(fuse))
    deployment = Deployment(tmp=tmp_path, env=env)
    internal = {"X-INTERNAL-TOKEN": TOKEN}
    jobs: list[tuple[str, str]] = []
    try:
        process = deployment.orchestrator()
        with deployment.client() as client:
            for round_ in range(KILL_ROUNDS):
                point = FAULT_POINTS[round_ % len(FAULT_POINTS)]
                job_id = create(client, receiver.url)
                fuse.write_text(point)
                with contextlib.suppress(httpx.TransportError):  # the kill may answer this request
                    client.post(f"/internal/jobs/{job_id}/complete", json={"result": {}}, headers=internal)
                dying = process
                wait_until(lambda: True if dying.poll() is not None else None, timeout=15,  # noqa: B023
                           what=f"the Orchestrator to die at {point}")
                assert process.returncode == -signal.SIGKILL and not fuse.exists()
                process = deployment.start("orchestrator", "--port", str(deployment.port))
                wait_healthy(deployment.url, process)
                log = delivered(client, job_id)
                assert log["state"] == "delivered", (point, log)
                assert_signed_resource(client, receiver, job_id)
                jobs.append((job_id, point))
    finally:
        deployment.close()
    duplicates = {point for job_id, point in jobs if len(receiver.of(job_id)) > 1}
    assert duplicates <= {"sent"}
    assert all(len(receiver.of(job_id)) >= 1 for job_id, _ in jobs)
