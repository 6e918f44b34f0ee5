"""Access control over HTTP (CONTRACT §10): API keys, per-tenant jobs on every route,
idempotency keys per tenant, and the per-tenant rate limit of job creations."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from levelforge.api.app import create_app
from levelforge.config import Settings, load_settings
from levelforge.errors import ConfigurationError
from levelforge.jobs import new_job
from levelforge.queues.local import LocalQueue
from levelforge.stores.sqlite import SqliteJobStore
from tests.api.conftest import ApiClient
from tests.api.orchestrator_calls import TOKEN, assert_error, complete, post_step

ACME, GLOBEX = "key-acme-0123456789", "key-globex-9876543210"
API_KEYS = f"acme:{ACME},globex:{GLOBEX}"
SPEC = {"seed": 42, "width": 48, "height": 32, "rooms": 6}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(internal_token=TOKEN, database_path=db_path, api_keys=API_KEYS)


@pytest.fixture
def acme(client: ApiClient) -> ApiClient:
    client.headers.update(bearer(ACME))
    return client


@pytest.fixture
def globex(app: FastAPI, make_client: Callable[..., ApiClient]) -> ApiClient:
    return make_client(app, headers=bearer(GLOBEX))


def create(client: ApiClient, **headers: str) -> dict[str, Any]:
    response = client.post("/jobs", json=SPEC, headers=headers)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


# --- 401 ---------------------------------------------------------------------------------

PROTECTED = [
    ("POST", "/jobs"), ("GET", "/jobs"), ("GET", "/status/01JFZ3K5Q8C4W7R2N6V9XTBHDM"),
    ("GET", "/jobs/01JFZ3K5Q8C4W7R2N6V9XTBHDM"), ("POST", "/jobs/01JFZ3K5Q8C4W7R2N6V9XTBHDM/cancel"),
    ("GET", "/jobs/01JFZ3K5Q8C4W7R2N6V9XTBHDM/events"),
    ("GET", "/jobs/01JFZ3K5Q8C4W7R2N6V9XTBHDM/artifacts/minimap.txt"),
    ("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/no-such-route"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [{}, bearer("key-of-nobody"), {"Authorization": ACME}, {"Authorization": f"Basic {ACME}"},
     {"Authorization": "Bearer "}, {"X-INTERNAL-TOKEN": TOKEN}],
    ids=["none", "unknown", "no-scheme", "basic", "empty", "internal-token"],
)
def test_a_public_route_without_a_known_key_is_401(client, method, path, headers) -> None:
    """Given API_KEYS, When a public route is called without a known bearer key, Then 401
    `unauthorized`, and the body names no key."""
    response = client.request(method, path, headers=headers)

    assert_error(response, 401, "unauthorized")
    assert ACME not in response.text and GLOBEX not in response.text
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("content", "headers"),
    [(b"{", {}), (b"x" * 70_000, {}), (json.dumps({"rooms": 0}).encode(), {"Idempotency-Key": "x" * 256})],
    ids=["malformed", "too-large", "bad-header"],
)
def test_401_is_judged_before_413_and_422(client, content, headers) -> None:
    """Given API_KEYS, When a bad request comes without a key, Then 401 answers first."""
    response = client.post("/jobs", content=content, headers={"Content-Type": "application/json", **headers})

    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("path", ["/healthz", "/", "/web/app.js", "/web/style.css"])
def test_health_and_the_viewer_files_need_no_key(client, path) -> None:
    assert client.get(path).status_code == 200


def test_internal_routes_need_the_token_not_a_key(acme) -> None:
    """Given API_KEYS, When a worker posts with its token and no key, Then it is accepted."""
    job = create(acme)
    del acme.headers["Authorization"]

    response = post_step(acme, job["id"], TOKEN)

    assert response.status_code == 200, response.text


def test_the_bearer_scheme_is_case_insensitive(client) -> None:
    assert client.get("/jobs", headers={"Authorization": f"bearer {ACME}"}).status_code == 200


# --- ownership ---------------------------------------------------------------------------

def test_the_owner_sees_its_job_and_the_resource_does_not_show_the_tenant(acme) -> None:
    job = create(acme)

    shown = acme.get(f"/jobs/{job['id']}").json()

    assert shown["id"] == job["id"] and "tenant" not in shown and "tenant" not in job


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/status/{id}"), ("GET", "/jobs/{id}"), ("POST", "/jobs/{id}/cancel"),
     ("GET", "/jobs/{id}/events"), ("GET", "/jobs/{id}/artifacts/minimap.txt"),
     ("GET", "/jobs/{id}/artifacts/scene-graph.json")],
)
def test_another_tenants_job_is_404_on_every_route(acme, globex, method, path) -> None:
    """Given a done job of acme, When globex reads, streams, downloads or cancels it, Then
    404 `not_found`, exactly as for a job that does not exist, and the job is unchanged."""
    job = create(acme)
    post_step(acme, job["id"], TOKEN)
    result = {"summary": {}, "asciiMinimap": "#..#", "sceneGraph": {}}
    assert complete(acme, job["id"], TOKEN, result).status_code == 200
    before = acme.get(f"/jobs/{job['id']}").json()

    response = globex.request(method, path.format(id=job["id"]))

    assert_error(response, 404, "not_found")
    assert acme.get(f"/jobs/{job['id']}").json() == before
    assert acme.request(method, path.format(id=job["id"])).status_code in (200, 409)


def test_another_tenant_cannot_cancel_a_running_job(acme, globex) -> None:
    job = create(acme)
    post_step(acme, job["id"], TOKEN)

    assert_error(globex.post(f"/jobs/{job['id']}/cancel"), 404, "not_found")

    assert acme.get(f"/jobs/{job['id']}").json()["status"] == "running"
    assert acme.post(f"/jobs/{job['id']}/cancel").json()["status"] == "failed"


def test_another_tenants_jobs_never_appear_in_a_listing(acme, globex) -> None:
    """Given jobs of both tenants, When each lists (all, by status, page by page), Then it
    sees only its own."""
    mine = [create(acme)["id"] for _ in range(3)]
    theirs = [create(globex)["id"] for _ in range(2)]

    def listed(client: ApiClient, query: str) -> list[str]:
        ids, cursor = [], None
        while True:
            page = client.get(f"/jobs?limit=1&{query}" + (f"&cursor={cursor}" if cursor else "")).json()
            ids += [job["id"] for job in page["jobs"]]
            cursor = page["nextCursor"]
            if cursor is None:
                return ids

    assert listed(acme, "") == mine[::-1]
    assert listed(acme, "status=queued") == mine[::-1]
    assert listed(globex, "") == theirs[::-1]
    assert listed(globex, "status=queued") == theirs[::-1]


def test_idempotency_keys_are_scoped_per_tenant(acme, globex) -> None:
    """Given a key used by acme, When globex sends the same key (and even another body),
    Then it gets a new job of its own; each tenant's replay returns its own job."""
    first = create(acme, **{"Idempotency-Key": "order-1"})
    other = globex.post("/jobs", json={**SPEC, "seed": 7}, headers={"Idempotency-Key": "order-1"})
    again = acme.post("/jobs", json=SPEC, headers={"Idempotency-Key": "order-1"})

    assert other.status_code == 202 and other.json()["id"] != first["id"]
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert_error(globex.get(f"/jobs/{first['id']}"), 404, "not_found")


def test_without_api_keys_everything_is_open_in_one_tenant(db_path, store, queue, make_client) -> None:
    app = create_app(Settings(database_path=db_path), store, queue, consume_dead_letters=False)
    client = make_client(app)

    job = create(client)

    assert client.get(f"/jobs/{job['id']}").status_code == 200
    assert [listed["id"] for listed in client.get("/jobs").json()["jobs"]] == [job["id"]]
    assert store.get(job["id"]).tenant == "default"


def test_the_openapi_description_names_the_bearer_scheme(acme) -> None:
    schema = acme.get("/openapi.json").json()

    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": "a key of API_KEYS",
    }
    assert schema["paths"]["/jobs"]["post"]["security"] == [{"apiKey": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]
    assert "401" in schema["paths"]["/jobs/{job_id}"]["get"]["responses"]
    assert "429" in schema["paths"]["/jobs"]["post"]["responses"]


# --- rate limit --------------------------------------------------------------------------

def limited_app(db_path: Path, limit: int) -> FastAPI:
    settings = Settings(
        internal_token=TOKEN, database_path=db_path, api_keys=API_KEYS, rate_limit_per_minute=limit
    )
    store, queue = SqliteJobStore(db_path), LocalQueue(db_path, visibility_timeout=30, max_deliveries=5)
    app = create_app(settings, store, queue, consume_dead_letters=False)
    app.state.closing = (store, queue)
    return app


@pytest.fixture
def limited(db_path: Path, make_client: Callable[..., ApiClient]) -> Iterator[Callable[[int], ApiClient]]:
    """``limited(limit)``: a client of a new Orchestrator on the test's SQLite file."""
    apps: list[FastAPI] = []

    def make(limit: int) -> ApiClient:
        apps.append(limited_app(db_path, limit))
        return make_client(apps[-1], headers=bearer(ACME))

    yield make
    for app in apps:
        for part in app.state.closing:
            part.close()


def wait_for_a_fresh_minute() -> None:
    """So that the test's creations fall in one window (at least 10 s left in it)."""
    if time.time() % 60 > 50:
        time.sleep(60 - time.time() % 60 + 0.05)


def test_creations_over_the_limit_are_429_with_retry_after(limited) -> None:
    """Given RATE_LIMIT_PER_MINUTE=3, When a tenant creates 4 jobs in a minute, Then the 4th
    is 429 `rate_limited` with Retry-After: the seconds until the minute ends (1-60)."""
    client = limited(3)
    wait_for_a_fresh_minute()
    answers = [client.post("/jobs", json=SPEC) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [202, 202, 202, 429]
    body = assert_error(answers[3], 429, "rate_limited")
    retry_after = int(answers[3].headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert abs(retry_after - (60 - time.time() % 60)) <= 2
    assert body["details"]["retryAfter"] == retry_after
    assert len(client.get("/jobs").json()["jobs"]) == 3


def test_the_limit_is_per_tenant(limited) -> None:
    client = limited(1)
    wait_for_a_fresh_minute()

    assert client.post("/jobs", json=SPEC).status_code == 202
    assert client.post("/jobs", json=SPEC).status_code == 429
    assert client.post("/jobs", json=SPEC, headers=bearer(GLOBEX)).status_code == 202


def test_a_replayed_request_is_not_counted(limited) -> None:
    """Given a limit of 2, When one request is replayed 5 times, Then one more job can still
    be created, and the replays still answer 200."""
    client = limited(2)
    wait_for_a_fresh_minute()
    first = client.post("/jobs", json=SPEC, headers={"Idempotency-Key": "once"})
    replays = [client.post("/jobs", json=SPEC, headers={"Idempotency-Key": "once"}) for _ in range(5)]

    assert first.status_code == 202
    assert {replay.status_code for replay in replays} == {200}
    assert client.post("/jobs", json=SPEC).status_code == 202
    assert client.post("/jobs", json=SPEC).status_code == 429
    at_the_limit = client.post("/jobs", json=SPEC, headers={"Idempotency-Key": "once"})
    assert at_the_limit.status_code == 200 and at_the_limit.json()["id"] == first.json()["id"]
    assert client.post("/jobs", json=SPEC, headers={"Idempotency-Key": "new"}).status_code == 429


def test_a_refused_request_is_not_counted(limited) -> None:
    """Given a limit of 2 and one job made, When a request is refused (key reused with
    another body), Then the tenant can still create its second job, and no third."""
    client = limited(2)
    wait_for_a_fresh_minute()
    assert client.post("/jobs", json=SPEC, headers={"Idempotency-Key": "k"}).status_code == 202

    reused = client.post("/jobs", json={**SPEC, "seed": 1}, headers={"Idempotency-Key": "k"})

    assert_error(reused, 422, "idempotency_key_reused")
    assert client.post("/jobs", json=SPEC).status_code == 202
    assert client.post("/jobs", json=SPEC).status_code == 429


def test_the_limit_holds_across_two_orchestrators_sharing_the_store(limited) -> None:
    """Given two Orchestrators on one SQLite file, each with a limit of 4, When a tenant
    alternates between them, Then 4 jobs are created in all, not 8."""
    one, two = limited(4), limited(4)
    wait_for_a_fresh_minute()

    answers = [(one if turn % 2 else two).post("/jobs", json=SPEC).status_code for turn in range(8)]

    assert sorted(answers) == [202] * 4 + [429] * 4
    assert len(one.get("/jobs").json()["jobs"]) == 4


def test_without_a_limit_nothing_is_counted(acme, store: SqliteJobStore) -> None:
    for _ in range(5):
        create(acme)
    assert store.count_creation("acme", int(time.time() // 60), 1) is True


def test_an_unknown_tenant_in_the_store_is_never_served(acme, store: SqliteJobStore) -> None:
    """Given a job of a tenant with no key any more, When acme reads it, Then 404."""
    job = store.insert(new_job({"seed": 1}, tenant="former")).job

    assert_error(acme.get(f"/jobs/{job.id}"), 404, "not_found")


@pytest.mark.parametrize(
    "value",
    ["acme", "acme:", ":s3cretkey", "ac#me:s3cretkey", "a:s3cretkey,b:s3cretkey", "a:s3cret key", ","],
)
def test_a_bad_api_keys_value_fails_at_start_naming_the_variable_not_the_key(value) -> None:
    with pytest.raises(ConfigurationError, match=r"^API_KEYS: ") as raised:
        load_settings(api_keys=value)

    assert "s3cret" not in str(raised.value)
    assert "s3cret" not in str(raised.value.__cause__)
