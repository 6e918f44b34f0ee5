"""Fixtures of the fuzz suite: the real Orchestrator app over a SQLite job store and a local
queue in ``tmp_path``, seeded with one job in every state the contract knows, so that
generated requests reach the ``200`` and ``409`` paths and not only ``404``.

The seeded jobs:

- ``queued``: just created;
- ``running``: three steps recorded;
- ``done``: every step recorded and a real result (``generate_level`` + ``publish``, demo
  mode: artifacts inline);
- ``failed``: one step recorded, then failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from levelforge import lifecycle
from levelforge.api.app import create_app
from levelforge.artifacts.results import decoded, publish
from levelforge.config import Settings
from levelforge.generation import GENERATION_STEPS, generate_level
from levelforge.generation.spec import LevelSpecIn, normalise
from levelforge.jobs import JobFailure, Step, new_job, step_id_for
from levelforge.queues.local import LocalQueue
from levelforge.stores.sqlite import SqliteJobStore

TOKEN = "fuzz-s3cret-token"
STARTED_AT = "2025-12-25T12:00:00.000Z"
ENDED_AT = "2025-12-25T12:00:00.003Z"
#: a small level: generated in milliseconds, so seeding costs nothing
SMALL_SPEC = {"seed": 7, "width": 32, "height": 24, "rooms": 4}


@dataclass(frozen=True)
class Seeded:
    """Ids of the seeded jobs, by the status they were left in."""

    queued: str
    running: str
    done: str
    failed: str

    def all(self) -> list[str]:
        return [self.queued, self.running, self.done, self.failed]


def a_step(job_id: str, name: str) -> Step:
    return Step(
        step_id=step_id_for(job_id, name), name=name, started_at=STARTED_AT, ended_at=ENDED_AT,
        duration_ms=3, summary=f"did {name}", status="ok",
    )


#: positive cases may ask for a webhook (to 127.0.0.1 only: ``WEBHOOK_ALLOW_PRIVATE``)
WEBHOOK_SECRET = "whsec_" + "A" * 32


def insert_job(store: SqliteJobStore, steps: int = 0) -> str:
    """A new job with its first ``steps`` pipeline steps recorded."""
    job = new_job(normalise(LevelSpecIn.model_validate(SMALL_SPEC)))
    store.insert(job)
    for name in GENERATION_STEPS[:steps]:
        lifecycle.record_step(store, job.id, a_step(job.id, name))
    return job.id


def seed_jobs(store: SqliteJobStore, settings: Settings) -> Seeded:
    queued = insert_job(store)
    running = insert_job(store, steps=3)
    done = insert_job(store, steps=len(GENERATION_STEPS))
    level = generate_level(SMALL_SPEC)
    result = decoded(publish(done, level.summary, level.artifacts(), None, settings.inline_max_bytes))
    lifecycle.complete(store, done, result)
    failed = insert_job(store, steps=1)
    lifecycle.fail(store, failed, JobFailure(message="The level could not be generated.", code="fuzz"))
    return Seeded(queued=queued, running=running, done=done, failed=failed)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "levelforge.db"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(
        internal_token=TOKEN, database_path=db_path, webhook_secret=WEBHOOK_SECRET, webhook_allow_private=True
    )


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteJobStore]:
    store = SqliteJobStore(db_path)
    yield store
    store.close()


@pytest.fixture
def queue(db_path: Path) -> Iterator[LocalQueue]:
    queue = LocalQueue(db_path, visibility_timeout=30.0, max_deliveries=5)
    yield queue
    queue.close()


@pytest.fixture
def app(settings: Settings, store: SqliteJobStore, queue: LocalQueue) -> FastAPI:
    return create_app(settings, store, queue, consume_dead_letters=False)


@pytest.fixture
def seeded(store: SqliteJobStore, settings: Settings) -> Seeded:
    return seed_jobs(store, settings)
