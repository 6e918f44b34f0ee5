"""The worker's only way to the Orchestrator: its internal HTTP API (CONTRACT §6).

One keep-alive ``httpx.Client`` per worker process. Transport errors, 5xx and 429 are
retried with exponential backoff and full jitter (safe: step events are idempotent);
``409`` means the job is terminal and the worker stops.
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from levelforge.errors import LevelforgeError
from levelforge.jobs import JobFailure, Step

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
#: reports larger than this travel gzip-compressed (a large result in demo mode)
COMPRESS_OVER_BYTES = 64 * 1024


class ReportAbandoned(LevelforgeError):
    """The Orchestrator could not be reached before the worker had to stop."""


class ReportRejected(LevelforgeError):
    """The Orchestrator refused the report for good (a 4xx other than 404/409)."""


class ReportTooLarge(ReportRejected):
    """The report is over the Orchestrator's body limit even compressed (413)."""


class JobGone(LevelforgeError):
    """The Orchestrator does not know the job (404)."""


@dataclass(frozen=True)
class Reply:
    terminal: bool  # the job is done or failed: stop working on it
    duplicate: bool = False


@dataclass(frozen=True)
class Backoff:
    base: float = 0.05
    cap: float = 2.0
    give_up_after: float = 120.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2**attempt))


class Reporter:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        stop: threading.Event | None = None,
        backoff: Backoff | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"X-INTERNAL-TOKEN": token} if token else {}
        self.client = httpx.Client(
            base_url=base_url,
            headers=headers,
            timeout=httpx.Timeout(10.0),
            transport=transport,
            limits=httpx.Limits(max_keepalive_connections=32),
        )
        self.stop = stop or threading.Event()
        self.backoff = backoff or Backoff()

    def close(self) -> None:
        self.client.close()

    def step(self, job_id: str, step: Step) -> Reply:
        body = step.model_dump(by_alias=True, mode="json")
        response = self._post(f"/internal/jobs/{job_id}/step", body)
        if response.status_code == 409:
            return Reply(terminal=True)
        return Reply(terminal=False, duplicate=bool(response.json().get("duplicate")))

    def complete(self, job_id: str, result: dict[str, Any]) -> Reply:
        response = self._post(f"/internal/jobs/{job_id}/complete", {"result": result})
        return Reply(terminal=response.status_code == 409)

    def fail(self, job_id: str, failure: JobFailure) -> Reply:
        body = {"error": failure.model_dump(mode="json", exclude_none=True)}
        response = self._post(f"/internal/jobs/{job_id}/fail", body)
        return Reply(terminal=response.status_code == 409)

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        content, headers = encode_body(body)
        deadline = time.monotonic() + self.backoff.give_up_after
        attempt = 0
        while True:
            problem = self._try_post(path, content, headers)
            if isinstance(problem, httpx.Response):
                return problem
            if self.stop.is_set() or time.monotonic() >= deadline:
                raise ReportAbandoned(f"POST {path} did not get through: {problem}")
            delay = self.backoff.delay(attempt)
            logger.warning("POST %s failed (%s); retrying in %.2fs", path, problem, delay)
            self.stop.wait(delay)
            attempt += 1

    def _try_post(self, path: str, content: bytes, headers: dict[str, str]) -> httpx.Response | str:
        """The final response, or why this attempt should be retried."""
        try:
            response = self.client.post(path, content=content, headers=headers)
        except httpx.TransportError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.status_code in RETRYABLE_STATUS:
            return f"HTTP {response.status_code}"
        if response.status_code == 404:
            raise JobGone(f"POST {path}: the Orchestrator does not know this job")
        if response.status_code == 413:
            raise ReportTooLarge(f"POST {path}: {len(content)} bytes are over the Orchestrator's limit")
        if response.status_code >= 400 and response.status_code != 409:
            raise ReportRejected(f"POST {path}: HTTP {response.status_code} {response.text[:200]}")
        return response


def encode_body(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """JSON, gzip-compressed when it is large."""
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if len(data) > COMPRESS_OVER_BYTES:
        data = gzip.compress(data, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return data, headers
