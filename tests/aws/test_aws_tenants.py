"""Access control on AWS (CONTRACT §10): the job table's per-tenant indexes (aws-init
creates them, and adds them to a table of an earlier version, idempotently) and the
per-tenant rate limit shared by several Orchestrators through DynamoDB."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from levelforge import aws
from levelforge.api.app import create_app
from levelforge.config import Settings
from levelforge.errors import ConfigurationError
from levelforge.queues.local import LocalQueue
from levelforge.stores.dynamodb import DynamoJobStore, open_dynamodb_store
from tests.aws.emulator import Emulator, unique

KEY = "key-acme-0123456789"
SPEC = {"seed": 1, "width": 48, "height": 32, "rooms": 6}


def create_table_of_version_1(ministack: Emulator, table: str) -> None:
    """The job table as earlier builds made it: ``byStatus`` and ``byCreated`` only."""
    dynamodb = aws.client("dynamodb", "JOBS_TABLE", ministack.admin)
    dynamodb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("pk", "status", "listing", "createdKey")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": partition, "KeyType": "HASH"},
                              {"AttributeName": "createdKey", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
            for name, partition in (("byStatus", "status"), ("byCreated", "listing"))
        ],
    )
    dynamodb.get_waiter("table_exists").wait(TableName=table)


def test_aws_init_adds_the_tenant_indexes_to_an_earlier_table_once(ministack: Emulator) -> None:
    """Given a job table of the earlier version, When the store opens, Then it refuses,
    naming aws-init; When aws-init runs twice, Then the first run adds both indexes, the
    second changes nothing, and the store opens and lists per tenant."""
    table = unique("jobs")
    create_table_of_version_1(ministack, table)
    settings = Settings(jobs_table=table)
    with pytest.raises(ConfigurationError, match="aws-init"):
        open_dynamodb_store(settings, ministack.admin)

    first = aws.aws_init(settings, ministack.admin)
    second = aws.aws_init(settings, ministack.admin)

    assert "index byTenant: created" in str(first) and "index byTenantStatus: created" in str(first)
    assert "index" not in str(second)
    store = open_dynamodb_store(settings, ministack.admin)
    try:
        from levelforge.jobs import new_job  # noqa: PLC0415

        job = store.insert(new_job(dict(SPEC), tenant="acme")).job
        assert [listed.id for listed in store.page("acme", None, 10, None)] == [job.id]
        assert store.page("globex", None, 10, None) == []
    finally:
        store.close()


def test_a_new_table_has_the_tenant_indexes(ministack: Emulator) -> None:
    table = unique("jobs")
    aws.aws_init(Settings(jobs_table=table), ministack.admin)

    description = aws.client("dynamodb", "JOBS_TABLE", ministack.admin).describe_table(TableName=table)
    indexes = {
        index["IndexName"]: [key["AttributeName"] for key in index["KeySchema"]]
        for index in description["Table"]["GlobalSecondaryIndexes"]
    }
    assert indexes == {"byTenant": ["tenant", "createdKey"], "byTenantStatus": ["status", "tenantCreatedKey"]}


@pytest.fixture
def orchestrators(ministack: Emulator, tmp_path: Path) -> Iterator[list[TestClient]]:
    """Two Orchestrators on one DynamoDB table, each limited to 3 creations a minute."""
    table = unique("jobs")
    aws.aws_init(Settings(jobs_table=table), ministack.admin)
    settings = Settings(
        jobs_table=table, database_path=tmp_path / "queue.db", api_keys=f"acme:{KEY}", rate_limit_per_minute=3
    )
    parts: list[DynamoJobStore | LocalQueue] = []
    clients = []
    for _ in range(2):
        store = open_dynamodb_store(settings, ministack.admin)
        queue = LocalQueue(tmp_path / "queue.db", visibility_timeout=30, max_deliveries=5)
        parts += [store, queue]
        app: FastAPI = create_app(settings, store, queue, consume_dead_letters=False)
        client = TestClient(app, headers={"Authorization": f"Bearer {KEY}"})
        clients.append(client.__enter__())
    yield clients
    for client in clients:
        client.__exit__(None, None, None)
    for part in parts:
        part.close()


def test_the_rate_limit_holds_across_orchestrators_on_dynamodb(orchestrators: list[TestClient]) -> None:
    """Given two Orchestrators sharing a table, limit 3, When a tenant alternates 6
    creations between them, Then 3 are created and 3 are 429 with Retry-After; a replay
    of a created one still answers 200."""
    if time.time() % 60 > 50:
        time.sleep(60 - time.time() % 60 + 0.05)
    one, two = orchestrators
    answers = [
        (one if turn % 2 else two).post("/jobs", json=SPEC, headers={"Idempotency-Key": f"k{turn}"})
        for turn in range(6)
    ]

    assert [answer.status_code for answer in answers] == [202] * 3 + [429] * 3
    assert all(1 <= int(answer.headers["Retry-After"]) <= 60 for answer in answers[3:])
    assert one.post("/jobs", json=SPEC, headers={"Idempotency-Key": "k0"}).status_code == 200
    assert len(two.get("/jobs").json()["jobs"]) == 3
