"""Fuzzing the Orchestrator from its own OpenAPI description (issue 6, CONTRACT §2, §6).

Every operation of ``/openapi.json`` is fuzzed in-process (schemathesis over the ASGI app,
positive and negative cases), twice: with the configured ``X-INTERNAL-TOKEN`` and without
it. Every response must pass every schemathesis check (no server error, status code,
content type, headers and body as documented, schema-valid requests accepted and invalid
ones refused) and ours: without the token an internal route answers ``401`` and nothing
else; with it, nothing answers ``401``.

The budget is fixed: ``derandomize=True``, ``MAX_EXAMPLES`` a test, no deadline.

Four properties of the description that the fuzzer once found wrong are pinned by the
tests at the end (nothing optional documented as nullable, the idempotent replay's 200,
every artifact content type).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from levelforge.api.presenting import encode_cursor
from levelforge.api.routes_events import StreamTiming
from levelforge.jobs import ARTIFACTS, DEFAULT_TENANT, JobStatus, fingerprint
from levelforge.stores.sqlite import SqliteJobStore
from tests.fuzz.conftest import TOKEN, Seeded

#: examples per operation and token mode: the whole module stays well under 60 s
MAX_EXAMPLES = 25
#: an event stream of a job that does not change never ends: it is cut after this long
STREAM_SECONDS = 0.3
REQUEST_SECONDS = 10.0
INTEGER_FIELDS = ("seed", "width", "height", "rooms", "difficulty")

OPERATIONS = [
    "POST /jobs",
    "GET /jobs",
    "GET /status/{job_id}",
    "GET /jobs/{job_id}",
    "POST /jobs/{job_id}/cancel",
    "GET /jobs/{job_id}/artifacts/{name}",
    "GET /healthz",
    "GET /metrics",
    "GET /jobs/{job_id}/events",
    "GET /jobs/{job_id}/deliveries",
    "POST /internal/jobs/{job_id}/step",
    "POST /internal/jobs/{job_id}/complete",
    "POST /internal/jobs/{job_id}/fail",
]


# --- what JSON Schema cannot say, supplied to positive cases -----------------------------


def is_integral_float(value: Any) -> bool:
    return isinstance(value, float) and value.is_integer()


def a_fitting_spec(body: Any) -> Any:
    """What CONTRACT §4 asks beyond JSON Schema: integers sent as integers (JSON Schema's
    ``integer`` admits ``64.0``) and a spec that fits (``rooms * 64 <= width * height``)."""
    if not isinstance(body, dict):
        return body
    spec = {
        key: int(value) if key in INTEGER_FIELDS and is_integral_float(value) else value
        for key, value in body.items()
    }
    if isinstance(spec.get("webhook"), dict):
        # a URL is more than JSON Schema says (a host, a port in range): a receiver here
        spec["webhook"] = {"url": "http://127.0.0.1:9/fuzz"}
    # the designer's fields have rules across fields (CONTRACT §4.1) that JSON Schema cannot
    # state: a generated map or range is mostly a rightful 422, so positive cases leave them out
    spec.pop("constraints", None)
    spec.pop("prefabs", None)
    area = spec.get("width", 64) * spec.get("height", 40)
    if isinstance(spec.get("rooms"), int) and spec["rooms"] * 64 > area:
        spec["rooms"] = area // 64
    return spec


def positive_fixes(store: SqliteJobStore, app: FastAPI) -> Callable[[Any, Any], Any]:
    """A ``map_case`` hook: a positive case gets what only the server can know."""

    def map_case(context: Any, case: Any) -> Any:
        wait = (case.query or {}).get("wait")
        if isinstance(wait, int | float) and not isinstance(wait, bool) and 0 < wait <= 30:
            # a long poll of a job that does not change holds its answer back for ``wait``
            case.query = {**case.query, "wait": min(wait, 0.05)}
        if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
            return case
        label = context.operation.label
        if label == "POST /jobs":
            case.body = a_fitting_spec(case.body)
            key = (case.headers or {}).get("Idempotency-Key")
            if isinstance(key, str):
                # one key, one body: reusing a key with another body is refused (CONTRACT §2)
                unique = f"{key[:200]}-{fingerprint(case.body)[:16]}"
                case.headers = {**case.headers, "Idempotency-Key": unique}
        elif label == "POST /internal/jobs/{job_id}/step" and isinstance(case.body, dict):
            # a step's id is ``{jobId}:{name}`` of the job it is posted to (CONTRACT §6)
            case.body = {**case.body, "stepId": f"{case.path_parameters['job_id']}:{case.body.get('name')}"}
        elif label == "GET /jobs" and case.query and "cursor" in case.query:
            # a cursor is opaque: only one this server issued, for this same listing, is valid
            status = case.query.get("status")
            listed = JobStatus(status) if status in set(JobStatus) else None
            newest = store.page(DEFAULT_TENANT, listed, 1, None)
            if newest:
                key = app.state.cursor_key
                case.query = {**case.query, "cursor": encode_cursor(newest[0], listed, key)}
            else:
                case.query = {key: value for key, value in case.query.items() if key != "cursor"}
        return case

    return map_case


def job_ids_of(seeded: Seeded) -> Callable[[Any, dict[str, Any] | None], Any]:
    """A ``flatmap_path_parameters`` hook: a generated id, or one of the seeded jobs; a
    generated artifact name, or one of the contract's."""

    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        if not path_parameters or "job_id" not in path_parameters:
            return st.just(path_parameters)
        choices = [dict(path_parameters)]
        choices += [{**path_parameters, "job_id": job_id} for job_id in seeded.all()]
        if "name" in path_parameters:
            choices += [{**choice, "name": name} for choice in list(choices) for name in ARTIFACTS]
        return st.sampled_from(choices)

    return flatmap_path_parameters


# --- our own checks ------------------------------------------------------------------


def token_enforced(token: str | None) -> Callable[[Any, Any, Any], bool]:
    """CONTRACT §6: no token, an internal route answers ``401 {"error": "unauthorized"}``
    whatever else is wrong; a public route never asks for it; the right token is never
    refused."""

    def internal_token_enforced(ctx: Any, response: Any, case: Any) -> bool:
        internal = case.path.startswith("/internal/")
        if internal and token is None:
            assert response.status_code == 401, f"{case.path} without the token: {response.status_code}"
            assert response.json()["error"] == "unauthorized", response.text
        else:
            assert response.status_code != 401, f"{case.path}: 401 with the token: {response.text}"
        return True

    return internal_token_enforced


def no_traceback(ctx: Any, response: Any, case: Any) -> bool:
    """CONTRACT §2: never a stack trace."""
    assert b"Traceback" not in response.content, response.text
    return True


# --- the fuzzer ----------------------------------------------------------------------


@pytest.fixture
def api_schema(app: FastAPI, store: SqliteJobStore, seeded: Seeded) -> OpenApiSchema:
    app.state.event_timing = StreamTiming(poll_seconds=0.02, heartbeat_seconds=0.1)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.hook(job_ids_of(seeded))
    schema.hook(positive_fixes(store, app))
    return schema


def test_every_operation_is_fuzzed(api_schema: OpenApiSchema) -> None:
    """Given the served description, when its operations are listed, then the fuzzer
    below covers exactly them: a new route cannot go unfuzzed."""
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert labels == set(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
@pytest.mark.parametrize("token", [TOKEN, None], ids=["with-token", "without-token"])
def test_fuzzed_operation_conforms(api_schema: OpenApiSchema, label: str, token: str | None) -> None:
    """Given the app seeded with a queued, a running, a done and a failed job, when the
    fuzzer sends an operation its positive and negative cases (with or without the
    internal token), then every response passes every check: no server error, status,
    content type, headers and body as documented, and the token rule of CONTRACT §6."""
    method, path = label.split(" ")
    operation = api_schema[path][method]
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )
    headers = {"X-INTERNAL-TOKEN": token} if token else {}
    timeout = STREAM_SECONDS if label.endswith("/events") else REQUEST_SECONDS
    checks = [token_enforced(token), no_traceback]
    # CONTRACT §6: a step's ``stepId`` is ``{jobId}:{name}`` of its path's job, a rule JSON
    # Schema cannot state: ``map_case`` makes positive steps follow it, but a path drawn
    # after it (seen once in many full runs) makes a schema-valid step a rightful 422
    excluded = [positive_data_acceptance] if label == "POST /internal/jobs/{job_id}/step" else []

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(
            headers=headers, timeout=timeout, additional_checks=checks, excluded_checks=excluded
        )

    fuzz()


# --- properties of the served description the fuzzer once found wrong --------------------


@pytest.fixture
def served(app: FastAPI) -> dict[str, Any]:
    description: dict[str, Any] = schemathesis.openapi.from_asgi("/openapi.json", app).raw_schema
    return description


def test_optional_parameters_are_not_nullable(served: dict[str, Any]) -> None:
    nullable = [
        f"{method.upper()} {path} {parameter['name']}"
        for path, operations in served["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if {"type": "null"} in parameter["schema"].get("anyOf", [])
    ]
    assert nullable == []


def test_seed_is_not_nullable(served: dict[str, Any]) -> None:
    seed = served["components"]["schemas"]["JobCreate"]["properties"]["seed"]
    assert {"type": "null"} not in seed.get("anyOf", [])


def test_artifact_content_types_are_documented(served: dict[str, Any]) -> None:
    documented = served["paths"]["/jobs/{job_id}/artifacts/{name}"]["get"]["responses"]["200"]["content"]
    assert set(documented) >= {content_type for _field, content_type in ARTIFACTS.values()}


def test_idempotent_replay_is_documented(served: dict[str, Any]) -> None:
    assert "200" in served["paths"]["/jobs"]["post"]["responses"]
