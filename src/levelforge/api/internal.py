"""The internal API of CONTRACT §6: the workers' only door to the Orchestrator.

An ASGI app of its own, beside the public FastAPI app (``app.Orchestrator`` sends every
path under ``/internal/`` here and nothing else): eleven or more requests a job, so it
is kept lean. No framework routing, dependency solving or middleware stack: the request
is judged in the contract's order (token ``401``, body size ``413``, route ``404``/``405``,
shape ``422``), validated once by the pydantic models of ``schemas``, written through the
store's conditional write (``port_calls``), and answered in one message with the same
headers every response of the Orchestrator carries (``X-Request-ID``, ``nosniff``,
``Referrer-Policy``). Errors have the public app's bodies (``problems``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import orjson
import pydantic_core
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.types import Receive, Scope, Send

from levelforge import lifecycle
from levelforge.api.changes import JobChanges
from levelforge.api.guards import TOKEN_HEADER, bad_gzip, inflate, read_body, token_matches, too_large
from levelforge.api.metrics import Metrics
from levelforge.api.port_calls import PortCalls
from levelforge.api.presenting import present_json, present_stored
from levelforge.api.problems import Answer, domain_answer, error_answer, invalid_request
from levelforge.api.requests import EVERY_RESPONSE, REQUEST_ID_HEADER, request_id_of
from levelforge.api.schemas import CompleteIn, FailIn, StepIn, StepRecorded
from levelforge.config import INTERNAL_BODY_LIMIT
from levelforge.errors import JobTerminal, LevelforgeError, StepAlreadyRecorded
from levelforge.jobs import Job, ResultJson, step_id_for
from levelforge.logs import REQUEST_ID
from levelforge.ports import ArtifactStore, JobStore
from levelforge.resources import ErrorBody, JobPublic

logger = logging.getLogger(__name__)

PREFIX = "/internal/"
_ROUTE = re.compile(r"/internal/jobs/([^/]+)/(step|complete|fail)")
TEMPLATES = {name: f"/internal/jobs/{{job_id}}/{name}" for name in ("step", "complete", "fail")}
JSON = b"application/json"
UNAUTHORIZED = b'{"error":"unauthorized","message":"missing or wrong X-INTERNAL-TOKEN"}'

M = TypeVar("M", bound=BaseModel)


class Refused(Exception):
    """The request is answered with an error before anything is written."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.body.get("message"))
        self.answer = answer


@dataclass(frozen=True)
class Request:
    """What a handler needs of a request: the job and the (inflated) body."""

    job_id: str
    body: bytes


class InternalApi:
    """``POST /internal/jobs/{id}/step``, ``…/complete`` and ``…/fail``."""

    def __init__(
        self,
        *,
        tokens: list[bytes],
        store: JobStore,
        writes: PortCalls,
        artifacts: ArtifactStore | None,
        presign_expires_seconds: int,
        metrics: Metrics,
        changes: JobChanges,
    ) -> None:
        self.tokens = list(tokens)
        self.store = store
        self.writes = writes
        self.artifacts = artifacts
        self.presign_expires_seconds = presign_expires_seconds
        self.metrics = metrics
        self.changes = changes
        self.handlers: dict[str, Callable[[Request], Awaitable[bytes]]] = {
            "step": self.record_step,
            "complete": self.complete,
            "fail": self.fail,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = request_id_of(scope)
        token = REQUEST_ID.set(request_id)
        route = "unmatched"
        try:
            route, status, payload, headers = await self.answer(scope, receive)
        finally:
            REQUEST_ID.reset(token)
        await respond(send, status, payload, request_id, headers)
        self.metrics.request_seconds.labels(scope["method"], route, str(status)).observe(
            time.perf_counter() - started
        )

    async def answer(self, scope: Scope, receive: Receive) -> tuple[str, int, bytes, dict[str, str]]:
        """(route template, status, body, extra headers) of a request."""
        headers = dict(scope["headers"])
        if not token_matches(headers.get(TOKEN_HEADER), self.tokens):
            return "unmatched", 401, UNAUTHORIZED, {}
        route = _ROUTE.fullmatch(scope["path"])
        template = TEMPLATES[route.group(2)] if route else "unmatched"
        try:
            body = await read_request(headers, receive)
            if route is None:
                raise Refused(error_answer(404, "not_found", "Not Found"))
            if scope["method"] != "POST":
                answer = error_answer(405, "method_not_allowed", "Method Not Allowed")
                answer.headers["Allow"] = "POST"
                raise Refused(answer)
            payload = await self.handlers[route.group(2)](Request(route.group(1), body))
        except Refused as refused:
            answer = refused.answer
        except LevelforgeError as exc:
            answer = domain_answer(exc)
        else:
            return template, 200, payload, {}
        return template, answer.status, pydantic_core.to_json(answer.body), answer.headers

    async def record_step(self, request: Request) -> bytes:
        event = parse_body(StepIn, request.body)
        job_id = request.job_id
        if event.step_id != step_id_for(job_id, event.name):
            raise Refused(
                error_answer(
                    422,
                    "validation_error",
                    f"stepId: must be {step_id_for(job_id, event.name)!r}",
                    [{"field": "stepId", "message": "must be {jobId}:{name} of this job"}],
                )
            )
        try:
            status = await self.writes.write(lifecycle.record_step, self.store, job_id, event.to_step())
        except StepAlreadyRecorded as duplicate:
            self.metrics.step_duplicates.inc()
            return b'{"recorded":false,"duplicate":true,"status":"%s"}' % duplicate.status.value.encode()
        except JobTerminal:
            self.metrics.terminal_conflicts.labels("step").inc()
            raise
        self.metrics.steps_recorded.inc()
        self.changes.notify(job_id, status)
        return b'{"recorded":true,"status":"%s"}' % status.value.encode()

    async def complete(self, request: Request) -> bytes:
        result = parse_result(request.body)
        return await self.finish(request.job_id, "complete", lifecycle.complete, result)

    async def fail(self, request: Request) -> bytes:
        failure = parse_body(FailIn, request.body).to_failure()
        return await self.finish(request.job_id, "fail", lifecycle.fail, failure)

    async def finish(self, job_id: str, operation: str, write: Callable[..., Job], what: Any) -> bytes:
        """A terminal transition; a terminal job answers ``409``."""
        try:
            job = await self.writes.write(write, self.store, job_id, what)
        except JobTerminal:
            self.metrics.terminal_conflicts.labels(operation).inc()
            raise
        if not self.writes.reads_are_free:
            self.changes.notify(job_id, job.status)
            self.finished(job)
            if isinstance(what, ResultJson) and job.result is None:  # not parsed back by the store
                job = job.model_copy(update={"result": orjson.loads(bytes(what))})
            return present_json(job, self.artifacts, self.presign_expires_seconds)
        # the stored JSON, rather than serializing ~40 kB again; the long polls waiting for
        # this job answer with it too, and are let go first (the log line and the metric
        # after them): they are the callers waiting
        stored = await self.writes.read(self.store.get_json, job_id)
        self.changes.notify(job_id, job.status, stored)
        await asyncio.sleep(0)
        self.finished(job)
        return present_stored(stored, self.artifacts, self.presign_expires_seconds)

    def finished(self, job: Job) -> None:
        self.metrics.jobs_finished.labels(job.status.value).inc()
        code = job.error.code if job.error else None
        logger.info("job %s%s", job.status.value, f": {code}" if code else "", extra={"job_id": job.id})


async def read_request(headers: dict[bytes, bytes], receive: Receive) -> bytes:
    """The body, up to the internal limit (``413`` past it, a declared length included),
    inflated when it is gzip (``413`` for a bomb, ``422`` when it is not gzip)."""
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > INTERNAL_BODY_LIMIT:
        raise Refused(Answer(413, too_large(INTERNAL_BODY_LIMIT)))
    body, _after = await read_body(receive, INTERNAL_BODY_LIMIT)
    if body is None:
        raise Refused(Answer(413, too_large(INTERNAL_BODY_LIMIT)))
    if headers.get(b"content-encoding") == b"gzip":
        inflated = inflate(body)
        if isinstance(inflated, int):
            raise Refused(Answer(inflated, bad_gzip(inflated)))
        return inflated
    return body


class _Completion(msgspec.Struct, forbid_unknown_fields=True):
    result: msgspec.Raw


_COMPLETION = msgspec.json.Decoder(_Completion)


def parse_result(raw: bytes) -> ResultJson | dict[str, Any]:
    """A completion's result as the JSON text it came in (``ResultJson``), stored as it is.

    msgspec checks that the whole body is strict JSON of the shape ``{"result": {...}}``
    without building it (a 35 kB result in ~30 µs, against ~160 µs to parse it into
    objects and write them out again); the text is then checked to be UTF-8, which
    msgspec leaves to its reader. A body it refuses is judged by the models
    (``parse_body``), so that a refusal is the same ``422`` naming the field, and
    whatever they accept is kept."""
    try:
        text = bytes(_COMPLETION.decode(raw).result)
        text.decode("utf-8")
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        text = b""
    if text.startswith(b"{"):
        return ResultJson(text)
    return parse_body(CompleteIn, raw).result


def parse_body(model: type[M], raw: bytes) -> M:
    """A body parsed by ``orjson`` (strict JSON: NaN and Infinity refused; a completion's
    ~40 kB in ~60% of pydantic's parser's time) and validated by its model; a refusal
    names the field as the public routes do."""
    try:
        return model.model_validate(orjson.loads(raw))
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise Refused(invalid_request(errors)) from exc
    except (ValueError, RecursionError) as exc:  # malformed or too deeply nested JSON, NaN
        errors = [{"type": "json_invalid", "loc": ("body",), "msg": str(exc)}]
        raise Refused(invalid_request(errors)) from exc


async def respond(send: Send, status: int, payload: bytes, request_id: str, extra: dict[str, str]) -> None:
    headers = [
        (b"content-type", JSON),
        (b"content-length", b"%d" % len(payload)),
        (REQUEST_ID_HEADER, request_id.encode()),
        *EVERY_RESPONSE,
        *((name.lower().encode(), value.encode()) for name, value in extra.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def document_internal_routes(app: FastAPI) -> None:
    """The public app's OpenAPI description also describes the internal routes, from the
    same pydantic models this app validates with (the token is judged before the body, as
    a guard, and is named in each route's description)."""
    build = app.openapi
    routes: dict[str, tuple[str, type[BaseModel], type[BaseModel]]] = {
        "step": ("Record a step", StepIn, StepRecorded),
        "complete": ("Complete a job", CompleteIn, JobPublic),
        "fail": ("Fail a job", FailIn, JobPublic),
    }

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        models: list[type[BaseModel]] = [ErrorBody]
        for _summary, body, answer in routes.values():
            models += [body, answer]
        refs, extra = models_json_schema(
            [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
        )
        stored = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in extra.get("$defs", {}).items():
            stored.setdefault(name, definition)
        paths = schema.setdefault("paths", {})
        for name, (summary, body, answer) in routes.items():
            paths[TEMPLATES[name]] = {"post": operation(name, summary, body, answer, refs)}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def operation(
    name: str, summary: str, body: type[BaseModel], answer: type[BaseModel], refs: dict[Any, Any]
) -> dict[str, Any]:
    def ref(model: type[BaseModel]) -> Any:
        return refs[(model, "validation")]

    def json_content(model: type[BaseModel]) -> dict[str, Any]:
        return {"application/json": {"schema": ref(model)}}

    errors = {
        str(code): {"description": reason, "content": json_content(ErrorBody)}
        for code, reason in ERROR_REASONS.items()
    }
    return {
        "summary": summary,
        "operationId": f"internal_{name}",
        "description": "For workers: needs the `X-INTERNAL-TOKEN` header (INTERNAL_TOKEN).",
        "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": json_content(body)},
        "responses": {"200": {"description": "the answer", "content": json_content(answer)}, **errors},
    }


ERROR_REASONS = {
    401: "missing or wrong X-INTERNAL-TOKEN",
    404: "no such job",
    409: "the job is terminal",
    413: "body over 1 MiB",
    422: "malformed body",
    503: "the job store is not answering",
}
