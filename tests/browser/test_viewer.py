"""The web viewer in a real browser (headless Chromium), against real levelforge processes.

`service` is `levelforge serve` with 2 workers; `orchestrator` is an Orchestrator alone,
whose jobs move only when a test posts to the internal API as a worker would.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from levelforge.jobs import ARTIFACTS
from levelforge.worker import PIPELINE_STEPS
from tests.e2e.conftest import Deployment
from tests.e2e.processes import TOKEN, wait_until

pytestmark = pytest.mark.e2e
UNKNOWN_ID = "01JFZ3K5Q8C4W7R2N6V9XTBHDM"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
PICTURE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="50" height="30" viewBox="0 0 50 30">'
    '<rect width="50" height="30" fill="#333"/><rect x="5" y="5" width="15" height="10" fill="#eee"/>'
    "<script>parent.__xss = 3</script></svg>"
)
MINIMAP = "#######\n#@.+.>#\n#######\n"
RESULT: dict[str, Any] = {
    "summary": {"rooms": 2, "doors": 1, "enemies": 0},
    "asciiMinimap": MINIMAP,
    "preview": PICTURE,
    "sceneGraph": {"stats": {"rooms": 2, "doors": 1, "locks": 1, "enemies": 0, "loops": 0,
                             "critical_path_rooms": 2, "critical_path_tiles": 9}},
}


def wait_for_picture(picture: Locator) -> None:
    """Wait until the level's picture has loaded. Polled from here: the viewer's CSP
    (``script-src 'self'``) forbids the string predicates ``page.wait_for_function`` evals."""
    wait_until(lambda: picture.evaluate("img => img.complete && img.naturalWidth > 0") or None,
               timeout=10, what="the picture to load")


def produced(result: dict[str, Any]) -> list[str]:
    return [
        name for name, (field, _type) in ARTIFACTS.items()
        if result.get(field) is not None or result.get(f"{field}Key") is not None
    ]


def finished_job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    def terminal() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        return job if job["status"] in ("done", "failed") else None

    return wait_until(terminal, timeout=30, what=f"job {job_id} to finish", every=0.05)


def create_job(client: httpx.Client, spec: dict[str, Any]) -> str:
    response = client.post("/jobs", json=spec)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def internal(client: httpx.Client, job_id: str, what: str, body: dict[str, Any]) -> None:
    response = client.post(f"/internal/jobs/{job_id}/{what}", json=body, headers={"X-INTERNAL-TOKEN": TOKEN})
    assert response.status_code == 200, response.text


def step(job_id: str, name: str, summary: str) -> dict[str, Any]:
    return {
        "stepId": f"{job_id}:{name}", "name": name, "startedAt": "2025-12-25T12:00:00.000Z",
        "endedAt": "2025-12-25T12:00:00.004Z", "durationMs": 4, "summary": summary, "status": "ok",
    }


def fill_spec(page: Page, **values: str) -> None:
    for label, value in values.items():
        field = page.get_by_label(label, exact=True)
        if label == "Theme":
            field.select_option(value)
        else:
            field.fill(value)


def test_a_level_is_generated_watched_seen_downloaded_and_reloaded(
    service: Deployment, page: Page, tmp_path: Path
) -> None:
    """Given `levelforge serve` and the viewer at `/`
    When a designer fills every field of the form and submits
    Then the job's page shows every pipeline step with its summary, the picture (when the
    job produced one) and the minimap, the stats and a download link per artifact; a
    download gives the artifact's bytes; and reloading the job's URL shows the same job."""
    page.goto(service.url + "/")
    fill_spec(page, Seed="7", **{"Width (tiles)": "48", "Height (tiles)": "32"}, Rooms="9",
              Difficulty="4", Theme="crypt", Loops="0.2")
    page.get_by_role("button", name="Generate level").click()
    expect(page).to_have_url(re.compile(r"/#/jobs/[0-9A-Z]{26}$"))
    job_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#spec-form")).to_be_hidden()

    for name in PIPELINE_STEPS:
        expect(page.locator(f'#steps li[data-step="{name}"] .step-summary')).not_to_have_text("")
    expect(page.locator("#job-status")).to_have_text("done")
    with service.client() as client:
        job = finished_job(client, job_id)
        minimap = client.get(f"/jobs/{job_id}/artifacts/minimap.txt").text
        downloads = {
            name: client.get(f"/jobs/{job_id}/artifacts/{name}").content for name in produced(job["result"])
        }
    assert job["spec"] == {"seed": 7, "width": 48, "height": 32, "rooms": 9, "difficulty": 4,
                           "theme": "crypt", "loops": 0.2}
    assert [s["summary"] for s in job["steps"]] == page.locator("#steps .step-summary").all_text_contents()

    assert page.locator("#minimap").text_content() == minimap
    picture = page.locator("#preview-img")
    if "preview.svg" in downloads:
        expect(picture).to_be_visible()
        expect(picture).to_have_attribute("src", f"/jobs/{job_id}/artifacts/preview.svg")
        wait_for_picture(picture)
        page.get_by_role("button", name="Zoom in").click()
        expect(page.locator("#zoom-level")).to_have_text("125%")
    else:
        expect(picture).to_be_hidden()
        expect(page.locator("#preview-missing")).to_be_visible()
    expect(page.locator('#stats [data-stat="rooms"] dd')).to_have_text("9")
    expect(page.locator('#stats [data-stat="critical-path"] dd')).to_contain_text("rooms")

    links = page.locator("#downloads a")
    expect(links).to_have_count(len(downloads))
    for name, expected in downloads.items():
        with page.expect_download() as download:
            page.get_by_role("link", name=name, exact=True).click()
        target = tmp_path / name
        download.value.save_as(target)
        assert target.read_bytes() == expected, name

    page.reload()
    expect(page.locator("#job-id")).to_have_text(job_id)
    expect(page.locator("#job-status")).to_have_text("done")
    expect(page.locator("#steps li")).to_have_count(len(PIPELINE_STEPS))
    assert page.locator("#minimap").text_content() == minimap


def test_steps_arrive_live_without_a_reload(orchestrator: Deployment, page: Page) -> None:
    """Given a queued job's page is open
    When a worker posts the steps one by one, then completes the job with a picture
    Then each step appears on the same page as it is posted, then the status, the picture
    (zoomable; a script inside it never runs), the minimap, the stats and the downloads."""
    with orchestrator.client() as client:
        job_id = create_job(client, {"seed": 3})
        page.goto(f"{orchestrator.url}/#/jobs/{job_id}")
        expect(page.locator("#job-status")).to_have_text("queued")
        expect(page.get_by_text("Waiting for a worker")).to_be_visible()
        page.evaluate("window.__samePage = true")
        for count, name in enumerate(PIPELINE_STEPS[:3], 1):
            internal(client, job_id, "step", step(job_id, name, f"did {name}"))
            expect(page.locator("#steps li")).to_have_count(count)
            expect(page.locator(f'#steps li[data-step="{name}"] .step-summary')).to_have_text(f"did {name}")
        expect(page.locator("#job-status")).to_have_text("running")
        expect(page.locator('#steps li[data-step="plan_layout"] .step-duration')).to_have_text("4 ms")
        internal(client, job_id, "complete", {"result": RESULT})
    expect(page.locator("#job-status")).to_have_text("done")
    expect(page.locator("#minimap")).to_have_text(MINIMAP)
    expect(page.locator("#downloads a")).to_have_text(["scene-graph.json", "minimap.txt", "preview.svg"])
    picture = page.locator("#preview-img")
    expect(picture).to_be_visible()
    wait_for_picture(picture)
    width = picture.bounding_box()
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator("#zoom-level")).to_have_text("156%")
    zoomed = picture.bounding_box()
    assert width is not None and zoomed is not None and zoomed["width"] > 1.5 * width["width"]
    expect(page.locator('#stats [data-stat="locks"] dd')).to_have_text("1")
    expect(page.locator('#stats [data-stat="critical-path"] dd')).to_have_text("2 rooms, 9 tiles")
    assert page.evaluate("window.__samePage") is True
    assert page.evaluate("window.__xss") is None


def test_a_refused_spec_shows_the_servers_message_beside_its_field(service: Deployment, page: Page) -> None:
    """Given the form, with sizes and rooms each within the form's own limits
    When the rooms do not fit the size (a rule only the server knows) and it is submitted
    Then the server's 422 message stands beside the rooms field, which is marked invalid."""
    page.goto(service.url + "/")
    fill_spec(page, **{"Width (tiles)": "16", "Height (tiles)": "16"}, Rooms="5")
    page.get_by_role("button", name="Generate level").click()
    error = page.locator("#error-rooms")
    expect(error).to_be_visible()
    expect(error).to_contain_text("5 rooms do not fit in 16x16")
    expect(page.get_by_label("Rooms", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#error-width")).to_be_hidden()
    assert "#/jobs/" not in page.url


def test_a_failed_job_shows_its_error_and_steps_as_text_never_as_html(
    orchestrator: Deployment, page: Page
) -> None:
    """Given a job that completed one step with markup in its summary, then failed with an
    error message made of markup
    When its page is opened
    Then the message and the summary show as literal text, and nothing in them runs."""
    with orchestrator.client() as client:
        job_id = create_job(client, {"seed": 5})
        internal(client, job_id, "step", step(job_id, "plan_layout", XSS))
        internal(client, job_id, "fail", {"error": {"message": XSS, "code": "generation_failed"}})
    page.goto(f"{orchestrator.url}/#/jobs/{job_id}")
    expect(page.locator("#job-status")).to_have_text("failed")
    expect(page.locator("#job-error")).to_be_visible()
    expect(page.locator("#job-error-message")).to_have_text(XSS)
    expect(page.locator("#job-error-code")).to_have_text("code: generation_failed")
    expect(page.locator("#steps .step-summary")).to_have_text([XSS])
    expect(page.locator("#result")).to_be_hidden()
    assert page.locator("main img:not(#preview-img), main script").count() == 0
    page.wait_for_timeout(200)
    assert page.evaluate("window.__xss") is None


def test_an_unknown_job_id_shows_not_found(service: Deployment, page: Page) -> None:
    """Given a job URL whose id no job has (one of them markup)
    When it is opened
    Then a clear "Job not found" view names the id, as text."""
    for job_id, fragment in ((UNKNOWN_ID, UNKNOWN_ID), ("<b>x</b>", "%3Cb%3Ex%3C%2Fb%3E")):
        page.goto(f"{service.url}/#/jobs/{fragment}")
        expect(page.get_by_role("heading", name="Job not found")).to_be_visible()
        expect(page.locator("#not-found-id")).to_have_text(job_id)
        expect(page.locator("#job-view")).to_be_hidden()
        expect(page.locator("#spec-form")).to_be_hidden()
    page.get_by_role("link", name="Generate a level").click()
    expect(page.get_by_role("heading", name="Generate a level")).to_be_visible()


def test_recent_jobs_are_listed_with_their_status(service: Deployment, page: Page) -> None:
    """Given a job that is done
    When the viewer's home is opened
    Then the recent jobs list it with its status, linked to its page."""
    with service.client() as client:
        job_id = create_job(client, {"seed": 11, "rooms": 4})
        finished_job(client, job_id)
    page.goto(service.url + "/")
    item = page.locator("#recent-jobs li", has_text=job_id)
    expect(item.locator(".badge")).to_have_text("done")
    item.get_by_role("link").click()
    expect(page).to_have_url(f"{service.url}/#/jobs/{job_id}")
    expect(page.locator("#job-status")).to_have_text("done")


def test_the_viewer_fits_a_phone(service: Deployment, phone: Page) -> None:
    """Given a 390 px wide screen
    When the form and a done job's page are shown
    Then nothing is wider than the screen (the minimap and picture scroll in their boxes)."""
    with service.client() as client:
        job_id = create_job(client, {"seed": 9, "width": 96, "height": 64, "rooms": 30})
        finished_job(client, job_id)
    wide = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    phone.goto(service.url + "/")
    expect(phone.get_by_label("Rooms", exact=True)).to_be_visible()
    assert phone.evaluate(wide) == 0
    phone.goto(f"{service.url}/#/jobs/{job_id}")
    expect(phone.locator("#minimap")).not_to_be_empty()
    assert phone.evaluate(wide) == 0
    box = phone.locator("#steps").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
