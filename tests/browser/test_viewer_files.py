"""The viewer's files as `levelforge serve` serves them (no browser needed)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Deployment

pytestmark = pytest.mark.e2e
MODULES = (
    "app.js", "api.js", "design.js", "dom.js", "form.js", "job.js", "level.js", "marks.js", "recent.js",
)


def test_the_page_is_served_at_the_root_with_module_scripts_only(service: Deployment) -> None:
    """Given `levelforge serve`
    When `/` is asked for
    Then it is the viewer's HTML, whose scripts are all module files (no inline script or
    event handler, so that a Content-Security-Policy can forbid inline script later)."""
    with service.client() as client:
        response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", response.text, flags=re.S)
    assert scripts == [(' type="module" src="/web/app.js"', "")]
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", response.text, flags=re.I), "an inline event handler"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [*((name, "text/javascript; charset=utf-8") for name in MODULES),
     ("style.css", "text/css; charset=utf-8"), ("index.html", "text/html; charset=utf-8"),
     ("favicon.svg", "image/svg+xml")],
)
def test_each_file_of_the_viewer_has_its_type_and_a_validator(
    service: Deployment, name: str, content_type: str
) -> None:
    """Given a file the viewer ships
    When it is asked for, then asked for again with its ETag
    Then it comes with its content type, then as 304 Not Modified."""
    with service.client() as client:
        response = client.get(f"/web/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == content_type
        assert response.headers["cache-control"] == "no-cache"
        again = client.get(f"/web/{name}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path", ["/web/nothing.js", "/web/..%2Fapi%2Fapp.py", "/web/%2e%2e", "/web/..%2F__init__.py", "/web/"]
)
def test_nothing_but_the_viewers_files_is_served(service: Deployment, path: str) -> None:
    """Given a name that is not one of the viewer's files (a path outside it included)
    When it is asked for
    Then the answer is the contract's 404 JSON error."""
    with service.client() as client:
        response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_the_api_description_lists_the_event_stream_and_not_the_viewer(service: Deployment) -> None:
    """Given `levelforge serve`
    When its OpenAPI description is read
    Then it has the events route, and none of the viewer's."""
    with service.client() as client:
        paths = client.get("/openapi.json").json()["paths"]
        assert client.get("/docs").status_code == 200
    assert "/jobs/{job_id}/events" in paths
    assert not [path for path in paths if path == "/" or path.startswith("/web")]
