"""The viewer on a server with API keys (CONTRACT §10): it asks for the key when the
server answers 401, keeps it in the tab's sessionStorage, sends it as a bearer on every
call, follows the job's events with fetch (an ``EventSource`` cannot send headers), and
shows the picture and the downloads from blob: URLs, allowed by the page's CSP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from levelforge.worker import PIPELINE_STEPS
from tests.e2e.conftest import Deployment
from tests.e2e.processes import TOKEN, environment, wait_healthy

from .test_viewer import wait_for_picture

ACME = "acme-viewer-key-123"
GLOBEX = "globex-viewer-key-456"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("keyed")
    env = environment(tmp / "levelforge.db", API_KEYS=f"acme:{ACME},globex:{GLOBEX}")
    deployment = Deployment(tmp=tmp, env=env)
    deployment.start("serve", "--workers", "1", "--port", str(deployment.port))
    try:
        wait_healthy(deployment.url, deployment.processes[0])
        yield deployment
    finally:
        deployment.close()


def enter_key(page: Page, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Use").click()


def test_the_viewer_asks_for_a_key_then_runs_a_job_with_it(
    keyed: Deployment, page: Page, tmp_path: Path
) -> None:
    """Given a server with API keys, When the viewer opens, Then it asks for a key; When the
    key is entered and a level generated, Then the steps arrive live, the picture shows
    from a blob: URL, a download gives the artifact's bytes, and a reload keeps the key."""
    page.goto(keyed.url + "/")
    expect(page.locator("#key-needed")).to_be_visible()

    enter_key(page, ACME)
    expect(page.locator("#recent-error")).to_be_hidden()
    page.get_by_label("Rooms", exact=True).fill("6")
    page.get_by_label("Width (tiles)", exact=True).fill("48")
    page.get_by_label("Height (tiles)", exact=True).fill("32")
    page.get_by_role("button", name="Generate level").click()
    expect(page.locator("#job-status")).to_have_text("done")
    job_id = page.url.rsplit("/", 1)[1]

    expect(page.locator("#steps li")).to_have_count(len(PIPELINE_STEPS))
    picture = page.locator("#preview-img")
    expect(picture).to_have_attribute("src", re.compile(r"^blob:"))
    wait_for_picture(picture)
    with page.expect_download() as download:
        page.get_by_role("link", name="minimap.txt", exact=True).click()
    target = tmp_path / "minimap.txt"
    download.value.save_as(target)
    with keyed.client() as client:
        key = {"Authorization": f"Bearer {ACME}"}
        expected = client.get(f"/jobs/{job_id}/artifacts/minimap.txt", headers=key)
    assert target.read_bytes() == expected.content

    page.reload()
    expect(page.locator("#job-status")).to_have_text("done")
    assert page.evaluate("sessionStorage.getItem('levelforge.apiKey')") == ACME

    enter_key(page, GLOBEX)
    expect(page.locator("#not-found-view")).to_be_visible()



@pytest.fixture(scope="module")
def keyed_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """An Orchestrator with API keys and no worker: its jobs move only when a test posts."""
    tmp = tmp_path_factory.mktemp("keyed-alone")
    deployment = Deployment(tmp=tmp, env=environment(tmp / "levelforge.db", API_KEYS=f"acme:{ACME}"))
    deployment.start("orchestrator", "--port", str(deployment.port))
    try:
        wait_healthy(deployment.url, deployment.processes[0])
        yield deployment
    finally:
        deployment.close()


def test_steps_stream_live_with_the_key(keyed_alone: Deployment, page: Page) -> None:
    """Given a queued job and the viewer on it with the key, When steps are recorded one by
    one, Then each appears while the job runs (the fetch-based event stream carries the
    key), and the terminal status ends the stream."""
    key = {"Authorization": f"Bearer {ACME}"}
    internal = {"X-INTERNAL-TOKEN": TOKEN}
    with keyed_alone.client() as client:
        job_id = client.post("/jobs", json={"seed": 5}, headers=key).json()["id"]
        page.goto(keyed_alone.url + "/")
        enter_key(page, ACME)
        page.goto(f"{keyed_alone.url}/#/jobs/{job_id}")
        expect(page.locator("#job-status")).to_have_text("queued")

        for count, name in enumerate(PIPELINE_STEPS[:3], 1):
            step = {
                "stepId": f"{job_id}:{name}", "name": name, "startedAt": "2025-12-25T12:00:00.000Z",
                "endedAt": "2025-12-25T12:00:00.004Z", "durationMs": 4, "summary": f"did {name}",
                "status": "ok",
            }
            client.post(f"/internal/jobs/{job_id}/step", json=step, headers=internal).raise_for_status()
            # sooner than the viewer's reload after a failed stream (2 s): it came as an event
            expect(page.locator("#steps li")).to_have_count(count, timeout=1500)
            expect(page.locator("#job-status")).to_have_text("running", timeout=1500)
        client.post(f"/internal/jobs/{job_id}/fail", json={"error": {"message": "stopped"}}, headers=internal)

    expect(page.locator("#job-status")).to_have_text("failed")
    expect(page.locator("#job-error-message")).to_have_text("stopped")
