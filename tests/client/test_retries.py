"""The client's retries against a real ``serve``: a 429 from the rate limit and a 503 are
tried again after their ``Retry-After``; a connection reset after the request reached the
server is tried again with the same idempotency key, and makes one job, not two."""

from __future__ import annotations

import pytest

from levelforge.client import Client, Retries, ServiceUnreachable
from tests.client.proxy import Action, Proxy
from tests.e2e.conftest import Deployment
from tests.e2e.processes import free_port

pytestmark = pytest.mark.e2e


def first_create(upstream: str, action: Action) -> Proxy:
    """A proxy to ``upstream`` that does ``action`` to the first ``POST /jobs`` and forwards
    everything else."""
    done: list[bool] = []

    def decide(method: str, path: str) -> Action | None:
        if method == "POST" and path == "/jobs" and not done:
            done.append(True)
            return action
        return None

    return Proxy(upstream, decide)


def test_a_rate_limited_create_is_retried_after_retry_after(deployment: Deployment) -> None:
    """Given `serve` with RATE_LIMIT_PER_MINUTE=1 and one job already created this minute
    When the client creates another
    Then the server's 429 names the seconds left in the minute, the client tries again no
    sooner than that, with the same idempotency key, and the job is created."""
    deployment.env["RATE_LIMIT_PER_MINUTE"] = "1"
    deployment.serve(workers=0)
    with Proxy(deployment.url) as proxy, Client(proxy.url) as client:
        client.create({"seed": 1})
        job = client.create({"seed": 2})
        assert job.spec["seed"] == 2
        limited, created = proxy.requests_to("POST", "/jobs")[1:]
        assert limited.status == 429 and limited.retry_after is not None
        assert created.status == 202
        assert created.idempotency_key == limited.idempotency_key is not None
        assert created.at - limited.at >= int(limited.retry_after) - 1  # Retry-After rounds up
        assert len(client.list().jobs) == 2


def test_a_503_is_retried_after_retry_after(deployment: Deployment) -> None:
    """Given `serve` behind a proxy that answers the first create with 503 and Retry-After: 1
    When the client creates a job
    Then it tries again a second later with the same idempotency key, and one job is made."""
    deployment.serve(workers=0)
    with first_create(deployment.url, "unavailable") as proxy, Client(proxy.url) as client:
        job = client.create({"seed": 3})
        refused, created = proxy.requests_to("POST", "/jobs")
        assert (refused.status, refused.retry_after, created.status) == (503, "1", 202)
        assert created.idempotency_key == refused.idempotency_key is not None
        assert created.at - refused.at >= 1.0
        assert [listed.id for listed in client.list().jobs] == [job.id]


def test_a_connection_reset_mid_create_makes_one_job(deployment: Deployment) -> None:
    """Given `serve` behind a proxy that forwards the first create to the server and then
    resets the client's connection before the answer
    When the client creates a job
    Then it tries again with the same idempotency key, gets the job the first try made
    (an idempotent replay), and GET /jobs lists one job, not two."""
    deployment.serve(workers=0)
    with first_create(deployment.url, "reset_after_forward") as proxy, Client(proxy.url) as client:
        job = client.create({"seed": 4})
        lost, replayed = proxy.requests_to("POST", "/jobs")
        assert lost.status is None and lost.upstream_status == 202
        assert replayed.status == 200 and replayed.replayed
        assert replayed.idempotency_key == lost.idempotency_key is not None
    with deployment.client() as direct:
        listed = direct.get("/jobs").json()["jobs"]
    assert [found["id"] for found in listed] == [job.id]


def test_no_answer_at_all_is_service_unreachable_after_the_retries() -> None:
    """Given nothing listening on a port, When the client creates a job with 3 tries
    Then ServiceUnreachable, saying how many tries were made."""
    retries = Retries(attempts=3, backoff=0.01)
    with Client(f"http://127.0.0.1:{free_port()}", retries=retries) as client, pytest.raises(
        ServiceUnreachable, match="after 3 tries"
    ):
        client.create({"seed": 5})


def test_a_cancel_whose_answer_was_lost_is_the_cancelled_job(deployment: Deployment) -> None:
    """Given `serve` with no workers behind a proxy that forwards the first cancel and then
    resets the connection
    When the client cancels a queued job
    Then its retry gets 409 (the first try did cancel it) and the client answers the
    cancelled job rather than a Conflict."""
    deployment.serve(workers=0)
    resets: list[bool] = []

    def decide(method: str, path: str) -> Action | None:
        if path.endswith("/cancel") and not resets:
            resets.append(True)
            return "reset_after_forward"
        return None

    with Proxy(deployment.url, decide) as proxy, Client(proxy.url) as client:
        job = client.create({"seed": 6})
        cancelled = client.cancel(job)
        assert cancelled.error is not None and cancelled.error.code == "cancelled"
        lost, conflict = proxy.requests_to("POST", f"/jobs/{job.id}/cancel")
        assert (lost.status, lost.upstream_status, conflict.status) == (None, 200, 409)
