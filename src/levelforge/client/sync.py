"""``Client``: the levelforge API from blocking code (``AsyncClient`` is its twin for asyncio)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

from levelforge.client.errors import ServiceUnreachable, WaitTimeout
from levelforge.client.protocol import (
    DEFAULT_URL,
    KEEP_ALIVE_SECONDS,
    POLL_INTERVAL_SECONDS,
    RETRY_ERRORS,
    Deadline,
    EventParser,
    Job,
    Progress,
    Retries,
    StepCallback,
    checked,
    create_body,
    events,
    inline_text,
    is_terminal,
    job_id_of,
    list_params,
    presigned_url,
)
from levelforge.jobs import JobStatus
from levelforge.resources import JobPage, JobPublic

logger = logging.getLogger(__name__)


class Client:
    """The levelforge API (CONTRACT §2) over HTTP, with retries and waiting built in.

    ``api_key`` is sent as ``Authorization: Bearer`` (CONTRACT §10). Every request is
    tried again after a 429 or 503 (after its ``Retry-After``) and after a transport error,
    as ``retries`` says: safe, because reads change nothing and ``create`` sends one
    ``Idempotency-Key`` with every try of the same call."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: Retries | None = None,
    ) -> None:
        self._timeout = timeout
        self._retries = retries or Retries()
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key is not None else {}
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the routes -------------------------------------------------------------------

    def create(
        self, spec: Mapping[str, Any], *, idempotency_key: str | None = None, webhook: str | None = None
    ) -> JobPublic:
        """A new job from a level spec (CONTRACT §4), or the job an earlier call with the same
        ``idempotency_key`` made (a fresh key per call when not given, kept across its
        retries). ``webhook``: a URL the Orchestrator POSTs the finished job to."""
        key = idempotency_key or str(uuid.uuid4())
        response = self._send(
            "POST", "/jobs", json=create_body(spec, webhook), headers={"Idempotency-Key": key}
        )
        return JobPublic.model_validate_json(checked(response).content)

    def get(self, job: Job) -> JobPublic:
        return self._job(job_id_of(job))

    def list(
        self, *, status: JobStatus | str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> JobPage:
        """One page of jobs, newest first; ``page.next_cursor`` asks for the next one."""
        response = self._send("GET", "/jobs", params=list_params(status, limit, cursor))
        return JobPage.model_validate_json(checked(response).content)

    def iter_jobs(self, *, status: JobStatus | str | None = None, limit: int = 100) -> Iterator[JobPublic]:
        """Every job, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = self.list(status=status, limit=limit, cursor=cursor)
            yield from page.jobs
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def cancel(self, job: Job) -> JobPublic:
        """The job, cancelled (``failed`` with ``error.code = "cancelled"``); ``Conflict`` when
        it was already terminal."""
        job_id = job_id_of(job)
        response, retried = self._send_counting("POST", f"/jobs/{job_id}/cancel")
        if response.status_code == 409 and retried:
            # an earlier try may have cancelled it before its answer was lost
            current = self._job(job_id)
            if current.error is not None and current.error.code == "cancelled":
                return current
        return JobPublic.model_validate_json(checked(response).content)

    def wait(
        self, job: Job, timeout: float | None = 300.0, *, on_step: StepCallback | None = None
    ) -> JobPublic:
        """The job once it is terminal (``done`` or ``failed``), with its result; ``WaitTimeout``
        after ``timeout`` seconds (None: no limit). Follows the job's event stream, pushed as
        each step is recorded (``on_step`` is called once per step, in order), and falls back
        to long polls when the stream is not there or breaks off."""
        job_id = job_id_of(job)
        deadline = Deadline.after(timeout)
        progress = Progress(on_step)
        try:
            self._follow(job_id, deadline, progress)
        except RETRY_ERRORS as exc:
            logger.info("event stream of job %s broke off (%s): polling", job_id, exc)
        while True:
            started = time.monotonic()
            current = self._job(job_id, wait=deadline.long_poll())
            progress.catch_up(current)
            if is_terminal(current):
                return current
            if deadline.passed:
                raise WaitTimeout(current, timeout or 0.0)
            pause = POLL_INTERVAL_SECONDS - (time.monotonic() - started)
            if pause > 0:  # the server answered at once: not a long poll
                time.sleep(min(pause, deadline.left() or pause))

    def artifact(self, job: Job, name: str) -> bytes:
        """An artifact's bytes (``scene-graph.json``, ``minimap.txt``, ``tiled.json``,
        ``preview.svg``): from the job's inline copy (text) or presigned URL when ``job`` is
        a resource that has them, else from the artifact route (following its redirect to
        the bucket, without the API key)."""
        if isinstance(job, JobPublic):
            inline = inline_text(job, name)
            if inline is not None:
                return inline
            url = presigned_url(job, name)
            if url is not None:
                fetched = self._fetch(url)
                if fetched is not None:
                    return fetched  # else expired, say: the route presigns afresh
        response = checked(self._send("GET", f"/jobs/{job_id_of(job)}/artifacts/{name}"))
        if response.is_redirect:
            url = str(response.url.join(response.headers["location"]))
            fetched = self._fetch(url)
            if fetched is None:
                raise ServiceUnreachable(f"the artifact's presigned URL did not answer 200: {url}")
            return fetched
        return response.content

    # -- the machinery ----------------------------------------------------------------

    def _job(self, job_id: str, wait: float | None = None) -> JobPublic:
        params = {"wait": f"{wait:g}"} if wait else None
        timeout = self._timeout + (wait or 0.0)
        response = self._send("GET", f"/status/{job_id}", params=params, timeout=timeout)
        return JobPublic.model_validate_json(checked(response).content)

    def _follow(self, job_id: str, deadline: Deadline, progress: Progress) -> None:
        """Report the job's events until its terminal status, the stream's end, or the deadline."""
        timeout = httpx.Timeout(self._timeout, read=deadline.stream_read_timeout(KEEP_ALIVE_SECONDS))
        path = f"/jobs/{job_id}/events"
        with self._http.stream("GET", path, headers=self._auth, timeout=timeout) as stream:
            if stream.status_code != 200:
                return  # 204: already terminal; an error: the long poll says which
            for event in events(stream.iter_lines(), EventParser()):
                progress.feed(event)
                if progress.terminal:
                    return

    def _fetch(self, url: str) -> bytes | None:
        """A presigned URL's bytes (None unless 200: expired, say); never with the API key."""
        try:
            response = self._http.get(url, headers={}, timeout=self._timeout)
        except RETRY_ERRORS:
            return None
        return response.content if response.status_code == 200 else None

    def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        return self._send_counting(method, path, **options)[0]

    def _send_counting(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **options: Any
    ) -> tuple[httpx.Response, bool]:
        """The answer after the retries, and whether a try failed without an answer."""
        lost = False
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(
                    method, path, headers={**self._auth, **(headers or {})}, **options
                )
            except RETRY_ERRORS as exc:
                delay = self._retries.after_error(attempt)
                if delay is None:
                    raise ServiceUnreachable(f"{method} {path}: {exc!r} after {attempt} tries") from exc
                logger.info("%s %s: %r; trying again in %.2f s", method, path, exc, delay)
                lost = True
                time.sleep(delay)
                continue
            delay = self._retries.after_answer(attempt, response)
            if delay is None:
                return response, lost
            logger.info("%s %s: %d; trying again in %.2f s", method, path, response.status_code, delay)
            time.sleep(delay)
