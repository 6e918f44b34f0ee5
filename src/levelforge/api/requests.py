"""What every response carries, whatever answered it (a route, a guard, an error handler):

- ``X-Request-ID``: the client's own when it is well formed (1-128 of letters, digits and
  ``._:-``), else a new one. While the request is handled, ``logs.REQUEST_ID`` holds it, so
  every log line written on its behalf carries ``request_id``.
- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` on every
  response; on the viewer's (``/``, ``/web/…``) a Content-Security-Policy that allows only
  the viewer's own files (no inline script, no plug-ins, no framing; pictures from the
  server, ``data:`` and ``blob:`` URLs, which the viewer makes of downloaded previews).

A pure ASGI middleware, outermost, so that even a ``401`` or ``413`` has them.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from levelforge.logs import REQUEST_ID

REQUEST_ID_HEADER = b"x-request-id"
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
EVERY_RESPONSE = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
VIEWER_RESPONSE = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
)


def request_id_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _WELL_FORMED.match(value):
            return bytes(value).decode()
    return uuid.uuid4().hex


def is_viewer(path: str) -> bool:
    return path == "/" or path.startswith("/web/")


class RequestContext:
    """Sets the request id (response header and log context) and the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        extra = [(REQUEST_ID_HEADER, request_id.encode()), *EVERY_RESPONSE]
        if is_viewer(scope["path"]):
            extra += VIEWER_RESPONSE

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER]
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            REQUEST_ID.reset(token)
