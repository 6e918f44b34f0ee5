"""Fixtures of the AWS suite: the session's ministack, and per test a fresh set of AWS
resources (table, bucket, queue and dead-letter queue, made by ``aws_init``) with the two
IAM users of docs/aws.md, each holding exactly the policy documented there."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from levelforge import aws
from levelforge.config import Settings
from tests.aws.emulator import ACCOUNT, REGION, REPO, Emulator, ministack, unique
from tests.e2e.conftest import Deployment
from tests.e2e.processes import environment

__all__ = ["ministack"]

DOCS = REPO / "docs" / "aws.md"


def documented_policy(role: str, names: dict[str, str]) -> dict[str, Any]:
    """The IAM policy docs/aws.md gives ``role``, its placeholders replaced by ``names``."""
    found = re.search(rf"<!-- policy:{role} -->\s*```json\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert found, f"docs/aws.md has no policy for {role}"
    text = found.group(1)
    for placeholder, value in names.items():
        text = re.sub(rf"\b{placeholder}\b", value, text)
    policy: dict[str, Any] = json.loads(text)
    return policy


@dataclass
class Stack:
    """The AWS resources of one test and who may use them."""

    emulator: Emulator
    table: str
    bucket: str
    queue: str
    visibility_timeout: float
    max_deliveries: int

    @property
    def queue_url(self) -> str:
        return f"{self.emulator.url}/{ACCOUNT}/{self.queue}"

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "jobs_table": self.table, "artifacts_bucket": self.bucket, "jobs_queue_url": self.queue_url,
            "visibility_timeout_seconds": self.visibility_timeout, "max_deliveries": self.max_deliveries,
        }
        return Settings(**(values | overrides))

    def user(self, role: str) -> aws.Connection:
        names = {"REGION": REGION, "ACCOUNT": ACCOUNT, "TABLE": self.table, "BUCKET": self.bucket,
                 "QUEUE": self.queue}
        return self.emulator.user(unique(role), documented_policy(role, names))

    def environment(self, database: Path, user: aws.Connection, **extra: str) -> dict[str, str]:
        """A levelforge process's environment: these resources, reached as ``user``."""
        return environment(
            database, JOBS_TABLE=self.table, ARTIFACTS_BUCKET=self.bucket, JOBS_QUEUE_URL=self.queue_url,
            VISIBILITY_TIMEOUT_SECONDS=str(self.visibility_timeout), MAX_DELIVERIES=str(self.max_deliveries),
            **self.emulator.environment(user), **extra,
        )


def make_stack(emulator: Emulator, *, visibility_timeout: float = 2, max_deliveries: int = 5) -> Stack:
    stack = Stack(
        emulator, unique("jobs"), unique("artifacts"), unique("jobs"), visibility_timeout, max_deliveries
    )
    aws.aws_init(stack.settings(), emulator.admin)
    return stack


@pytest.fixture
def stack(ministack: Emulator) -> Stack:
    return make_stack(ministack)


@dataclass
class AwsDeployment(Deployment):
    """Real levelforge processes on a ``Stack``: the Orchestrator as the documented
    Orchestrator user, Workers as the documented Worker user."""

    stack: Stack | None = None
    worker_env: dict[str, str] | None = None

    def worker(self, env: dict[str, str] | None = None) -> Any:
        return super().worker(env or self.worker_env)


def deploy(stack: Stack, tmp: Path, **extra: str) -> AwsDeployment:
    database = tmp / "unused.db"
    return AwsDeployment(
        tmp=tmp, env=stack.environment(database, stack.user("orchestrator"), **extra), stack=stack,
        worker_env=stack.environment(database, stack.user("worker"), **extra),
    )


@pytest.fixture
def deployment(stack: Stack, tmp_path: Path) -> Iterator[AwsDeployment]:
    deployment = deploy(stack, tmp_path, PRESIGN_EXPIRES_SECONDS="5")
    try:
        yield deployment
    finally:
        deployment.close()
