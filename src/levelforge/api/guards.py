"""What is judged before a route runs (CONTRACT §2's order): the internal token (401,
internal routes only: ``internal.InternalApi``), then the body size (413, chunked bodies
included: ``RequestGuard`` on the public routes, ``internal.read_request`` on the
internal ones).

``RequestGuard`` is a pure ASGI middleware: it reads the body once, up to the limit, and
replays it.
"""

from __future__ import annotations

import hmac
import json
import zlib
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from levelforge.config import PUBLIC_BODY_LIMIT

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
    """413 for public request bodies over ``PUBLIC_BODY_LIMIT``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = PUBLIC_BODY_LIMIT
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
