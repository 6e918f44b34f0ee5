"""Turning every failure into ``{"error", "message", "details"}`` with its status code.

Domain errors (``levelforge.errors``) map to statuses here, once; ``Problem`` is for what
only the HTTP layer knows (a bad cursor, an artifact not produced yet). Nothing ever
answers with a stack trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from levelforge.errors import (
    IdempotencyKeyReused,
    JobNotFound,
    JobTerminal,
    LevelforgeError,
    RateLimited,
    StoreUnavailable,
)
from levelforge.generation.spec import field_path

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "1"


class Problem(Exception):
    def __init__(self, status: int, error: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details


@dataclass(frozen=True)
class Answer:
    """An error answer, whichever app gives it: status, ``{"error", "message", "details"}``
    and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers or None)


def error_answer(http_status: int, error: str, message: str, details: Any = None, **extra: Any) -> Answer:
    body: dict[str, Any] = {"error": error, "message": message}
    if details is not None:
        body["details"] = details
    body.update(extra)
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if http_status == 503 else {}
    return Answer(http_status, body, headers)


def error_response(
    http_status: int, error: str, message: str, details: Any = None, **extra: Any
) -> JSONResponse:
    return error_answer(http_status, error, message, details, **extra).response()


def field_name(loc: tuple[Any, ...]) -> str:
    """``("body", "rooms")`` → ``rooms``; ``("header", "idempotency-key")`` → the header."""
    if len(loc) >= 1 and loc[0] == "header":
        return "Idempotency-Key" if loc[1:] == ("idempotency-key",) else ".".join(map(str, loc[1:]))
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path") else list(loc)
    return field_path(parts) or str(loc[0] if loc else "body")


def validation_details(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic's errors (locations starting with ``body``, ``query``, ``header`` …) as
    ``details`` entries naming each field."""
    details = []
    for error in errors:
        if error.get("type") == "json_invalid":
            details.append({"field": "body", "message": "malformed JSON", "type": "json_invalid"})
            continue
        loc = tuple(error.get("loc", ()))
        field = field_name(loc)
        if error.get("type") == "missing" and loc == ("body",):
            field = "body"
        details.append({"field": field, "message": str(error.get("msg")), "type": str(error.get("type"))})
    return details


def invalid_request(errors: Sequence[Any]) -> Answer:
    """The ``422`` of a request that failed validation, naming the first field."""
    details = validation_details(errors)
    first = details[0] if details else {"field": "body", "message": "invalid request"}
    error = "invalid_json" if first.get("type") == "json_invalid" else "validation_error"
    return error_answer(422, error, f"{first['field']}: {first['message']}", details)


async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return invalid_request(exc.errors()).response()


async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return error_response(exc.status, exc.error, exc.message, exc.details)


async def on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LevelforgeError)
    return domain_error_response(exc)


def domain_error_response(exc: LevelforgeError) -> JSONResponse:
    return domain_answer(exc).response()


def domain_answer(exc: LevelforgeError) -> Answer:
    """The answer to a domain error, wherever it was raised (a public or internal route)."""
    if isinstance(exc, JobNotFound):
        return error_answer(404, "not_found", str(exc))
    if isinstance(exc, JobTerminal):
        return error_answer(409, "job_terminal", str(exc), status=exc.status.value)
    if isinstance(exc, IdempotencyKeyReused):
        return error_answer(422, "idempotency_key_reused", str(exc), {"field": "Idempotency-Key"})
    if isinstance(exc, RateLimited):
        details = {"limit": exc.limit, "retryAfter": exc.retry_after}
        answer = error_answer(429, "rate_limited", str(exc), details)
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    if isinstance(exc, StoreUnavailable):
        logger.warning("job store unavailable: %s", exc)
        return error_answer(503, "store_unavailable", "the job store is not answering; retry later")
    logger.error("unhandled levelforge error: %s", exc)
    return error_answer(500, "internal_error", "internal error")


async def on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # a body FastAPI could not parse (e.g. nested past the recursion limit)
        return error_response(
            422,
            "invalid_json",
            "body: malformed JSON",
            [{"field": "body", "message": "malformed JSON", "type": "json_invalid"}],
        )
    names = {404: "not_found", 405: "method_not_allowed"}
    error = names.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    response = error_response(exc.status_code, error, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(LevelforgeError, on_domain_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
