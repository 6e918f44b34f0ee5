"""What the DynamoDB job store adds to the store contract (which it passes, see
tests/contract): listings by index, never a Scan; TTL on terminal jobs and idempotency
keys; items kept small, a result too large failing the job rather than the request."""

from __future__ import annotations

import base64
import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from levelforge import aws, jobs
from levelforge.config import Settings
from levelforge.jobs import IdempotencyClaim, JobStatus
from levelforge.ports import PageAfter
from levelforge.stores.dynamodb import (
    IDEMPOTENCY_KEY_TTL_SECONDS,
    RESULT_MAX_BYTES,
    RETENTION_DAYS,
    DynamoJobStore,
    open_dynamodb_store,
)
from tests.aws.emulator import Emulator, unique


@pytest.fixture
def store(ministack: Emulator) -> Iterator[DynamoJobStore]:
    settings = Settings(jobs_table=unique("jobs"))
    aws.aws_init(settings, ministack.admin)
    store = open_dynamodb_store(settings, ministack.admin)
    yield store
    store.close()


def raw(store: DynamoJobStore, pk: str) -> dict[str, Any]:
    item: dict[str, Any] = store.client.get_item(
        TableName=store._table, Key={"pk": {"S": pk}}, ConsistentRead=True
    )["Item"]
    return item


def operations(store: DynamoJobStore) -> Counter[str]:
    seen: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        seen[model.name] += 1

    store.client.meta.events.register("before-call", count)
    return seen


def test_listings_query_an_index_and_never_scan(store: DynamoJobStore) -> None:
    """Given jobs, When listed with and without a status filter and a cursor, Then each
    page is one Query and one BatchGetItem, never a Scan."""
    for _ in range(3):
        store.insert(jobs.new_job({"seed": 1}))
    seen = operations(store)

    everything = store.page(jobs.DEFAULT_TENANT, None, 10, None)
    after = store.page(jobs.DEFAULT_TENANT, None, 10, PageAfter(everything[0].created_at, everything[0].id))
    queued = store.page(jobs.DEFAULT_TENANT, JobStatus.QUEUED, 2, None)

    assert len(everything) == 3 and len(after) == 2 and len(queued) == 2
    assert seen == Counter({"Query": 3, "BatchGetItem": 3})


def test_terminal_jobs_and_idempotency_keys_expire_by_ttl(store: DynamoJobStore) -> None:
    """Given a job created with a key, When it completes, Then the key lives 24 h and the
    terminal job JOB_RETENTION_DAYS (30) by the table's TTL attribute; a running job has none."""
    job = store.insert(jobs.new_job({"seed": 1}), IdempotencyClaim(key="k1", fingerprint="f")).job
    now = time.time()
    assert "expiresAt" not in raw(store, f"job#{job.id}")

    store.transition(job.id, to=JobStatus.DONE, allowed_from=jobs.FINISH_ALLOWED_FROM,
                     now=jobs.timestamp(), result={"summary": {}})

    job_expires = int(raw(store, f"job#{job.id}")["expiresAt"]["N"])
    key_expires = int(raw(store, f"key#{jobs.DEFAULT_TENANT}#k1")["expiresAt"]["N"])
    assert abs(job_expires - (now + RETENTION_DAYS * 86400)) < 60
    assert abs(key_expires - (now + IDEMPOTENCY_KEY_TTL_SECONDS)) < 60


def test_a_result_too_large_to_store_fails_the_job_clearly(store: DynamoJobStore) -> None:
    """Given a running job, When it completes with a result that stays over the store's
    limit even compressed, Then the job is failed with `result_too_large` (the call itself
    succeeds), keeping its steps."""
    job = store.insert(jobs.new_job({"seed": 1})).job
    store.append_step(job.id, jobs.Step(
        step_id=jobs.step_id_for(job.id, "validate"), name="validate", started_at=jobs.timestamp(),
        ended_at=jobs.timestamp(), duration_ms=1, summary="ok", status="ok",
    ), allowed_from=jobs.STEP_ALLOWED_FROM, start_from=jobs.START_FROM, now=jobs.timestamp())
    noise = base64.b64encode(os.urandom(RESULT_MAX_BYTES + 10_000)).decode()

    finished = store.transition(job.id, to=JobStatus.DONE, allowed_from=jobs.FINISH_ALLOWED_FROM,
                                now=jobs.timestamp(), result={"asciiMinimap": noise})

    assert finished.status is JobStatus.FAILED and finished.result is None
    assert finished.error is not None and finished.error.code == "result_too_large"
    assert "ARTIFACTS_BUCKET" in finished.error.message
    assert store.get(job.id) == finished and len(finished.steps) == 1


def test_a_large_result_is_stored_compressed_and_read_back_equal(store: DynamoJobStore) -> None:
    """Given a result of 300 KB of JSON (compressible, like a scene graph), When the job
    completes, Then it reads back equal and the item stays far under 400 KB."""
    job = store.insert(jobs.new_job({"seed": 1})).job
    result = {"sceneGraph": {"rooms": [{"id": f"r{i}", "tags": ["x"] * 5} for i in range(6000)]}}

    store.transition(job.id, to=JobStatus.DONE, allowed_from=jobs.FINISH_ALLOWED_FROM,
                     now=jobs.timestamp(), result=result)

    assert store.get(job.id).result == result
    assert len(raw(store, f"job#{job.id}")["resultGz"]["B"]) < 100_000


def test_an_oversized_error_is_cut_short(store: DynamoJobStore) -> None:
    """Given a failure with a huge message and details, When stored, Then it is cut to a
    bounded size, keeping its code."""
    job = store.insert(jobs.new_job({"seed": 1})).job
    failure = jobs.JobFailure(message="x" * 500_000, code="broken", details={"blob": "y" * 500_000})

    failed = store.transition(job.id, to=JobStatus.FAILED, allowed_from=jobs.FINISH_ALLOWED_FROM,
                              now=jobs.timestamp(), error=failure)

    assert failed.error is not None and failed.error.code == "broken"
    assert len(failed.error.message) < 5000 and failed.error.details == {"truncated": True}
