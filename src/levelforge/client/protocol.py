"""What the sync and async clients share, with no I/O of its own: the retry policy, how an
answer becomes a model or an exception, and the server-sent events parser."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from levelforge.client.errors import ERRORS_BY_STATUS, ApiError, NotFound
from levelforge.jobs import ARTIFACTS, TERMINAL, JobStatus
from levelforge.resources import JobPublic, Step

#: answers worth another try, after their ``Retry-After``
RETRY_STATUSES = frozenset({429, 503})
#: failures before any answer: the request may or may not have reached the Orchestrator,
#: which is why every request the client retries is safe to repeat (``create`` carries
#: an ``Idempotency-Key``)
RETRY_ERRORS = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)
#: the longest ``GET /status/{id}?wait=`` the server allows
LONG_POLL_SECONDS = 30.0
DEFAULT_URL = "http://127.0.0.1:8000"
#: the server sends a keep-alive comment on a quiet event stream every 15 s
KEEP_ALIVE_SECONDS = 45.0
#: the least time between two reads of a job when the server does not hold a long poll
POLL_INTERVAL_SECONDS = 0.5

Job = JobPublic | str
StepCallback = Callable[[Step], None]


@dataclass(frozen=True)
class Retries:
    """How often and how long a request is tried again.

    ``attempts`` counts every try, the first included. After a transport error the wait is
    ``backoff`` seconds doubled each time, with jitter; after a 429 or 503 it is the answer's
    ``Retry-After`` (``backoff`` when it has none), and an answer that asks for more than
    ``max_wait`` seconds is raised at once rather than slept on."""

    attempts: int = 5
    backoff: float = 0.5
    max_wait: float = 60.0
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    def after_error(self, attempt: int) -> float | None:
        """The wait before the next try after a transport error (None: no more tries)."""
        if attempt >= self.attempts:
            return None
        return self.backoff * 2.0 ** (attempt - 1) * (0.5 + self.jitter() / 2)

    def after_answer(self, attempt: int, response: httpx.Response) -> float | None:
        """The wait before the next try after this answer (None: the answer stands)."""
        if response.status_code not in RETRY_STATUSES or attempt >= self.attempts:
            return None
        delay = retry_after(response)
        if delay is None:
            return self.backoff * 2.0 ** (attempt - 1)
        return delay if delay <= self.max_wait else None


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date (None: absent or unreadable)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def api_error(response: httpx.Response) -> ApiError:
    """The exception for an error answer: by its status, with the body's code and message."""
    code, message, details = "http_error", response.text or response.reason_phrase, None
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        code = str(body.get("error", code))
        message = str(body.get("message", message))
        details = body.get("details")
    kind = ERRORS_BY_STATUS.get(response.status_code, ApiError)
    return kind(response.status_code, code, message, details, retry_after(response))


def checked(response: httpx.Response) -> httpx.Response:
    """The answer, or its ``ApiError`` when it is one."""
    if response.status_code >= 400:
        raise api_error(response)
    return response


def job_id_of(job: Job) -> str:
    return job if isinstance(job, str) else job.id


def is_terminal(job: JobPublic) -> bool:
    return job.status in TERMINAL


def create_body(spec: Mapping[str, Any], webhook: str | None) -> dict[str, Any]:
    """``POST /jobs``'s body: the spec, and beside it the webhook (part of the request, not
    of the spec: the same spec and seed still give the same level)."""
    body = dict(spec)
    if webhook is not None:
        body["webhook"] = {"url": webhook}
    return body


def list_params(status: JobStatus | str | None, limit: int | None, cursor: str | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if status is not None:
        params["status"] = JobStatus(status).value
    if limit is not None:
        params["limit"] = str(limit)
    if cursor is not None:
        params["cursor"] = cursor
    return params


def artifact_field(name: str) -> str:
    """The job result's field of an artifact (``tiled.json`` → ``tiled``)."""
    try:
        return ARTIFACTS[name][0]
    except KeyError:
        known = ", ".join(sorted(ARTIFACTS))
        raise NotFound(404, "not_found", f"no artifact named {name!r} (there are: {known})") from None


def inline_text(job: JobPublic, name: str) -> bytes | None:
    """A text artifact's bytes from the job's inline copy, when it has one (a JSON artifact's
    inline copy is parsed JSON: its exact bytes come from the artifact route)."""
    inline = (job.result or {}).get(artifact_field(name))
    return inline.encode() if isinstance(inline, str) else None


def presigned_url(job: JobPublic, name: str) -> str | None:
    """The artifact's presigned URL in the job (with an artifact bucket), when it has one."""
    url = (job.result or {}).get(f"{artifact_field(name)}Url")
    return url if isinstance(url, str) else None


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None


@dataclass
class EventParser:
    """Lines of a ``text/event-stream`` in, events out (the WHATWG rules the server's events
    need: ``event``, ``data`` over several lines, ``id``; comments and ``retry`` skipped)."""

    event: str = ""
    data: list[str] = field(default_factory=list)
    id: str | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        elif name == "id":
            self.id = value
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event = ServerSentEvent(self.event or "message", "\n".join(self.data), self.id) if self.data else None
        self.event, self.data = "", []
        return event


@dataclass
class Progress:
    """What ``wait`` has reported of a job: its steps, each once, whichever way they came
    (a ``step`` event's id is its 1-based position in the job's ``steps``)."""

    on_step: StepCallback | None
    steps: int = 0
    terminal: bool = False

    def feed(self, event: ServerSentEvent) -> None:
        if event.event == "step" and event.id is not None and event.id.isdigit():
            position = int(event.id)
            if position > self.steps:
                self.steps = position
                if self.on_step is not None:
                    self.on_step(Step.model_validate_json(event.data))
        elif event.event == "status":
            self.terminal = json.loads(event.data).get("status") in {status.value for status in TERMINAL}

    def catch_up(self, job: JobPublic) -> None:
        """Report the steps of a job read whole that no event has reported."""
        for step in job.steps[self.steps :]:
            if self.on_step is not None:
                self.on_step(step)
        self.steps = max(self.steps, len(job.steps))


def events(lines: Iterator[str], parser: EventParser) -> Iterator[ServerSentEvent]:
    for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event


@dataclass(frozen=True)
class Deadline:
    """When ``wait`` gives up (None: never)."""

    at: float | None

    @classmethod
    def after(cls, timeout: float | None) -> Deadline:
        return cls(None if timeout is None else time.monotonic() + timeout)

    def left(self) -> float | None:
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    def long_poll(self) -> float:
        """The next long poll's ``wait``: as long as the server allows, not past the deadline."""
        left = self.left()
        return LONG_POLL_SECONDS if left is None else min(LONG_POLL_SECONDS, left)

    def stream_read_timeout(self, keep_alive: float) -> float:
        """How long a read of the event stream may block: past the server's keep-alive
        comment only if something is wrong, never past the deadline."""
        left = self.left()
        return keep_alive if left is None else max(0.001, min(keep_alive, left))

    @property
    def passed(self) -> bool:
        left = self.left()
        return left is not None and left <= 0
