"""The short chaos campaigns (benchmarks/chaos) in the test suite: real processes, a few
rounds each, on the embedded default and on AWS (ministack, skipped when not installed,
failing when ``CI`` is set)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest

from benchmarks.chaos.cluster import MINISTACK, Cluster, ClusterScope, Ministack


@pytest.fixture(scope="session")
def chaos_ministack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ministack]:
    """One ministack for the AWS cases (each makes its own table, bucket and queues); the
    store-outage case stops and starts it, its state persisting."""
    if not MINISTACK.exists():
        reason = f"ministack is not installed ({MINISTACK} is missing): run scripts/install-emulator.sh"
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the AWS emulator: {reason}")
        pytest.skip(reason)
    emulator = Ministack(tmp_path_factory.mktemp("chaos-ministack"))
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(params=["sqlite", "aws"])
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    shared = request.getfixturevalue("chaos_ministack") if request.param == "aws" else None
    with ClusterScope(request.param, visibility_timeout=2.0, ministack=shared) as made:
        yield made


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    return random.Random(request.node.nodeid)
