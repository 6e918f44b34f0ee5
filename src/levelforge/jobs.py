"""Jobs, steps and the rules of their life cycle (CONTRACT §1, §3, §6). Pure: no I/O.

The rules are written here once; every job store implements them with its own atomic
conditional write, taking the allowed-from sets below as the write's condition.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from ulid import ULID


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


TERMINAL: frozenset[JobStatus] = frozenset({JobStatus.DONE, JobStatus.FAILED})
#: a step event is recorded only while the job is in one of these
STEP_ALLOWED_FROM: frozenset[JobStatus] = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})
#: the first step event moves the job from these to ``running``
START_FROM: frozenset[JobStatus] = frozenset({JobStatus.QUEUED})
#: a job becomes terminal only from these
FINISH_ALLOWED_FROM: frozenset[JobStatus] = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})

#: the artifacts of CONTRACT §5: name → (result field, content type). Nothing else is served.
ARTIFACTS: dict[str, tuple[str, str]] = {
    "scene-graph.json": ("sceneGraph", "application/json"),
    "minimap.txt": ("asciiMinimap", "text/plain; charset=utf-8"),
    "tiled.json": ("tiled", "application/json"),
    "preview.svg": ("preview", "image/svg+xml"),
}

STEP_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: the tenant of every job when no ``API_KEYS`` are configured (CONTRACT §10)
DEFAULT_TENANT = "default"
#: a tenant's name (``API_KEYS``): no ``#`` or ``:``, so that it can prefix store keys
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SUMMARY_MAX_CHARS = 500


class CamelModel(BaseModel):
    """Snake case in Python, camel case on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Step(CamelModel):
    """One completed pipeline step, as recorded in the job."""

    step_id: str
    name: str
    started_at: str
    ended_at: str
    duration_ms: float
    summary: str
    status: Literal["ok", "error"]


class JobFailure(CamelModel):
    """The ``error`` of a failed job."""

    message: str
    code: str | None = None
    details: dict[str, Any] | None = None


class ResultJson(bytes):
    """A done job's result as JSON text (an object), as a worker sent it and the internal
    API checked it: a store writes it as it is, without parsing ~40 kB into objects only
    to write them out again."""


class Job(CamelModel):
    """A job as the store holds it. URLs of artifacts are never stored (added at read)."""

    id: str
    status: JobStatus
    spec: dict[str, Any]
    created_at: str
    updated_at: str
    steps: list[Step] = Field(default_factory=list)
    result: dict[str, Any] | None = None
    error: JobFailure | None = None
    #: whose job it is (CONTRACT §10): stored, never shown in the public resource
    tenant: str = Field(default=DEFAULT_TENANT, exclude=True)
    #: where the job's end is posted (issue 19): part of the request, not of the spec;
    #: stored, never shown in the public resource (a URL may hold a receiver's token)
    webhook_url: str | None = Field(default=None, exclude=True)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class IdempotencyClaim(CamelModel):
    """An Idempotency-Key and the fingerprint of the body it came with."""

    key: str
    fingerprint: str


class JobMessage(CamelModel):
    """What travels on the queue: the job's id and its normalised spec."""

    job_id: str
    spec: dict[str, Any]


def timestamp(moment: datetime | None = None) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``: ``2025-12-25T12:00:00.000Z``."""
    if moment is None:  # now: from the clock's seconds, a third of the cost of a datetime
        now = time.time()
        whole = int(now)
        return _second(whole) + f"{int((now - whole) * 1000):03d}Z"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@lru_cache(maxsize=4)
def _second(whole: int) -> str:
    """``2025-12-25T12:00:00.`` of a second since the epoch (the same second is asked for
    many times: every step and write within it)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(whole))


def new_job_id() -> str:
    return str(ULID())


def new_job(
    spec: dict[str, Any], now: str | None = None, tenant: str = DEFAULT_TENANT, webhook_url: str | None = None
) -> Job:
    now = now or timestamp()
    return Job(
        id=new_job_id(), status=JobStatus.QUEUED, spec=spec, created_at=now, updated_at=now, tenant=tenant,
        webhook_url=webhook_url,
    )


def step_id_for(job_id: str, name: str) -> str:
    return f"{job_id}:{name}"


def fingerprint(body: Any) -> str:
    """A digest of a JSON value that is equal for equal JSON, whatever the key order."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def cancelled_failure() -> JobFailure:
    return JobFailure(message="The job was cancelled.", code="cancelled")


def worker_lost_failure(deliveries: int) -> JobFailure:
    return JobFailure(
        message=f"No worker finished the job after {deliveries} deliveries.",
        code="worker_lost",
        details={"deliveries": deliveries},
    )
