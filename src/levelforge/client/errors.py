"""What the Python client raises. Every exception is a ``ClientError``::

    ClientError
    ├── ServiceUnreachable      no answer: refused, reset, timed out (after the retries)
    ├── ApiError                an error answer {"error", "message", "details"}; .status_code
    │   ├── Unauthorized        401: a missing or unknown API key
    │   ├── NotFound            404: no such job (or another tenant's), no such artifact
    │   ├── Conflict            409: the job is already terminal
    │   ├── InvalidRequest      422: the spec or a parameter is refused; .details names the field
    │   ├── RateLimited         429 still after the retries; .retry_after
    │   └── Unavailable         503 still after the retries; .retry_after
    ├── WaitTimeout             ``wait`` ran out of time; .job is the job as last seen
    └── WebhookVerificationError  ``verify_webhook`` refused a delivery
"""

from __future__ import annotations

from typing import Any

from levelforge.resources import JobPublic


class ClientError(Exception):
    """Anything the levelforge client raises."""


class ServiceUnreachable(ClientError):
    """The Orchestrator did not answer (connection refused or reset, a timeout), even after
    the retries."""


class ApiError(ClientError):
    """The Orchestrator answered with an error status."""

    def __init__(
        self, status_code: int, code: str, message: str, details: Any = None, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        #: seconds, from the answer's ``Retry-After`` (429 and 503)
        self.retry_after = retry_after


class Unauthorized(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class InvalidRequest(ApiError):
    pass


class RateLimited(ApiError):
    pass


class Unavailable(ApiError):
    pass


ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    404: NotFound,
    409: Conflict,
    422: InvalidRequest,
    429: RateLimited,
    503: Unavailable,
}


class WaitTimeout(ClientError, TimeoutError):
    """The job was not terminal within ``wait``'s timeout."""

    def __init__(self, job: JobPublic, timeout: float) -> None:
        super().__init__(f"job {job.id} still {job.status.value} after {timeout:g} s")
        self.job = job


class WebhookVerificationError(ClientError):
    """A webhook delivery whose signature or timestamp does not hold: do not trust its body."""
