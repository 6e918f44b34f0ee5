"""The viewer's designer controls (CONTRACT §4.1) in a real browser: the Constraints
section and the Prefab rooms editor sent as the spec's ``constraints`` and ``prefabs``, a
422's nested field path shown beside its field, and the critical path and prefab rooms
marked over the picture with a legend.

Tests that need the server to know ``constraints`` and ``prefabs`` skip, saying so, on a
server that refuses them as unknown fields (before issue 21's spec fields are merged).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from levelforge.generation import generate_level
from levelforge.generation.export import EXPORTS
from levelforge.generation.export import svg as svg_export
from tests.e2e.conftest import Deployment
from tests.generation.designs import EXAMPLE, SHRINE

from .test_viewer import create_job, finished_job, internal, wait_for_picture

pytestmark = pytest.mark.e2e
ISSUE_SPEC = EXAMPLE  # the issue's curl example (tests/generation/designs.py)
WEB = Path(__file__).parents[2] / "src" / "levelforge" / "web"
TIMES = "\N{MULTIPLICATION SIGN}"
PLAIN = {"width": 64, "height": 40, "rooms": 12, "difficulty": 3, "theme": "dungeon", "loops": 0.15}


def require_design_fields(client: httpx.Client) -> None:
    """Skip, naming why, when this server refuses ``constraints``/``prefabs`` as unknown."""
    response = client.post("/jobs", json=ISSUE_SPEC)
    details = response.json().get("details") if response.status_code == 422 else None
    unknown = [d for d in details or [] if d.get("type") == "extra_forbidden"]
    if unknown:
        pytest.skip(f"this server does not know the spec fields of issue 21 yet: {unknown}")


def open_design_sections(page: Page) -> None:
    for section in ("#constraints-section", "#prefabs-section"):
        if not page.locator(section).evaluate("details => details.open"):
            page.locator(f"{section} summary").click()


def add_prefab(page: Page, number: int, *, name: str, rows: list[str], count: str, placement: str) -> None:
    page.get_by_role("button", name="Add a prefab").click()
    page.get_by_label(f"Prefab {number} Name", exact=True).fill(name)
    page.get_by_label(f"Prefab {number} Count", exact=True).fill(count)
    page.get_by_label(f"Prefab {number} Placement", exact=True).select_option(placement)
    page.get_by_label(f"Prefab {number} Map", exact=True).fill("\n".join(rows) + "\n")


def submitted_spec(page: Page) -> dict[str, Any]:
    """Submit the form and return the JSON body of the POST /jobs it sent."""
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/jobs")) as request:
        page.get_by_role("button", name="Generate level").click()
    body: dict[str, Any] = json.loads(request.value.post_data or "")
    return body


def test_the_designers_controls_are_sent_as_constraints_and_prefabs(service: Deployment, page: Page) -> None:
    """Given the form with ranges, pacing and three prefab rooms, the second one removed
    When it is submitted
    Then the body holds exactly the ranges given (an empty bound left out), the pacing and
    the two remaining prefabs, each map as its rows (line ends and trailing blanks gone)."""
    page.goto(service.url + "/")
    page.get_by_label("Seed", exact=True).fill("7")
    page.get_by_label("Rooms", exact=True).fill("14")
    open_design_sections(page)
    page.get_by_label("Critical path rooms min", exact=True).fill("6")
    page.get_by_label("Locks min", exact=True).fill("2")
    page.get_by_label("Locks max", exact=True).fill("3")
    page.get_by_label("Treasures min", exact=True).fill("3")
    page.get_by_label("Pacing", exact=True).select_option("rising")
    add_prefab(page, 1, name="shrine", rows=SHRINE, count="1", placement="side")
    add_prefab(page, 2, name="gone", rows=["#####"], count="2", placement="any")
    add_prefab(page, 3, name="vault", rows=["#####", "#.e.#  ", "+...#", "#.$.#", "#####"], count="2",
               placement="critical")
    page.get_by_role("button", name="Remove prefab 2").click()
    expect(page.get_by_label("Prefab 2 Name", exact=True)).to_have_value("vault")
    expect(page.locator("#prefab-count")).to_have_text("(2)")

    body = submitted_spec(page)

    assert body == {
        **PLAIN,
        "seed": 7,
        "rooms": 14,
        "constraints": ISSUE_SPEC["constraints"],
        "prefabs": [
            {"name": "shrine", "map": SHRINE, "count": 1, "placement": "side"},
            {"name": "vault", "map": ["#####", "#.e.#", "+...#", "#.$.#", "#####"], "count": 2,
             "placement": "critical"},
        ],
    }


def test_a_spec_without_design_sends_neither_field(service: Deployment, page: Page) -> None:
    """Given the form whose constraints are cleared again and whose only prefab is removed
    When it is submitted
    Then the body has neither ``constraints`` nor ``prefabs``: the spec is as it always was."""
    page.goto(service.url + "/")
    open_design_sections(page)
    page.get_by_label("Enemies max", exact=True).fill("4")
    page.get_by_label("Enemies max", exact=True).fill("")
    add_prefab(page, 1, name="shrine", rows=SHRINE, count="1", placement="side")
    page.get_by_role("button", name="Remove prefab 1").click()

    body = submitted_spec(page)

    assert body == PLAIN
    expect(page).to_have_url(re.compile(r"/#/jobs/[0-9A-Z]{26}$"))


REFUSAL = {
    "error": "validation_error",
    "message": "prefabs[1].map: the door at row 0, column 0 is in a corner",
    "details": [
        {"field": "prefabs[1].map", "message": "the door at row 0, column 0 is in a corner"},
        {"field": "prefabs.0.name", "message": "must be 1-32 of [a-z0-9_-]"},
        {"field": "constraints.locks.min", "message": "2 locks do not fit: at most 1 in 2 rooms"},
        {"field": "constraints.pacing", "message": "a prefab holds B while pacing is rising"},
        {"field": "constraints.critical_path_rooms", "message": "min is above max"},
        {"field": "prefabs[1]", "message": "this prefab's copies do not fit"},
    ],
}


def refuse_with(page: Page, body: dict[str, Any]) -> None:
    """POST /jobs answered with this 422 body (the page's other calls go to the server)."""

    def answer(route: Route) -> None:
        if route.request.method == "POST":
            route.fulfill(status=422, json=body)
        else:
            route.continue_()

    page.unroute("**/jobs")
    page.route("**/jobs", answer)


def test_each_nested_field_of_a_422_stands_beside_its_field(service: Deployment, page: Page) -> None:
    """Given the form with constraints and two prefabs, and a server answering 422 with
    contract-style (``prefabs[1].map``) and pydantic-style (``prefabs.0.name``) paths
    When the form is submitted
    Then each message stands beside the field its path names (a range's beside its row, a
    prefab's own beside that prefab), each named field is marked invalid, and the other
    fields are not; the next refusal clears them all and shows only its own."""
    refuse_with(page, REFUSAL)
    page.goto(service.url + "/")
    open_design_sections(page)
    page.get_by_label("Locks min", exact=True).fill("2")
    add_prefab(page, 1, name="shrine", rows=SHRINE, count="1", placement="side")
    add_prefab(page, 2, name="vault", rows=["+####", "#...#", "#...#", "#...#", "#####"], count="1",
               placement="any")

    page.get_by_role("button", name="Generate level").click()

    second, first = page.locator("#prefab-list > li").nth(1), page.locator("#prefab-list > li").nth(0)
    corner = "the door at row 0, column 0 is in a corner"
    expect(second.locator('[data-error-slot="map"]')).to_have_text(corner)
    expect(page.get_by_label("Prefab 2 Map", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(first.locator('[data-error-slot="name"]')).to_have_text("must be 1-32 of [a-z0-9_-]")
    expect(page.get_by_label("Prefab 1 Name", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(second.locator('[data-error-slot=""]')).to_have_text("this prefab's copies do not fit")
    expect(page.locator("#error-constraints-locks")).to_have_text("2 locks do not fit: at most 1 in 2 rooms")
    expect(page.get_by_label("Locks min", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Locks max", exact=True)).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#error-constraints-critical_path_rooms")).to_have_text("min is above max")
    expect(page.locator("#error-constraints-pacing")).to_have_text("a prefab holds B while pacing is rising")
    expect(page.get_by_label("Pacing", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Prefab 1 Map", exact=True)).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#form-error")).to_be_hidden()
    expect(page.locator("#error-rooms")).to_be_hidden()
    assert "#/jobs/" not in page.url

    refuse_with(page, {"error": "validation_error", "message": "constraints.enemies.max: too many",
                       "details": [{"field": "constraints.enemies.max", "message": "too many"}]})
    page.get_by_role("button", name="Generate level").click()
    expect(page.locator("#error-constraints-enemies")).to_have_text("too many")
    expect(page.locator("#spec-form .field-error:visible")).to_have_count(1)
    expect(page.locator("#spec-form [aria-invalid]")).to_have_count(1)
    expect(page.get_by_label("Enemies max", exact=True)).to_be_focused()


def test_a_spec_no_level_can_meet_is_refused_beside_its_field(service: Deployment, page: Page) -> None:
    """Given the form with a prefab whose door stands in a corner, and more locks than the
    rooms allow
    When it is submitted to the real server
    Then the server's own messages stand beside the prefab's map and the locks' row."""
    with service.client() as client:
        require_design_fields(client)
        cornered = {"name": "shrine", "map": ["+####", *SHRINE[1:]], "count": 1, "placement": "any"}
        spec = {"rooms": 3, "constraints": {"locks": {"min": 5}}, "prefabs": [cornered]}
        refusal = client.post("/jobs", json=spec).json()
    messages = {detail["field"]: detail["message"] for detail in refusal["details"]}
    page.goto(service.url + "/")
    page.get_by_label("Rooms", exact=True).fill("3")
    open_design_sections(page)
    page.get_by_label("Locks min", exact=True).fill("5")
    add_prefab(page, 1, name="shrine", rows=["+####", *SHRINE[1:]], count="1", placement="any")

    page.get_by_role("button", name="Generate level").click()

    shown = page.locator("#spec-form .field-error:visible")
    expect(shown.first).to_be_visible()
    texts = " ".join(shown.all_text_contents())
    for field, message in messages.items():
        assert message in texts, f"{field}: {message!r} not shown"
    assert "#/jobs/" not in page.url


def tagged_level(tags: dict[int, str], *, designed: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real level (60x40, 12 rooms) whose scene graph tags the rooms at the critical
    path's positions ``tags`` (position → prefab name; -1: the first room off the path)
    ``prefab:NAME``, as a level with prefabs has them, and its job result (the picture of a
    designed level when ``designed``)."""
    level = generate_level({"seed": 23, "width": 60, "height": 40, "rooms": 12})
    graph = copy.deepcopy(level.scene_graph)
    path = graph["critical_path"]
    side = next(room["id"] for room in graph["rooms"] if room["id"] not in path)
    by_id = {side if position < 0 else path[position]: name for position, name in tags.items()}
    for room in graph["rooms"]:
        if room["id"] in by_id:
            room["tags"].append(f"prefab:{by_id[room['id']]}")
    if designed:
        graph["spec"]["prefabs"] = [{"name": name, "map": SHRINE, "count": 1, "placement": "any"}
                                    for name in sorted(set(tags.values()))]
    _, make_svg = EXPORTS["preview.svg"]
    result = {
        "summary": {"rooms": 12, "doors": graph["stats"]["doors"], "enemies": graph["stats"]["enemies"]},
        "sceneGraph": graph,
        "asciiMinimap": level.minimap,
        "preview": make_svg(graph, level.minimap).decode(),
    }
    return graph, result


def finished_with(orchestrator: Deployment, result: dict[str, Any]) -> str:
    with orchestrator.client() as client:
        job_id = create_job(client, {"seed": 23})
        internal(client, job_id, "complete", {"result": result})
    return job_id


def centres(graph: dict[str, Any]) -> list[tuple[float, float]]:
    rooms = {room["id"]: room["bounds"] for room in graph["rooms"]}
    return [
        (rooms[r]["x"] + rooms[r]["w"] / 2, rooms[r]["y"] + rooms[r]["h"] / 2) for r in graph["critical_path"]
    ]


def test_the_picture_marks_the_critical_path_and_the_prefab_rooms(
    orchestrator: Deployment, page: Page
) -> None:
    """Given a done job whose scene graph tags a room off the critical path ``prefab:shrine``
    and one on it ``prefab:altar``, with a picture that does not mark them
    When its page is opened
    Then over the picture, exactly its size, a line runs through the centres of the
    critical path's rooms in order and each prefab room is outlined with its name; the
    legend names both marks, and the stats list the prefab rooms."""
    graph, result = tagged_level({-1: "shrine", 2: "altar"}, designed=False)
    job_id = finished_with(orchestrator, result)

    page.goto(f"{orchestrator.url}/#/jobs/{job_id}")

    line = page.locator("#marks path.critical-path")
    expect(line).to_have_count(1)
    d = line.get_attribute("d") or ""
    assert [tuple(map(float, point.split())) for point in d[1:].split("L")] == centres(graph)
    outlines = page.locator("#marks .prefab-rooms rect")
    expect(outlines).to_have_count(2)
    rooms = {room["id"]: room for room in graph["rooms"]}
    for rect in outlines.all():
        room = rooms[rect.get_attribute("data-room") or ""]
        assert f"prefab:{rect.get_attribute('data-prefab')}" in room["tags"]
        b = room["bounds"]
        assert [float(rect.get_attribute(a) or "") for a in ("x", "y", "width", "height")] == [
            b["x"] - 0.5, b["y"] - 0.5, b["w"] + 1, b["h"] + 1]
    picture, marks = page.locator("#preview-img"), page.locator("#marks")
    wait_for_picture(page.locator("#preview-img"))
    for zoom in ("fit", "in"):
        if zoom == "in":
            page.get_by_role("button", name="Zoom in").click()
            expect(page.locator("#zoom-level")).to_have_text("125%")
        box, over = picture.bounding_box(), marks.bounding_box()
        assert box is not None and over is not None
        assert all(abs(box[k] - over[k]) <= 1 for k in ("x", "y", "width", "height")), (box, over)
    legend = page.locator("#marks-legend")
    expect(legend).to_be_visible()
    expect(legend).to_contain_text("critical path")
    expect(legend).to_contain_text("prefab room")
    prefabs = page.locator('#stats [data-stat="prefab-rooms"] dd')
    expect(prefabs).to_have_text(f"shrine {TIMES}1, altar {TIMES}1")


def test_a_designed_levels_picture_draws_its_own_marks(orchestrator: Deployment, page: Page) -> None:
    """Given a done job of a designed level (its spec holds ``prefabs``), whose picture
    draws the critical path and the prefab room itself
    When its page is opened
    Then the overlay adds nothing over it, the picture shows, and the legend names both."""
    _, result = tagged_level({-1: "shrine"}, designed=True)
    assert 'class="critical-path"' in result["preview"]
    job_id = finished_with(orchestrator, result)

    page.goto(f"{orchestrator.url}/#/jobs/{job_id}")

    expect(page.locator("#marks")).to_have_attribute("data-drawn", "by-picture")
    expect(page.locator("#marks > *")).to_have_count(0)
    wait_for_picture(page.locator("#preview-img"))
    expect(page.locator("#marks-legend")).to_contain_text("prefab room")
    expect(page.locator('#stats [data-stat="prefab-rooms"] dd')).to_have_text(f"shrine {TIMES}1")


def test_a_level_without_prefabs_marks_its_critical_path_only(orchestrator: Deployment, page: Page) -> None:
    """Given a done job of a level with no prefab rooms
    When its page is opened
    Then the critical path is marked, no room is outlined, and the legend does not name
    prefab rooms."""
    graph, result = tagged_level({}, designed=False)
    job_id = finished_with(orchestrator, result)

    page.goto(f"{orchestrator.url}/#/jobs/{job_id}")

    expect(page.locator("#marks path.critical-path")).to_have_count(1)
    expect(page.locator("#marks .prefab-rooms rect")).to_have_count(0)
    expect(page.locator("#marks-legend")).to_contain_text("critical path")
    expect(page.locator("#legend-prefab")).to_be_hidden()
    expect(page.locator('#stats [data-stat="prefab-rooms"]')).to_have_count(0)
    assert len(graph["critical_path"]) >= 1


def test_the_issues_example_through_the_form(service: Deployment, page: Page) -> None:
    """Given the issue's example spec entered in the form (a served level)
    When it is submitted and the job is done
    Then the job's spec is the example's, its page marks the shrine and the critical path,
    and the stats list the shrine and the treasures."""
    with service.client() as client:
        require_design_fields(client)
    page.goto(service.url + "/")
    page.get_by_label("Seed", exact=True).fill("7")
    page.get_by_label("Rooms", exact=True).fill("14")
    open_design_sections(page)
    page.get_by_label("Critical path rooms min", exact=True).fill("6")
    page.get_by_label("Locks min", exact=True).fill("2")
    page.get_by_label("Locks max", exact=True).fill("3")
    page.get_by_label("Treasures min", exact=True).fill("3")
    page.get_by_label("Pacing", exact=True).select_option("rising")
    add_prefab(page, 1, name="shrine", rows=SHRINE, count="1", placement="side")

    page.get_by_role("button", name="Generate level").click()

    expect(page).to_have_url(re.compile(r"/#/jobs/[0-9A-Z]{26}$"))
    job_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#job-status")).to_have_text("done")
    with service.client() as client:
        job = finished_job(client, job_id)
    assert job["spec"]["constraints"] == ISSUE_SPEC["constraints"]
    assert job["spec"]["prefabs"][0]["map"] == SHRINE
    expect(page.locator('#stats [data-stat="prefab-rooms"] dd')).to_have_text(f"shrine {TIMES}1")
    treasures = int(page.locator('#stats [data-stat="treasures"] dd').inner_text())
    assert treasures >= 3
    expect(page.locator("#marks-legend")).to_contain_text("prefab room")
    expect(page.locator("#job-spec")).to_contain_text(f"prefabs: shrine {TIMES}1")


def test_the_overlay_lays_the_picture_out_as_the_exporter_does() -> None:
    """Given the viewer's overlay script and the SVG exporter
    When their layout constants are compared
    Then they agree (the overlay's units are the picture's tiles only if they do)."""
    script = (WEB / "marks.js").read_text()
    for name in ("MIN_PICTURE_TILES", "LEGEND_UNITS_WIDE", "LEGEND_UNITS_HIGH"):
        match = re.search(rf"export const {name} = (\d+);", script)
        assert match is not None, name
        assert int(match[1]) == getattr(svg_export, name), name
    styles = (WEB / "style.css").read_text()
    assert f"--path: {svg_export.CRITICAL_PATH};" in styles
    assert f"--prefab: {svg_export.PREFAB};" in styles



def test_the_designers_controls_fit_a_phone(service: Deployment, phone: Page) -> None:
    """Given a 390 px wide screen
    When both designer sections are open and a prefab of the widest map is being drawn
    Then nothing is wider than the screen (the map scrolls in its text area), and the
    size hint counts its rows and columns."""
    phone.goto(service.url + "/")
    open_design_sections(phone)
    add_prefab(phone, 1, name="hall", rows=["#" * 32, "#" + "." * 30 + "#", "#" * 32], count="1",
               placement="any")

    expect(phone.locator("#prefab-list .prefab-size")).to_have_text(f"3 rows {TIMES} 32 columns.")
    wide = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert phone.evaluate(wide) == 0
    for label in ("Treasures max", "Prefab 1 Map"):
        box = phone.get_by_label(label, exact=True).bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, label


def test_a_field_the_browser_refuses_is_shown_even_in_a_folded_section(
    service: Deployment, page: Page
) -> None:
    """Given a prefab whose count is 0 (below the field's own minimum), its section folded
    When the form is submitted
    Then the section unfolds so the browser can point at the field, and nothing is sent."""
    page.goto(service.url + "/")
    open_design_sections(page)
    add_prefab(page, 1, name="shrine", rows=SHRINE, count="0", placement="any")
    page.locator("#prefabs-section summary").click()
    expect(page.locator("#prefabs-section")).not_to_have_attribute("open", "")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)

    page.get_by_role("button", name="Generate level").click()

    expect(page.locator("#prefabs-section")).to_have_attribute("open", "")
    assert page.get_by_label("Prefab 1 Count", exact=True).evaluate("input => !input.validity.valid")
    assert sent == []
    assert "#/jobs/" not in page.url
