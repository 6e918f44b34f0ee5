"""Fixtures of the contract suites: every test runs once per backend kind. The AWS kinds
(DynamoDB, SQS) run against the session's ministack, each test on its own fresh table or
queue pair; without the emulator they are skipped locally and fail in CI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from levelforge import aws
from levelforge.config import Settings
from levelforge.ports import JobQueue, JobStore
from tests.aws.emulator import Emulator, ministack, unique
from tests.contract.contract_backends import (
    AWS_KINDS,
    DEFAULT_AWS,
    QUEUE_KINDS,
    STORE_KINDS,
    QueueRecipe,
    StoreRecipe,
)

__all__ = ["ministack"]  # the session's emulator, for the AWS kinds


@pytest.fixture(autouse=True)
def aws_for_recipes(request: pytest.FixtureRequest) -> None:
    """A test parametrised with an AWS kind gets the emulator (or is skipped without it),
    and recipes made without a connection use its admin user."""
    callspec = getattr(request.node, "callspec", None)
    kinds = set(callspec.params.values()) if callspec is not None else set()
    if kinds & AWS_KINDS:
        emulator: Emulator = request.getfixturevalue("ministack")
        DEFAULT_AWS[:] = [emulator.admin]


@pytest.fixture(params=STORE_KINDS)
def store_recipe(request: pytest.FixtureRequest, tmp_path: Path) -> StoreRecipe:
    """A fresh, empty store of each kind (a child process can open it too)."""
    if request.param == "dynamodb":
        emulator: Emulator = request.getfixturevalue("ministack")
        table = unique("jobs")
        aws.create_jobs_table(aws.client("dynamodb", "JOBS_TABLE", emulator.admin), table, aws.InitReport())
        return StoreRecipe(kind="dynamodb", location=table, aws=emulator.admin)
    return StoreRecipe(kind=request.param, location=str(tmp_path / "levelforge.db"))


@pytest.fixture
def make_store(store_recipe: StoreRecipe) -> Iterator[Callable[[], JobStore]]:
    """Opens handles on the test's store; every one is closed at the end."""
    opened: list[JobStore] = []

    def make() -> JobStore:
        opened.append(store_recipe.open())
        return opened[-1]

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], JobStore]) -> JobStore:
    return make_store()


@pytest.fixture(params=QUEUE_KINDS)
def queue_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def queue_location(
    queue_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[int], tuple[str, aws.Connection | None]]:
    """Where the test's queue is: the SQLite file, or an SQS queue pair made on first use
    with the first caller's ``max_deliveries`` (as its redrive policy)."""
    made: list[tuple[str, aws.Connection | None]] = []

    def locate(max_deliveries: int) -> tuple[str, aws.Connection | None]:
        if not made:
            if queue_kind == "sqs":
                emulator: Emulator = request.getfixturevalue("ministack")
                sqs = aws.client("sqs", "JOBS_QUEUE_URL", emulator.admin)
                url = f"{emulator.url}/{'0' * 12}/{unique('jobs')}"
                settings = Settings(jobs_queue_url=url, max_deliveries=max_deliveries)
                aws.create_queues(sqs, settings, aws.InitReport())
                sqs.close()
                made.append((url, emulator.admin))
            else:
                made.append((str(tmp_path / "levelforge.db"), None))
        return made[0]

    return locate


@pytest.fixture
def make_queue(
    queue_kind: str, queue_location: Callable[[int], tuple[str, aws.Connection | None]]
) -> Iterator[Callable[..., tuple[JobQueue, QueueRecipe]]]:
    """``make_queue(visibility_timeout=…, max_deliveries=…)``: a handle on the test's
    queue and the recipe to open more (in threads or child processes)."""
    opened: list[JobQueue] = []

    def make(
        visibility_timeout: float = 30.0, max_deliveries: int = 5
    ) -> tuple[JobQueue, QueueRecipe]:
        location, connection = queue_location(max_deliveries)
        recipe = QueueRecipe(queue_kind, location, visibility_timeout, max_deliveries, connection)
        opened.append(recipe.open())
        return opened[-1], recipe

    yield make
    for queue in opened:
        queue.close()
