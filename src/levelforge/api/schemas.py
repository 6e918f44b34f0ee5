"""Wire models of the HTTP API: what comes in (strict) and what goes out (documented).
The public resources (``JobPublic``, ``JobPage``, ``ErrorBody``) are in ``levelforge.resources``,
shared with the Python client."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from levelforge.generation.spec import LevelSpecIn
from levelforge.jobs import SUMMARY_MAX_CHARS, CamelModel, JobFailure, JobStatus, Step
from levelforge.ports import DeliveryAttempt, DeliveryState
from levelforge.webhooks import URL_MAX_CHARS

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
STEP_NAME_REGEX = r"^[a-z][a-z0-9_]{0,63}$"


def finite_json(value: Any) -> Any:
    """Refuse NaN and ±Infinity anywhere inside a value: they are not JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("NaN and Infinity are not JSON numbers")
    if isinstance(value, dict):
        for item in value.values():
            finite_json(item)
    elif isinstance(value, list):
        for item in value:
            finite_json(item)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(finite_json)]


class StepIn(CamelModel):
    """One completed step, as a worker reports it."""

    model_config = ConfigDict(strict=True, extra="forbid")

    step_id: str = Field(min_length=3, max_length=200, description="{jobId}:{name}")
    name: str = Field(pattern=STEP_NAME_REGEX)
    started_at: str = Field(pattern=TIMESTAMP_PATTERN)
    ended_at: str = Field(pattern=TIMESTAMP_PATTERN)
    duration_ms: float = Field(ge=0, le=86_400_000)
    summary: str = Field(max_length=SUMMARY_MAX_CHARS)
    status: Literal["ok", "error"]

    def to_step(self) -> Step:
        return Step(**self.model_dump())


class CompleteIn(BaseModel):
    """The result of a done job. (NaN and Infinity are refused by the route's parser.)"""

    model_config = ConfigDict(extra="forbid")

    result: dict[str, Any]


class FailureIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    message: str = Field(min_length=1, max_length=2000)
    code: str | None = Field(default=None, max_length=64)
    details: JsonObject | None = None


class FailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error: FailureIn

    def to_failure(self) -> JobFailure:
        return JobFailure(**self.error.model_dump())


class StepRecorded(BaseModel):
    recorded: bool
    duplicate: bool | None = None
    status: JobStatus


class Health(BaseModel):
    status: Literal["ok"]


class WebhookIn(BaseModel):
    """Where to POST the job's resource when it ends (issue 19). Checked at creation:
    ``http``/``https``, a host, and no address that is not globally routable when the host
    is one (a name is checked at each delivery, against every address it resolves to)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    url: str = Field(
        min_length=1, max_length=URL_MAX_CHARS,
        description="http:// or https:// URL of the receiver; signed with the tenant's webhook secret",
    )


class JobCreate(LevelSpecIn):
    """The body of ``POST /jobs``: a level spec (CONTRACT §4), and optionally a webhook.
    The webhook is part of the request, not of the spec: it is taken out before the spec
    is normalised and recorded, so the same spec and seed give the same level."""

    webhook: WebhookIn | None = Field(default=None, description="POSTed the job when it ends")


class DeliveryAttemptOut(CamelModel):
    """One attempt: when, the answer's status code (``null``: none came), how long it
    took, what went wrong, and at most 1 KiB of the answer."""

    at: str
    webhook_id: str
    status_code: int | None
    latency_ms: float
    error: str | None
    response: str | None

    @classmethod
    def of(cls, attempt: DeliveryAttempt) -> DeliveryAttemptOut:
        return cls.model_validate(attempt.model_dump())


class Deliveries(CamelModel):
    """``GET /jobs/{id}/deliveries``: the job's webhook attempts, oldest first. ``state``
    is ``null`` while nothing is recorded (no webhook, or the job has not ended)."""

    state: DeliveryState | None
    webhook_id: str | None
    deliveries: list[DeliveryAttemptOut]
