"""End to end with real processes: `levelforge serve`, `orchestrator` and `worker`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from levelforge.generation import generate_level
from levelforge.worker import PIPELINE_STEPS
from tests.e2e.conftest import Deployment
from tests.e2e.following import assert_complete_run, started, wait_terminal
from tests.e2e.processes import alive, children_of, stop, wait_until

pytestmark = pytest.mark.e2e
LEGEND = set(" #.+L@>k$eB")


def assert_valid_artifacts(client: httpx.Client, job: dict[str, Any]) -> None:
    spec = job["spec"]
    minimap = client.get(f"/jobs/{job['id']}/artifacts/minimap.txt").text
    lines = minimap.split("\n")
    assert lines[-1] == "" and len(lines) == spec["height"] + 1
    assert all(len(line) == spec["width"] for line in lines[:-1])
    assert set(minimap) - {"\n"} <= LEGEND
    graph = client.get(f"/jobs/{job['id']}/artifacts/scene-graph.json").json()
    assert graph["schema"] == "levelforge.scene-graph/1"
    assert len(graph["rooms"]) == spec["rooms"]
    assert graph == job["result"]["sceneGraph"]
    assert minimap == job["result"]["asciiMinimap"]


def test_serve_runs_fifty_jobs_to_done_with_valid_artifacts(deployment: Deployment) -> None:
    """Given `levelforge serve` with 2 workers on the embedded default
    When 50 jobs are submitted at once
    Then every one is done, ran every step once in order, and its artifacts are valid
    and byte-identical to `generate_level` for the same spec."""
    deployment.serve(workers=2)
    specs = [
        {
            "seed": n,
            "width": 40 + n,
            "height": 30 + n % 7,
            "rooms": 1 + n % 15,
            "theme": ("dungeon", "crypt", "cave")[n % 3],
            "difficulty": 1 + n % 10,
        }
        for n in range(50)
    ]
    with deployment.client() as client, ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda spec: client.post("/jobs", json=spec), specs))
        assert [response.status_code for response in created] == [202] * 50
        jobs = list(pool.map(lambda r: wait_terminal(client, r.json()["id"]), created))
        for job in jobs:
            assert job["status"] == "done", job["error"]
            assert_complete_run(job)
            assert_valid_artifacts(client, job)
        level = generate_level(specs[7])
        assert jobs[7]["result"]["asciiMinimap"] == level.minimap
        assert (
            client.get(f"/jobs/{jobs[7]['id']}/artifacts/scene-graph.json").content
            == level.artifacts()["scene-graph.json"]
        )


def test_serve_stops_cleanly_on_sigterm_with_no_process_left(deployment: Deployment) -> None:
    """Given `levelforge serve` with its worker processes
    When it gets SIGTERM
    Then it exits 0 within 10 s and none of its workers is left."""
    serve = deployment.serve(workers=2)
    workers = wait_until(
        lambda: children_of(serve.pid) if len(children_of(serve.pid)) == 2 else None,
        timeout=10,
        what="2 worker processes",
    )
    assert stop(serve, timeout=10) == 0
    assert not [pid for pid in workers if alive(pid)]


def test_serve_stops_cleanly_on_sigint(deployment: Deployment) -> None:
    """Given `levelforge serve`, When it gets SIGINT (Ctrl-C), Then it exits 0 within 10 s."""
    serve = deployment.serve(workers=1)
    serve.send_signal(signal.SIGINT)
    assert serve.wait(timeout=10) == 0


def test_worker_killed_mid_job_and_the_job_still_finishes_once(deployment: Deployment) -> None:
    """Given an Orchestrator and one Worker busy with a large level
    When the Worker is SIGKILLed after some steps are recorded, and a new Worker starts
    Then the job is delivered again after the visibility timeout, finishes `done`,
    and no step is recorded twice."""
    deployment.orchestrator()
    spec = {"seed": 11, "width": 512, "height": 512, "rooms": 2000}
    with deployment.client() as client:
        for attempt in range(5):
            worker = deployment.worker()
            job_id = client.post("/jobs", json={**spec, "seed": spec["seed"] + attempt}).json()["id"]
            job = wait_until(
                lambda job_id=job_id: started(client, job_id), timeout=60, what="first steps", every=0.002
            )
            worker.kill()
            worker.wait()
            if job["status"] == "running" and client.get(f"/status/{job_id}").json()["status"] == "running":
                break
            wait_terminal(client, job_id, timeout=60)  # finished before the kill: try again
        else:
            pytest.fail("never caught a worker mid-job in 5 attempts")
        killed_at = len(client.get(f"/status/{job_id}").json()["steps"])
        deployment.worker()
        job = wait_terminal(client, job_id, timeout=60)
    assert 0 < killed_at < len(PIPELINE_STEPS)
    assert job["status"] == "done", job["error"]
    assert_complete_run(job)


def test_a_message_that_keeps_failing_ends_as_worker_lost(deployment: Deployment) -> None:
    """Given a Worker whose every report is refused (its token is wrong), so it never
    finishes a job and never acknowledges its message
    When the message has been delivered MAX_DELIVERIES times
    Then it goes to the dead-letter queue and the job is failed with `worker_lost`."""
    deployment.env.update({"VISIBILITY_TIMEOUT_SECONDS": "0.3", "MAX_DELIVERIES": "3"})
    deployment.orchestrator()
    deployment.worker(env={**deployment.env, "INTERNAL_TOKEN": "not-the-token"})
    with deployment.client() as client:
        job_id = client.post("/jobs", json={"seed": 5}).json()["id"]
        job = wait_terminal(client, job_id, timeout=30)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "worker_lost"
    assert job["error"]["details"]["deliveries"] == 3
    assert job["steps"] == []


def test_an_orchestrator_restart_loses_no_job(deployment: Deployment) -> None:
    """Given jobs queued on an Orchestrator with no workers
    When it is restarted and workers come
    Then every job finishes: the store and queue are the only state."""
    first = deployment.orchestrator()
    with deployment.client() as client:
        ids = [client.post("/jobs", json={"seed": n}).json()["id"] for n in range(5)]
    assert stop(first) == 0
    deployment.serve(workers=1)
    with deployment.client() as client:
        assert all(wait_terminal(client, job_id)["status"] == "done" for job_id in ids)


def test_generate_prints_the_minimap_the_service_publishes(deployment: Deployment) -> None:
    """Given `levelforge generate --seed 7 --out DIR`
    Then it prints the same minimap as generate_level and writes both artifacts."""
    out = deployment.tmp / "out"
    run = subprocess.run(
        [sys.executable, "-m", "levelforge", "generate", "--seed", "7", "--out", str(out)],
        capture_output=True,
        check=True,
        env=deployment.env,
    )
    level = generate_level({"seed": 7})
    assert run.stdout.decode() == level.minimap
    assert (out / "scene-graph.json").read_bytes() == level.artifacts()["scene-graph.json"]
    assert (out / "minimap.txt").read_text() == level.minimap


def test_generate_names_the_bad_field(deployment: Deployment) -> None:
    """Given an invalid spec on the command line, Then exit 2 and the field is named."""
    run = subprocess.run(
        [sys.executable, "-m", "levelforge", "generate", "--width", "8"],
        capture_output=True,
        check=False,
        env=deployment.env,
    )
    assert run.returncode == 2
    assert b"width" in run.stderr


def test_submit_waits_and_prints_the_minimap(deployment: Deployment) -> None:
    """Given a running service, When `levelforge submit --seed 7 --wait` runs
    Then it shows every step as it arrives and prints the minimap of seed 7."""
    deployment.serve(workers=1)
    run = subprocess.run(
        [sys.executable, "-m", "levelforge", "submit", "--seed", "7", "--wait"],
        capture_output=True,
        check=True,
        timeout=30,
        env={**deployment.env, "ORCHESTRATOR_URL": deployment.url},
    )
    assert run.stdout.decode() == generate_level({"seed": 7}).minimap
    for name in PIPELINE_STEPS:
        assert name.encode() in run.stderr


def test_serve_stops_within_ten_seconds_with_an_event_stream_open(deployment: Deployment) -> None:
    """Given `levelforge serve` and a client following a queued job's event stream
    When serve gets SIGTERM
    Then the stream ends and serve exits 0 well within 10 s."""
    serve = deployment.serve(workers=0)
    with deployment.client() as client:
        job_id = client.post("/jobs", json={"seed": 3}).json()["id"]
        with client.stream("GET", f"/jobs/{job_id}/events") as stream:
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: status"
            signalled_at = time.monotonic()
            serve.send_signal(signal.SIGTERM)
            remaining = list(lines)  # returns once the server ends the stream
            assert serve.wait(timeout=10) == 0
    assert time.monotonic() - signalled_at < 10
    assert not any(line.startswith("event: step") for line in remaining)
