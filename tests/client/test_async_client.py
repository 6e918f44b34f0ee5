"""``AsyncClient`` against a real ``serve``: the same calls as ``Client``, awaited."""

from __future__ import annotations

import asyncio

import pytest

from levelforge.client import AsyncClient, Conflict, NotFound, Retries, ServiceUnreachable, WaitTimeout
from levelforge.generation import generate_level
from levelforge.worker import PIPELINE_STEPS
from tests.client.proxy import Action, Proxy
from tests.e2e.conftest import Deployment
from tests.e2e.processes import free_port

pytestmark = pytest.mark.e2e
SPEC = {"seed": 11, "width": 40, "height": 40, "rooms": 8, "theme": "cave"}


def test_create_wait_and_artifacts_of_several_jobs_at_once(deployment: Deployment) -> None:
    """Given `serve` with two workers
    When an AsyncClient creates three jobs and waits for them all at once (event streams)
    Then each is done with every step reported once, and its Tiled map and minimap are
    `generate_level`'s bytes."""
    deployment.serve(workers=2)
    specs = [{**SPEC, "seed": SPEC["seed"] + n} for n in range(3)]

    async def run() -> None:
        async with AsyncClient(deployment.url) as client:
            jobs = await asyncio.gather(*(client.create(spec) for spec in specs))
            seen: dict[str, list[str]] = {job.id: [] for job in jobs}
            finished = await asyncio.gather(
                *(
                    client.wait(job, timeout=60, on_step=lambda step, job=job: seen[job.id].append(step.name))
                    for job in jobs
                )
            )
            for spec, job in zip(specs, finished, strict=True):
                assert job.status.value == "done"
                assert seen[job.id] == list(PIPELINE_STEPS)
                expected = generate_level(spec).artifacts()
                assert await client.artifact(job, "tiled.json") == expected["tiled.json"]
                assert await client.artifact(job.id, "minimap.txt") == expected["minimap.txt"]
            listed = [job.id async for job in client.iter_jobs(limit=2)]
            assert sorted(listed) == sorted(job.id for job in jobs)

    asyncio.run(run())


def test_get_cancel_wait_timeout_and_errors(deployment: Deployment) -> None:
    """Given `serve` with no workers
    Then an AsyncClient's wait times out on a queued job, cancel fails it, a second cancel
    is a Conflict, an unknown job NotFound, and no server at all ServiceUnreachable."""
    deployment.serve(workers=0)

    async def run() -> None:
        async with AsyncClient(deployment.url) as client:
            job = await client.create(SPEC)
            with pytest.raises(WaitTimeout):
                await client.wait(job, timeout=0.3)
            cancelled = await client.cancel(job)
            assert cancelled.error is not None and cancelled.error.code == "cancelled"
            assert (await client.wait(job, timeout=5)).status.value == "failed"
            assert (await client.get(job.id)).status.value == "failed"
            with pytest.raises(Conflict):
                await client.cancel(job.id)
            with pytest.raises(NotFound):
                await client.get("01JFZ3K5Q8C4W7R2N6V9XTBHDM")
            page = await client.list(status="failed")
            assert [listed.id for listed in page.jobs] == [job.id]
        retries = Retries(attempts=2, backoff=0.01)
        async with AsyncClient(f"http://127.0.0.1:{free_port()}", retries=retries) as nowhere:
            with pytest.raises(ServiceUnreachable):
                await nowhere.get(job.id)

    asyncio.run(run())


def test_a_connection_reset_mid_create_makes_one_job(deployment: Deployment) -> None:
    """Given `serve` behind a proxy that forwards the first create and then resets the
    connection, When an AsyncClient creates a job, Then one job, replayed on the retry."""
    deployment.serve(workers=0)
    resets: list[bool] = []

    def decide(method: str, path: str) -> Action | None:
        if method == "POST" and not resets:
            resets.append(True)
            return "reset_after_forward"
        return None

    async def run(url: str) -> str:
        async with AsyncClient(url) as client:
            return (await client.create(SPEC)).id

    with Proxy(deployment.url, decide) as proxy:
        job_id = asyncio.run(run(proxy.url))
        lost, replayed = proxy.requests_to("POST", "/jobs")
        assert lost.status is None and replayed.replayed
        assert lost.idempotency_key == replayed.idempotency_key
    with deployment.client() as direct:
        assert [job["id"] for job in direct.get("/jobs").json()["jobs"]] == [job_id]
