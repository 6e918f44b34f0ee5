"""Wire models of the HTTP API: what comes in (strict) and what goes out (documented).
The public resources (``JobPublic``, ``JobPage``, ``ErrorBody``) are in ``levelforge.resources``,
shared with the Python client."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from levelforge.jobs import SUMMARY_MAX_CHARS, CamelModel, JobFailure, JobStatus, Step

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
