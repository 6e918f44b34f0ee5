"""`levelforge aws-init` and the start-up checks of the AWS backends (CONTRACT §8: missing
or wrong AWS configuration fails at start, naming the variable, not at the first request)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from levelforge.artifacts import open_artifacts
from levelforge.config import load_settings
from levelforge.errors import ConfigurationError
from levelforge.queues import open_queue
from levelforge.stores import open_store
from tests.aws.emulator import ACCOUNT, REGION, Emulator, unique
from tests.e2e.processes import environment


def aws_init(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "levelforge", "aws-init"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )


def test_aws_init_creates_everything_once_and_a_second_run_changes_nothing(
    ministack: Emulator, tmp_path: Path
) -> None:
    """Given fresh names for the table, bucket and queue
    When `levelforge aws-init` runs twice
    Then the first run creates the table (with TTL and point-in-time recovery), the bucket
    (versioned), the dead-letter queue and the queue; the second finds them all and changes
    nothing; the services then start."""
    queue = unique("jobs")
    env = environment(
        tmp_path / "unused.db", JOBS_TABLE=unique("jobs"), ARTIFACTS_BUCKET=unique("artifacts"),
        JOBS_QUEUE_URL=f"{ministack.url}/{ACCOUNT}/{queue}", MAX_DELIVERIES="4",
        **ministack.environment(ministack.admin),
    )

    first, second = aws_init(env), aws_init(env)

    assert first.returncode == 0, first.stderr
    assert first.stdout.count("created") == 4 and "TTL on expiresAt: enabled" in first.stdout
    assert "point-in-time recovery: enabled" in first.stdout and "versioning: enabled" in first.stdout
    assert f"SQS queue {queue}-dlq: created" in first.stdout
    assert second.returncode == 0, second.stderr
    assert not {"created", "updated", "enabled"} & set(second.stdout.replace(":", " ").split())
    assert second.stdout.count("exists") == 7


def test_aws_init_brings_a_changed_redrive_policy_to_the_environment(
    ministack: Emulator, tmp_path: Path
) -> None:
    """Given queues made with MAX_DELIVERIES=5, When aws-init runs with 3, Then the
    queue's redrive policy is updated (and only that)."""
    env = environment(
        tmp_path / "unused.db", JOBS_QUEUE_URL=f"{ministack.url}/{ACCOUNT}/{unique('jobs')}",
        **ministack.environment(ministack.admin),
    )
    assert aws_init(env).returncode == 0

    changed = aws_init({**env, "MAX_DELIVERIES": "3"})

    assert changed.returncode == 0 and "updated RedrivePolicy" in changed.stdout, changed.stdout


@pytest.fixture
def aws_env(ministack: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The SDK's variables pointing at the emulator, as a deployment sets them."""
    for name, value in ministack.environment(ministack.admin).items():
        monkeypatch.setenv(name, value)
    return ministack


def test_a_missing_table_queue_or_bucket_is_named_at_start(aws_env: Emulator, tmp_path: Path) -> None:
    """Given names of resources that do not exist, When each backend opens, Then a
    ConfigurationError names its variable and says how to create it."""
    settings = load_settings(
        database_path=tmp_path / "x.db", jobs_table="no-such-table", artifacts_bucket="no-such-bucket",
        jobs_queue_url=f"{aws_env.url}/{ACCOUNT}/no-such-queue",
    )

    for opener, variable in ((open_store, "JOBS_TABLE"), (open_queue, "JOBS_QUEUE_URL"),
                             (open_artifacts, "ARTIFACTS_BUCKET")):
        with pytest.raises(ConfigurationError, match=variable) as refused:
            opener(settings)
        assert "aws-init" in str(refused.value)


def test_no_region_is_named_at_start(
    aws_env: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Given JOBS_TABLE but no region anywhere, When the store opens, Then the error
    names AWS_REGION (and JOBS_TABLE), before any request."""
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))

    with pytest.raises(ConfigurationError, match=r"JOBS_TABLE.*AWS_REGION"):
        open_store(load_settings(database_path=tmp_path / "x.db", jobs_table="jobs"))


def test_an_unreachable_endpoint_is_named_at_start(aws_env: Emulator, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """Given AWS_ENDPOINT_URL where nothing listens, When the queue opens, Then the error
    names JOBS_QUEUE_URL and AWS_ENDPOINT_URL rather than failing at the first job."""
    from levelforge import aws  # noqa: PLC0415

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(aws, "START_PATIENCE_SECONDS", 0)  # no wait for an outage to end
    settings = load_settings(database_path=tmp_path / "x.db", jobs_queue_url=f"http://127.0.0.1:9/{ACCOUNT}/q")

    with pytest.raises(ConfigurationError, match=r"JOBS_QUEUE_URL.*AWS_ENDPOINT_URL"):
        open_queue(settings)


def test_the_region_comes_from_aws_region(aws_env: Emulator, tmp_path: Path) -> None:
    """Given AWS_REGION (which the Python SDK does not read itself), When the store opens
    on an existing table, Then it is used."""
    assert REGION
    table = unique("jobs")
    from levelforge import aws  # noqa: PLC0415

    aws.aws_init(load_settings(jobs_table=table), aws_env.admin)
    store = open_store(load_settings(database_path=tmp_path / "x.db", jobs_table=table))
    try:
        store.ping()
    finally:
        store.close()
