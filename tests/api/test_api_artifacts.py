"""GET /jobs/{id}/artifacts/{name} in demo mode (CONTRACT §2, §3, §5): inline copies only."""

from __future__ import annotations

import pytest

from levelforge.artifacts.results import decoded, publish
from levelforge.generation import generate_level
from levelforge.jobs import ARTIFACTS, new_job_id
from tests.api.orchestrator_calls import TOKEN, assert_error, complete, create_job

SPEC = {"seed": 42, "width": 48, "height": 32, "rooms": 6}
CONTENT_TYPES = {
    "scene-graph.json": "application/json",
    "minimap.txt": "text/plain; charset=utf-8",
    "tiled.json": "application/json",
    "preview.svg": "image/svg+xml",
}


@pytest.fixture(scope="module")
def level():
    return generate_level(dict(SPEC))


def done_job(client, level, names: tuple[str, ...] | None = None) -> tuple[str, dict[str, bytes]]:
    """A job completed as a worker completes it, with these of the level's artifacts."""
    job = create_job(client, SPEC)
    produced = {
        name: data for name, data in level.artifacts().items() if names is None or name in names
    }
    result = decoded(publish(job["id"], level.summary, produced, None, 65536))
    assert complete(client, job["id"], TOKEN, result).status_code == 200
    return job["id"], produced


def test_the_artifact_names_are_the_contracts() -> None:
    assert {name: content_type for name, (_field, content_type) in ARTIFACTS.items()} == CONTENT_TYPES


def test_scene_graph_is_served_byte_for_byte_as_json(client, level) -> None:
    job_id, produced = done_job(client, level)

    response = client.get(f"/jobs/{job_id}/artifacts/scene-graph.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == produced["scene-graph.json"]


def test_minimap_is_served_byte_for_byte_as_utf8_text(client, level) -> None:
    job_id, produced = done_job(client, level)

    response = client.get(f"/jobs/{job_id}/artifacts/minimap.txt")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.content == produced["minimap.txt"]
    assert response.text == level.minimap


def test_every_produced_artifact_is_served_with_its_content_type(client, level) -> None:
    job_id, produced = done_job(client, level)
    assert {"scene-graph.json", "minimap.txt"} <= set(produced)

    for name, data in produced.items():
        response = client.get(f"/jobs/{job_id}/artifacts/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == CONTENT_TYPES[name], name
        assert response.content == data, name


@pytest.mark.parametrize("name", ["tiled.json", "preview.svg"])
def test_artifact_not_produced_is_404(client, level, name) -> None:
    job_id, _produced = done_job(client, level, names=("scene-graph.json", "minimap.txt"))

    assert_error(client.get(f"/jobs/{job_id}/artifacts/{name}"), 404, "not_found")


@pytest.mark.parametrize(
    "name", ["foo.txt", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "scene-graph.JSON", "minimap.txt%00", "result"]
)
def test_unknown_artifact_name_is_404(client, level, name) -> None:
    job_id, _produced = done_job(client, level)

    assert_error(client.get(f"/jobs/{job_id}/artifacts/{name}"), 404, "not_found")


def test_path_traversal_never_reaches_a_file(client, level) -> None:
    job_id, _produced = done_job(client, level)

    base = f"/jobs/{job_id}/artifacts"
    for path in (f"{base}/../../etc/passwd", f"{base}/%2e%2e/%2e%2e/etc/passwd"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"root:" not in response.content


@pytest.mark.parametrize("name", list(CONTENT_TYPES))
def test_artifact_of_a_job_not_done_is_404(client, name) -> None:
    job = create_job(client, SPEC)

    assert_error(client.get(f"/jobs/{job['id']}/artifacts/{name}"), 404, "not_found")
    client.post(f"/jobs/{job['id']}/cancel")
    assert_error(client.get(f"/jobs/{job['id']}/artifacts/{name}"), 404, "not_found")


@pytest.mark.parametrize("name", list(CONTENT_TYPES))
def test_artifact_of_an_unknown_job_is_404(client, name) -> None:
    assert_error(client.get(f"/jobs/{new_job_id()}/artifacts/{name}"), 404, "not_found")


def test_done_job_resource_carries_inline_copies(client, level) -> None:
    job_id, _produced = done_job(client, level)

    result = client.get(f"/status/{job_id}").json()["result"]

    assert result["summary"] == dict(level.summary)
    assert result["sceneGraph"] == level.scene_graph
    assert result["asciiMinimap"] == level.minimap
    assert not any(key.endswith(("Key", "Url")) for key in result)
