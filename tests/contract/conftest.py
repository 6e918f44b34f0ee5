"""Fixtures of the contract suites: every test runs once per backend kind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from levelforge.ports import JobQueue, JobStore
from tests.contract.contract_backends import QUEUE_KINDS, STORE_KINDS, QueueRecipe, StoreRecipe


@pytest.fixture(params=STORE_KINDS)
def store_recipe(request: pytest.FixtureRequest, tmp_path: Path) -> StoreRecipe:
    """A fresh, empty store of each kind (a child process can open it too)."""
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
def make_queue(
    queue_kind: str, tmp_path: Path
) -> Iterator[Callable[..., tuple[JobQueue, QueueRecipe]]]:
    """``make_queue(visibility_timeout=…, max_deliveries=…)``: a handle on the test's
    queue and the recipe to open more (in threads or child processes)."""
    opened: list[JobQueue] = []

    def make(
        visibility_timeout: float = 30.0, max_deliveries: int = 5
    ) -> tuple[JobQueue, QueueRecipe]:
        recipe = QueueRecipe(
            queue_kind, str(tmp_path / "levelforge.db"), visibility_timeout, max_deliveries
        )
        opened.append(recipe.open())
        return opened[-1], recipe

    yield make
    for queue in opened:
        queue.close()
