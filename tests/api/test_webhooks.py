"""Webhooks at the API and in the deliverer (issue 19): the request's `webhook`, refused
URLs and addresses, idempotency, per-tenant secrets and deliveries, the signature, and the
private-address guard at delivery (a stub transport records what would be sent)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from levelforge import lifecycle
from levelforge.api.app import create_app
from levelforge.api.metrics import Metrics
from levelforge.config import Settings, load_settings, parse_webhook_secret
from levelforge.errors import ConfigurationError
from levelforge.jobs import new_job
from levelforge.ports import DeliveryState
from levelforge.queues.local import LocalQueue
from levelforge.stores.sqlite import SqliteJobStore
from levelforge.webhooks import (
    OUTCOMES,
    Deliverer,
    DeliveryPolicy,
    backoff,
    check_url,
    refusal,
    resolve,
    signature,
    signed_headers,
)
from tests.api.conftest import ApiClient
from tests.api.orchestrator_calls import TOKEN
from tests.e2e.webhook_receiver import SECRET, SECRET_BYTES, verify

SPEC = {"seed": 42, "width": 32, "height": 24, "rooms": 4}
HOOK = {"url": "https://hooks.example.com/levels?team=7"}
OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()
API_KEYS = "acme:acme-key,globex:globex-key"


def assert_error(response: Any, status: int, error: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    if field is not None:
        assert body["details"][0]["field"] == field, body


@pytest.fixture
def hooked(
    db_path: Path, store: SqliteJobStore, queue: LocalQueue, make_client: Callable[..., ApiClient]
) -> ApiClient:
    settings = Settings(internal_token=TOKEN, database_path=db_path, webhook_secret=SECRET)
    return make_client(create_app(settings, store, queue, consume_dead_letters=False))


# --- the request ------------------------------------------------------------------------

def test_a_webhook_is_part_of_the_request_not_of_the_spec(hooked: ApiClient, store: SqliteJobStore) -> None:
    """Given the same spec and seed with and without a webhook, When both are created, Then
    both record the same spec, the resource shows no webhook, the store keeps its URL."""
    with_hook = hooked.post("/jobs", json={**SPEC, "webhook": HOOK})
    without = hooked.post("/jobs", json=SPEC)

    assert with_hook.status_code == 202 and without.status_code == 202
    assert with_hook.json()["spec"] == without.json()["spec"]
    assert "webhook" not in with_hook.json()
    assert "webhook" not in hooked.get(f"/jobs/{with_hook.json()['id']}").json()
    assert store.get(with_hook.json()["id"]).webhook_url == HOOK["url"]
    assert store.get(without.json()["id"]).webhook_url is None


@pytest.mark.parametrize(
    ("webhook", "field"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "webhook.url"),
        ({"url": "hooks.example.com/x"}, "webhook.url"),
        ({"url": "http://"}, "webhook.url"),
        ({"url": "http://user:secret@hooks.example.com/"}, "webhook.url"),
        ({"url": "http://hooks.example.com:99999/"}, "webhook.url"),
        ({"url": "http://hooks.example.com/a b"}, "webhook.url"),
        ({"url": "http://hooks.example.com/#top"}, "webhook.url"),
        ({"url": ""}, "webhook.url"),
        ({"url": 42}, "webhook.url"),
        ({"url": "https://h.example.com/" + "a" * 2100}, "webhook.url"),
        ({}, "webhook.url"),
        ({"url": "https://hooks.example.com/", "events": ["done"]}, "webhook.events"),
        ("https://hooks.example.com/", "webhook"),
    ],
)
def test_a_bad_webhook_is_422_naming_the_field(hooked: ApiClient, webhook: Any, field: str) -> None:
    assert_error(hooked.post("/jobs", json={**SPEC, "webhook": webhook}), 422, "validation_error", field)
    assert hooked.get("/jobs").json()["jobs"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook", "http://127.9.9.9/", "http://10.1.2.3/hook", "http://172.16.0.1/",
        "http://192.168.1.10/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
        "http://[fe80::1]/", "http://[fd00:ec2::254]/", "http://[::ffff:10.0.0.1]/", "http://0.0.0.0/",
        "http://localhost:9000/", "http://api.localhost/",
    ],
)
def test_an_address_a_webhook_may_not_reach_is_refused_at_creation(hooked: ApiClient, url: str) -> None:
    """Given no WEBHOOK_ALLOW_PRIVATE, When the webhook's host is a loopback, private,
    link-local or metadata address (or localhost), Then 422 naming webhook.url."""
    answer = hooked.post("/jobs", json={**SPEC, "webhook": {"url": url}})
    assert_error(answer, 422, "validation_error", "webhook.url")
    assert "refused" in answer.json()["message"] and "public addresses" in answer.json()["message"]


def test_private_addresses_are_accepted_when_allowed(db_path, store, queue, make_client) -> None:
    settings = Settings(database_path=db_path, webhook_secret=SECRET, webhook_allow_private=True)
    client = make_client(create_app(settings, store, queue, consume_dead_letters=False))
    assert client.post("/jobs", json={**SPEC, "webhook": {"url": "http://127.0.0.1:9/x"}}).status_code == 202


def test_without_a_secret_a_webhook_is_422(db_path, store, queue, make_client) -> None:
    app = create_app(Settings(database_path=db_path), store, queue, consume_dead_letters=False)
    client = make_client(app)
    answer = client.post("/jobs", json={**SPEC, "webhook": HOOK})
    assert_error(answer, 422, "validation_error", "webhook")
    assert "WEBHOOK_SECRET" in answer.json()["message"]
    assert client.post("/jobs", json=SPEC).status_code == 202


def test_the_same_key_with_another_webhook_is_a_reused_key(hooked: ApiClient) -> None:
    """Given a job created with an Idempotency-Key and a webhook, When the same key comes
    with the same body, Then it replays; with another webhook, or none, Then 422."""
    key = {"Idempotency-Key": "order-77"}
    first = hooked.post("/jobs", json={**SPEC, "webhook": HOOK}, headers=key)
    again = hooked.post("/jobs", json={"webhook": HOOK, **SPEC}, headers=key)
    other = hooked.post("/jobs", json={**SPEC, "webhook": {"url": "https://other.example.com/"}}, headers=key)
    bare = hooked.post("/jobs", json=SPEC, headers=key)

    assert first.status_code == 202 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert_error(other, 422, "idempotency_key_reused")
    assert_error(bare, 422, "idempotency_key_reused")


def test_the_openapi_description_documents_the_webhook_and_the_deliveries(hooked: ApiClient) -> None:
    schema = hooked.get("/openapi.json").json()
    body = schema["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    create = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    webhook = schema["components"]["schemas"]["WebhookIn"]

    assert {"seed", "rooms", "webhook"} <= set(create["properties"])
    assert webhook["properties"]["url"]["maxLength"] == 2048 and webhook["required"] == ["url"]
    deliveries = schema["paths"]["/jobs/{job_id}/deliveries"]["get"]["responses"]
    assert "200" in deliveries and "404" in deliveries


# --- tenants --------------------------------------------------------------------------

def tenant_app(db_path: Path, store: SqliteJobStore, queue: LocalQueue, **settings: Any) -> Any:
    values = {"database_path": db_path, "api_keys": API_KEYS, "internal_token": TOKEN, **settings}
    return create_app(Settings(**values), store, queue, consume_dead_letters=False)


def test_deliveries_belong_to_the_jobs_tenant(db_path, store, queue, make_client) -> None:
    """Given two tenants, When one reads another's job deliveries, Then 404 as for any
    route; its own job's deliveries are empty while the job runs."""
    app = tenant_app(db_path, store, queue, webhook_secret=SECRET)
    acme = make_client(app, headers={"Authorization": "Bearer acme-key"})
    globex = make_client(app, headers={"Authorization": "Bearer globex-key"})
    job = acme.post("/jobs", json={**SPEC, "webhook": HOOK}).json()

    empty = {"state": None, "webhookId": None, "deliveries": []}
    assert acme.get(f"/jobs/{job['id']}/deliveries").json() == empty
    assert_error(globex.get(f"/jobs/{job['id']}/deliveries"), 404, "not_found")
    assert_error(acme.get("/jobs/01JFZ3K5Q8C4W7R2N6V9XTBHDM/deliveries"), 404, "not_found")


def test_a_tenant_has_its_own_secret_else_the_default_one(db_path, store, queue, make_client) -> None:
    """Given WEBHOOK_SECRETS for acme only and no WEBHOOK_SECRET, Then acme may ask for a
    webhook (signed with its own key) and globex may not."""
    settings = Settings(database_path=db_path, webhook_secrets=f"acme:{OTHER_SECRET}")
    assert settings.webhook_secret_of("acme") == b"o" * 32
    assert settings.webhook_secret_of("globex") is None
    both = Settings(database_path=db_path, webhook_secrets=f"acme:{OTHER_SECRET}", webhook_secret=SECRET)
    assert both.webhook_secret_of("globex") == SECRET_BYTES and both.webhook_secret_of("acme") == b"o" * 32

    app = tenant_app(db_path, store, queue, webhook_secrets=f"acme:{OTHER_SECRET}")
    acme = make_client(app, headers={"Authorization": "Bearer acme-key"})
    globex = make_client(app, headers={"Authorization": "Bearer globex-key"})
    assert acme.post("/jobs", json={**SPEC, "webhook": HOOK}).status_code == 202
    assert_error(globex.post("/jobs", json={**SPEC, "webhook": HOOK}), 422, "validation_error", "webhook")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEBHOOK_SECRET", "not-a-secret"), ("WEBHOOK_SECRET", "whsec_***"),
        ("WEBHOOK_SECRET", "whsec_" + base64.b64encode(b"short").decode()),
        ("WEBHOOK_SECRETS", f"acme {SECRET}"), ("WEBHOOK_SECRETS", f"acme:{SECRET},acme:{SECRET}"),
    ],
)
def test_a_bad_secret_is_refused_at_start_naming_the_variable(monkeypatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable) as raised:
        load_settings()
    assert value not in str(raised.value) or value.startswith("acme")


# --- the signature ----------------------------------------------------------------------

def test_the_signature_is_the_standard_webhooks_one() -> None:
    """The convention's published example, and the independent check of the tests."""
    key = parse_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = b'{"test": 2432232314}'
    assert signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )
    headers = signed_headers(SECRET_BYTES, "msg_1", 1700000000, b"{}")
    assert verify(headers, b"{}") and not verify(headers, b"{ }")
    assert not verify({**headers, "webhook-id": "msg_2"}, b"{}")


def test_backoff_doubles_with_jitter_up_to_an_hour() -> None:
    waits = [backoff(attempt, 5.0) for attempt in range(1, 16) for _ in range(20)]
    assert all(2.5 <= wait <= 5.0 for wait in waits[:20])
    assert all(20.0 <= wait <= 40.0 for wait in waits[60:80])
    assert max(waits) <= 3600 and min(waits[-20:]) >= 1800
    assert len({round(wait, 6) for wait in waits[:20]}) > 1  # jittered


# --- the guard at delivery ----------------------------------------------------------------

class Direct:
    """The deliverer's store calls, made at once (one thread, no grouping)."""

    async def write(self, call: Callable[..., Any], *args: Any) -> Any:
        return call(*args)


def finished_job(store: SqliteJobStore, url: str) -> str:
    job = new_job({"seed": 1}, webhook_url=url)
    store.insert(job)
    lifecycle.complete(store, job.id, {"summary": {}})
    return job.id


async def deliver_due(
    store: SqliteJobStore, job_id: str, resolver: Any, allow_private: bool = False,
    observer: Metrics | None = None,
) -> list[httpx.Request]:
    """Run a deliverer until the job's delivery is settled; the requests it sent."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, text="ok")

    async def render(job_id: str) -> tuple[str, bytes]:
        return "default", store.get_json(job_id).data

    policy = DeliveryPolicy(
        retry_seconds=60, backoff_base_seconds=0.01, timeout_seconds=1, allow_private=allow_private
    )
    deliverer = Deliverer(
        store, Direct(), render, lambda _tenant: SECRET_BYTES, policy, resolver=resolver,
        transport=httpx.MockTransport(answer), observer=observer,
    )
    deliverer.start()
    try:
        for _ in range(1000):
            log = store.delivery_log(job_id)
            if log is not None and log.state is not DeliveryState.PENDING:
                break
            await asyncio.sleep(0.005)
    finally:
        await deliverer.stop()
    return sent


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("https://hooks.example.com/a", ["127.0.0.1"]),
        ("https://hooks.example.com/a", ["10.20.30.40"]),
        ("https://hooks.example.com/a", ["169.254.169.254"]),
        ("https://hooks.example.com/a", ["93.184.215.14", "10.0.0.1"]),
        ("http://metadata.example.com/latest", ["::ffff:169.254.169.254"]),
    ],
)
def test_a_name_resolving_to_a_refused_address_is_never_sent(
    store: SqliteJobStore, url: str, addresses: list[str]
) -> None:
    """Given a job whose webhook host resolves to a loopback, 10/8 or metadata address
    (any one of its addresses), When it is delivered without WEBHOOK_ALLOW_PRIVATE, Then
    nothing is sent and the delivery is abandoned, saying why."""
    job_id = finished_job(store, url)

    async def resolver(host: str, port: int) -> list[str]:
        return addresses

    sent = asyncio.run(deliver_due(store, job_id, resolver))

    log = store.delivery_log(job_id)
    assert sent == []
    assert log is not None and log.state is DeliveryState.ABANDONED
    assert "refused" in (log.attempts[0].error or "") and log.attempts[0].status_code is None


def test_localhost_resolved_by_the_system_is_refused_at_delivery(store: SqliteJobStore) -> None:
    """The system's resolver: `localhost` (stored as if created elsewhere) is loopback."""
    job_id = finished_job(store, "http://localhost:9/hook")
    sent = asyncio.run(deliver_due(store, job_id, resolve))
    log = store.delivery_log(job_id)
    assert sent == [] and log is not None and log.state is DeliveryState.ABANDONED
    assert "loopback" in (log.attempts[0].error or "")


def test_the_checked_address_is_connected_with_the_name_kept(store: SqliteJobStore) -> None:
    """Given a public name resolving to a public address, When delivered, Then the request
    goes to that address, with the name as Host and for TLS (no second lookup)."""
    job_id = finished_job(store, "https://hooks.example.com:8443/levels?team=7")

    async def resolver(host: str, port: int) -> list[str]:
        assert (host, port) == ("hooks.example.com", 8443)
        return ["93.184.215.14"]

    sent = asyncio.run(deliver_due(store, job_id, resolver))

    assert len(sent) == 1
    request = sent[0]
    assert str(request.url) == "https://93.184.215.14:8443/levels?team=7"
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert verify(dict(request.headers), request.content)
    log = store.delivery_log(job_id)
    assert log is not None and log.state is DeliveryState.DELIVERED


@pytest.mark.parametrize(
    ("address", "refused"),
    [("127.0.0.1", True), ("10.255.0.1", True), ("172.31.0.1", True), ("192.168.0.1", True),
     ("169.254.169.254", True), ("100.100.100.200", True), ("fc00::1", True), ("fe80::1", True),
     ("::1", True), ("224.0.0.1", True), ("8.8.8.8", False), ("2606:4700::1111", False)],
)
def test_refused_addresses(address: str, refused: bool) -> None:
    assert (refusal(address) is not None) is refused


def test_check_url_keeps_what_it_was_given() -> None:
    parts = check_url("https://hooks.example.com:8443/a?b=c", allow_private=False)
    assert (parts.hostname, parts.port, parts.path, parts.query) == ("hooks.example.com", 8443, "/a", "b=c")


# --- what an attempt does with an answer ------------------------------------------------

async def one_attempt(
    store: SqliteJobStore, job_id: str, answer: Callable[[httpx.Request], httpx.Response],
    retry_seconds: float = 60, observer: Metrics | None = None,
) -> list[httpx.Request]:
    """One attempt of the job's delivery against ``answer`` (a stub receiver)."""
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer(request)

    async def render(job_id: str) -> tuple[str, bytes]:
        return "default", store.get_json(job_id).data

    async def public(host: str, port: int) -> list[str]:
        return ["93.184.215.14"]

    policy = DeliveryPolicy(retry_seconds=retry_seconds, backoff_base_seconds=30, timeout_seconds=1,
                            allow_private=False)
    deliverer = Deliverer(store, Direct(), render, lambda _tenant: SECRET_BYTES, policy, resolver=public,
                          transport=httpx.MockTransport(record), observer=observer)
    deliverer.start()
    try:
        for _ in range(1000):
            log = store.delivery_log(job_id)
            if log is not None and log.attempts:
                break
            await asyncio.sleep(0.005)
    finally:
        await deliverer.stop()
    return sent


def test_a_redirect_is_not_followed_and_counts_as_a_failure(store: SqliteJobStore) -> None:
    job_id = finished_job(store, "https://hooks.example.com/a")
    sent = asyncio.run(one_attempt(
        store, job_id, lambda _: httpx.Response(302, headers={"location": "http://169.254.169.254/"})
    ))
    log = store.delivery_log(job_id)
    assert [str(request.url) for request in sent] == ["https://93.184.215.14/a"]
    assert log is not None and log.state is DeliveryState.PENDING
    assert [attempt.status_code for attempt in log.attempts] == [302]


def test_at_most_1_kib_of_an_answer_is_kept(store: SqliteJobStore) -> None:
    job_id = finished_job(store, "https://hooks.example.com/a")
    asyncio.run(one_attempt(store, job_id, lambda _: httpx.Response(500, content=b"x" * 5000)))
    log = store.delivery_log(job_id)
    assert log is not None and log.attempts[0].response == "x" * 1024


def test_a_timeout_is_recorded_and_retried(store: SqliteJobStore) -> None:
    job_id = finished_job(store, "https://hooks.example.com/a")

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    asyncio.run(one_attempt(store, job_id, slow))
    log = store.delivery_log(job_id)
    assert log is not None and log.state is DeliveryState.PENDING
    assert log.attempts[0].error == "timeout: ReadTimeout" and log.attempts[0].status_code is None


def test_past_the_retry_window_a_failure_abandons_the_delivery(store: SqliteJobStore) -> None:
    """Given WEBHOOK_RETRY_HOURS shorter than the next backoff, When an attempt fails,
    Then the delivery is abandoned rather than tried again."""
    job_id = finished_job(store, "https://hooks.example.com/a")
    asyncio.run(one_attempt(store, job_id, lambda _: httpx.Response(503), retry_seconds=1))
    log = store.delivery_log(job_id)
    assert log is not None and log.state is DeliveryState.ABANDONED
    assert [attempt.status_code for attempt in log.attempts] == [503]


# --- metrics ----------------------------------------------------------------------------

def attempts_of(metrics: Metrics) -> dict[str, float]:
    """``levelforge_webhook_attempts_total`` by outcome, as ``GET /metrics`` writes it."""
    families = text_string_to_metric_families(metrics.render().decode())
    (family,) = [family for family in families if family.name == "levelforge_webhook_attempts"]
    return {
        sample.labels["outcome"]: sample.value for sample in family.samples if sample.name.endswith("_total")
    }


def attempt_latencies(metrics: Metrics) -> float:
    """How many attempts ``levelforge_webhook_attempt_duration_seconds`` observed."""
    families = text_string_to_metric_families(metrics.render().decode())
    name = "levelforge_webhook_attempt_duration_seconds"
    (family,) = [family for family in families if family.name == name]
    (count,) = [sample.value for sample in family.samples if sample.name.endswith("_count")]
    return count


def test_a_delivered_and_a_failed_attempt_move_the_attempt_counters(store: SqliteJobStore) -> None:
    """Given the Orchestrator's metrics, When one job's attempt is answered 200, another's
    503 and a third's times out, Then ``levelforge_webhook_attempts_total`` counts one
    ``delivered``, one ``rejected`` and one ``timeout`` (every other outcome still 0), and
    the latency histogram observed three attempts."""
    metrics = Metrics()
    assert attempts_of(metrics) == dict.fromkeys(OUTCOMES, 0.0)

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("no answer", request=request)

    for answer in (lambda _: httpx.Response(200), lambda _: httpx.Response(503), timeout):
        job_id = finished_job(store, "https://hooks.example.com/a")
        asyncio.run(one_attempt(store, job_id, answer, observer=metrics))

    moved = {"delivered": 1, "rejected": 1, "timeout": 1}
    assert attempts_of(metrics) == dict.fromkeys(OUTCOMES, 0.0) | moved
    assert attempt_latencies(metrics) == 3


def test_a_refused_address_counts_as_refused_without_a_request(store: SqliteJobStore) -> None:
    """Given a webhook host resolving to a metadata address, When its delivery is tried,
    Then nothing is sent and the attempt counts as ``refused``."""
    metrics = Metrics()
    job_id = finished_job(store, "https://hooks.example.com/a")

    async def metadata(host: str, port: int) -> list[str]:
        return ["169.254.169.254"]

    sent = asyncio.run(deliver_due(store, job_id, metadata, observer=metrics))

    assert sent == []
    assert attempts_of(metrics) == dict.fromkeys(OUTCOMES, 0.0) | {"refused": 1}


def test_get_metrics_shows_the_webhook_attempts_by_outcome(hooked: ApiClient) -> None:
    """Given an Orchestrator, When ``GET /metrics`` is read, Then it lists the attempt counter
    for every outcome and the attempts' latency histogram."""
    response = hooked.get("/metrics")

    assert response.status_code == 200
    for outcome in OUTCOMES:
        assert f'levelforge_webhook_attempts_total{{outcome="{outcome}"}} 0.0' in response.text
    assert "levelforge_webhook_attempt_duration_seconds_count 0.0" in response.text
