"""What is judged before a route runs (CONTRACT §2's order): the internal token (401,
internal routes only), then the body size (413, chunked bodies included).

A pure ASGI middleware: it reads the body once, up to the route's limit, and replays it.
"""

from __future__ import annotations

import hmac
import json
import zlib
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from levelforge.config import INTERNAL_BODY_LIMIT, PUBLIC_BODY_LIMIT

INTERNAL_PREFIX = "/internal/"
TOKEN_HEADER = b"x-internal-token"
#: a gzip body (internal routes) may inflate to at most this much: a guard against bombs
INFLATED_LIMIT = 32 * 1024 * 1024
GZIP_WBITS = 31


def token_matches(given: bytes | None, accepted: Sequence[bytes]) -> bool:
    """Constant-time comparison against every accepted token (none accepted: refuse)."""
    if given is None or not accepted:
        return False
    matched = False
    for token in accepted:
        matched |= hmac.compare_digest(given, token)
    return matched


async def send_error(send: Send, status: int, body: dict[str, object]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestGuard:
    """401 for internal routes without a valid token, then 413 for oversized bodies."""

    def __init__(self, app: ASGIApp, tokens: Sequence[bytes]) -> None:
        self.app = app
        self.tokens = list(tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        internal = scope["path"].startswith(INTERNAL_PREFIX)
        headers = dict(scope["headers"])
        if internal and not token_matches(headers.get(TOKEN_HEADER), self.tokens):
            await send_error(
                send, 401, {"error": "unauthorized", "message": "missing or wrong X-INTERNAL-TOKEN"}
            )
            return
        limit = INTERNAL_BODY_LIMIT if internal else PUBLIC_BODY_LIMIT
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_error(send, 413, too_large(limit))
            return
        if (
            scope["method"] in ("GET", "HEAD", "OPTIONS")
            and declared is None
            and b"transfer-encoding" not in headers
        ):
            await self.app(scope, receive, send)
            return
        body, more_messages = await read_body(receive, limit)
        if body is None:
            await send_error(send, 413, too_large(limit))
            return
        if internal and headers.get(b"content-encoding") == b"gzip":
            inflated = inflate(body)
            if isinstance(inflated, int):
                await send_error(send, inflated, bad_gzip(inflated))
                return
            body, scope = inflated, without_encoding(scope, len(inflated))
        await self.app(scope, replay(body, more_messages, receive), send)


def inflate(body: bytes) -> bytes | int:
    """A gzip body inflated, or the status to answer: 413 past ``INFLATED_LIMIT``, 422 when
    it is not gzip."""
    inflater = zlib.decompressobj(wbits=GZIP_WBITS)
    try:
        data = inflater.decompress(body, INFLATED_LIMIT + 1)
    except zlib.error:
        return 422
    if len(data) > INFLATED_LIMIT or inflater.unconsumed_tail:
        return 413
    return data


def bad_gzip(status: int) -> dict[str, object]:
    if status == 413:
        return too_large(INFLATED_LIMIT) | {"message": f"the inflated body is over {INFLATED_LIMIT} bytes"}
    return {
        "error": "validation_error",
        "message": "body: not a valid gzip stream",
        "details": [{"field": "body", "message": "not a valid gzip stream"}],
    }


def without_encoding(scope: Scope, length: int) -> Scope:
    headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
    headers.append((b"content-length", str(length).encode()))
    return {**scope, "headers": headers}


def too_large(limit: int) -> dict[str, object]:
    return {
        "error": "payload_too_large",
        "message": f"the request body is over the limit of {limit} bytes",
        "details": {"limit": limit},
    }


async def read_body(receive: Receive, limit: int) -> tuple[bytes | None, list[Message]]:
    """The whole body, or ``None`` once it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, []
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), []


def replay(body: bytes, pending: list[Message], receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
