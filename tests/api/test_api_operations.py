"""GET /healthz, /metrics, /docs, /openapi.json, and the error shape of unknown routes."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from levelforge.api.app import create_app
from levelforge.errors import StoreUnavailable
from tests.api.orchestrator_calls import TOKEN, assert_error, complete, create_job, post_step


class UnavailableStore:
    """A job store whose backend does not answer (only ``ping`` is ever called)."""

    def ping(self) -> None:
        raise StoreUnavailable("the job store did not answer: disk I/O error")

    def close(self) -> None:
        pass


def test_healthz_is_ok_when_the_store_answers(client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_is_503_with_retry_after_when_the_store_does_not_answer(settings, queue, make_client) -> None:
    client = make_client(create_app(settings, UnavailableStore(), queue, consume_dead_letters=False))

    response = client.get("/healthz")

    assert_error(response, 503, "store_unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert "disk I/O" not in response.text


class BrokenStore(UnavailableStore):
    """A job store with a bug: reading a job raises something no handler knows."""

    def get(self, job_id: str) -> None:
        raise RuntimeError(f"unexpected row for {job_id} in /srv/secret/levelforge.db")


def test_unexpected_error_is_a_500_error_body_without_details(settings, queue, make_client) -> None:
    client = make_client(
        create_app(settings, BrokenStore(), queue, consume_dead_letters=False), raise_server_exceptions=False
    )

    response = client.get("/status/01JFZ3K5Q8C4W7R2N6V9XTBHDM")

    assert_error(response, 500, "internal_error")
    assert "/srv/secret" not in response.text
    assert "RuntimeError" not in response.text


def samples(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_counters_move_with_requests(client) -> None:
    before = samples(client)
    assert before[("levelforge_jobs_created_total", ())] == 0
    assert before[("levelforge_steps_recorded_total", ())] == 0
    assert before[("levelforge_step_duplicates_total", ())] == 0

    job = create_job(client)
    client.post("/jobs", json={}, headers={"Idempotency-Key": "m"})
    client.post("/jobs", json={}, headers={"Idempotency-Key": "m"})  # a replay: not created
    post_step(client, job["id"], TOKEN, "plan_layout")
    post_step(client, job["id"], TOKEN, "carve_rooms")
    post_step(client, job["id"], TOKEN, "plan_layout")
    complete(client, job["id"], TOKEN, {"summary": {}})
    post_step(client, job["id"], TOKEN, "connect_rooms")
    complete(client, job["id"], TOKEN, {"summary": {}})

    after = samples(client)
    assert after[("levelforge_jobs_created_total", ())] == 2
    assert after[("levelforge_steps_recorded_total", ())] == 2
    assert after[("levelforge_step_duplicates_total", ())] == 1
    assert after[("levelforge_terminal_conflicts_total", (("operation", "step"),))] == 1
    assert after[("levelforge_terminal_conflicts_total", (("operation", "complete"),))] == 1


def test_metrics_has_a_request_latency_histogram_by_route_template(client) -> None:
    job = create_job(client)
    client.get(f"/status/{job['id']}")
    client.get(f"/status/{job['id']}")

    found = samples(client)

    counts = {
        dict(labels)["route"]: value for (name, labels), value in found.items()
        if name == "levelforge_http_request_duration_seconds_count"
        and dict(labels)["method"] == "GET" and dict(labels)["status"] == "200"
    }
    assert counts.get("/status/{job_id}") == 2, counts
    assert not any(job["id"] in route for route in counts)
    buckets = [
        name for (name, _labels) in found if name == "levelforge_http_request_duration_seconds_bucket"
    ]
    assert buckets


def test_docs_and_openapi_describe_every_route(client) -> None:
    docs = client.get("/docs")
    openapi = client.get("/openapi.json")

    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert openapi.status_code == 200
    paths = openapi.json()["paths"]
    assert {
        "/jobs": {"post", "get"},
        "/status/{job_id}": {"get"},
        "/jobs/{job_id}": {"get"},
        "/jobs/{job_id}/cancel": {"post"},
        "/jobs/{job_id}/artifacts/{name}": {"get"},
        "/healthz": {"get"},
        "/metrics": {"get"},
        "/internal/jobs/{job_id}/step": {"post"},
        "/internal/jobs/{job_id}/complete": {"post"},
        "/internal/jobs/{job_id}/fail": {"post"},
    }.items() <= {path: set(methods) for path, methods in paths.items()}.items()


@pytest.mark.parametrize("path", ["/nope", "/jobs/x/y/z", "/internal", "/status"])
def test_unknown_route_is_404_json(client, path) -> None:
    assert_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/jobs"), ("PUT", "/jobs"), ("POST", "/healthz"), ("GET", "/jobs/{id}/cancel"),
        ("PATCH", "/status/{id}"),
    ],
)
def test_wrong_method_is_405_json(client, method, path) -> None:
    job = create_job(client)

    response = client.request(method, path.format(id=job["id"]))

    assert_error(response, 405, "method_not_allowed")
    assert response.headers.get("allow")
