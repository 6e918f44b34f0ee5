"""A process started while AWS does not answer waits for it (issue 6, store outage): the
start-up checks of the three AWS backends ask again, with capped backoff, while the endpoint
refuses or drops connections, and give up with a ``ConfigurationError`` naming the variable
only after ``START_PATIENCE_SECONDS``. Between the backend and the emulator sits a real TCP
front (the chaos campaigns' proxy) that hangs up its first connections, as an endpoint that
is down or still starting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.chaos.proxy import Proxy
from levelforge import aws
from levelforge.artifacts import open_artifacts
from levelforge.config import Settings, load_settings
from levelforge.errors import ConfigurationError
from levelforge.queues import open_queue
from levelforge.stores import open_store
from tests.aws.emulator import ACCOUNT, Emulator, unique


@pytest.fixture
def created(ministack: Emulator) -> dict[str, Any]:
    """A table, a bucket and a queue made by ``aws-init`` on the emulator."""
    names: dict[str, Any] = {"jobs_table": unique("jobs"), "artifacts_bucket": unique("artifacts"),
                             "queue": unique("jobs")}
    aws.aws_init(load_settings(
        jobs_table=names["jobs_table"], artifacts_bucket=names["artifacts_bucket"],
        jobs_queue_url=f"{ministack.url}/{ACCOUNT}/{names['queue']}",
    ), ministack.admin)
    return names


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """One SDK attempt per check (so that each dropped connection reaches levelforge's own
    loop) and short waits between checks."""
    monkeypatch.setattr(aws, "RETRIES_MAX_ATTEMPTS", 1)
    monkeypatch.setattr(aws, "START_RETRY_FIRST_SECONDS", 0.02)
    monkeypatch.setattr(aws, "START_RETRY_CAP_SECONDS", 0.1)


@pytest.fixture
def front(ministack: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], Proxy]]:
    fronts: list[Proxy] = []

    def make(refuse_first: int) -> Proxy:
        fronts.append(Proxy(ministack.port, refuse_first=refuse_first))
        for name, value in ministack.environment(ministack.admin).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", fronts[-1].url)
        return fronts[-1]

    yield make
    for made in fronts:
        made.close()


def settings_for(backend: str, names: dict[str, Any], endpoint: str, tmp_path: Path) -> Settings:
    chosen = {
        "store": {"jobs_table": names["jobs_table"]},
        "queue": {"jobs_queue_url": f"{endpoint}/{ACCOUNT}/{names['queue']}"},
        "artifacts": {"artifacts_bucket": names["artifacts_bucket"]},
    }[backend]
    return load_settings(database_path=tmp_path / "x.db", **chosen)


OPENERS: dict[str, Callable[[Settings], Any]] = {
    "store": open_store, "queue": open_queue, "artifacts": open_artifacts,
}
VARIABLES = {"store": "JOBS_TABLE", "queue": "JOBS_QUEUE_URL", "artifacts": "ARTIFACTS_BUCKET"}


@pytest.mark.usefixtures("quick_retries")
@pytest.mark.parametrize("backend", sorted(OPENERS))
def test_a_backend_opened_while_the_endpoint_drops_connections_waits_and_opens(
    backend: str, created: dict[str, Any], front: Callable[[int], Proxy], tmp_path: Path
) -> None:
    """Given an endpoint that resets its first 3 connections, when the backend opens, then
    it asks again until the endpoint answers and opens (no ConfigurationError)."""
    dropping = front(3)
    opened = OPENERS[backend](settings_for(backend, created, dropping.url, tmp_path))
    try:
        assert dropping.log.refused == 3
        assert [exchange.status for exchange in dropping.log.exchanges].count(200) == 1
        if backend == "store":
            opened.ping()  # the opened store works through the front
    finally:
        opened.close()


@pytest.mark.usefixtures("quick_retries")
@pytest.mark.parametrize("backend", sorted(OPENERS))
def test_an_endpoint_that_never_answers_stops_start_after_the_patience(
    backend: str, created: dict[str, Any], front: Callable[[int], Proxy], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given an endpoint that drops every connection, when the backend opens, then it asks
    more than once and, after START_PATIENCE_SECONDS, fails naming its variable."""
    monkeypatch.setattr(aws, "START_PATIENCE_SECONDS", 0.3)
    dropping = front(10**9)

    with pytest.raises(ConfigurationError, match=VARIABLES[backend]):
        OPENERS[backend](settings_for(backend, created, dropping.url, tmp_path))
    assert dropping.log.refused >= 2
    assert {exchange.status for exchange in dropping.log.exchanges} == {0}  # none answered


@pytest.mark.usefixtures("quick_retries")
def test_an_answer_that_is_an_error_is_not_asked_again(
    front: Callable[[int], Proxy], tmp_path: Path
) -> None:
    """Given a reachable endpoint without the table, when the store opens, then the missing
    table is reported at once: one request, no waiting for it to appear."""
    answering = front(0)
    with pytest.raises(ConfigurationError, match="JOBS_TABLE: there is no DynamoDB table"):
        open_store(load_settings(database_path=tmp_path / "x.db", jobs_table="no-such-table"))
    assert [exchange.status for exchange in answering.log.exchanges] == [400]
