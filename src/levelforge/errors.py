"""The levelforge error hierarchy, in one place.

    LevelforgeError                  base of everything raised on purpose
    ├── ConfigurationError           bad or missing configuration, raised at start
    ├── SpecError                    a level spec that is refused (422, names the field)
    ├── GenerationFailed             a valid spec that produced no valid level (job fails)
    │   └── ConstraintsUnmet         a level met every check but not the spec's constraints
    ├── StoreUnavailable             the job store does not answer (503)
    ├── RateLimited                  a tenant's job creations over its limit (429)
    └── JobError                     a rule of the job life cycle (CONTRACT §1, §6)
        ├── JobNotFound              no such job (404)
        ├── JobTerminal              the job is done or failed; carries it (409)
        ├── StepAlreadyRecorded      the stepId is already in the job (200, duplicate)
        └── IdempotencyKeyReused     same key, different body (422)

Backends translate their vendor errors into these at the boundary (``raise … from exc``);
the API maps them to HTTP status codes in one exception handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from levelforge.jobs import Job, JobStatus


class LevelforgeError(Exception):
    """Base of every error levelforge raises on purpose."""


class ConfigurationError(LevelforgeError):
    """The configuration is missing or wrong; names the variable."""


class SpecError(LevelforgeError):
    """A level spec is refused. ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class GenerationFailed(LevelforgeError):
    """No valid level after the bounded attempts. ``details`` says why."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.details = details


class ConstraintsUnmet(GenerationFailed):
    """The bounded attempts made no level meeting the spec's constraints (CONTRACT §4.1);
    ``details["constraint"]`` names the one missed last."""


class StoreUnavailable(LevelforgeError):
    """The job store did not answer."""


class RateLimited(LevelforgeError):
    """A tenant created its ``RATE_LIMIT_PER_MINUTE`` jobs in this window already;
    ``retry_after`` is the number of seconds until the window frees."""

    def __init__(self, tenant: str, limit: int, retry_after: int) -> None:
        super().__init__(f"over the limit of {limit} job creations per minute; retry in {retry_after} s")
        self.tenant = tenant
        self.limit = limit
        self.retry_after = retry_after


class JobError(LevelforgeError):
    """A rule of the job life cycle refused an operation."""

    def __init__(self, job_id: str, message: str) -> None:
        super().__init__(message)
        self.job_id = job_id


class JobNotFound(JobError):
    def __init__(self, job_id: str) -> None:
        super().__init__(job_id, f"job {job_id} not found")


class JobTerminal(JobError):
    """The job is already ``done`` or ``failed``; ``job`` is its current record."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.id, f"job {job.id} is already {job.status.value}")
        self.job = job

    @property
    def status(self) -> JobStatus:
        return self.job.status


class StepAlreadyRecorded(JobError):
    """The step event is already recorded; ``status`` is the job's current status."""

    def __init__(self, job_id: str, step_id: str, status: JobStatus) -> None:
        super().__init__(job_id, f"step {step_id} is already recorded")
        self.step_id = step_id
        self.status = status


class IdempotencyKeyReused(JobError):
    """The Idempotency-Key was used before with a different body."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id, "this Idempotency-Key was already used with a different body")
