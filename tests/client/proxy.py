"""A real HTTP proxy on 127.0.0.1, in a thread of the test process, between the client and a
real ``serve``: it forwards every request, and answers or breaks the ones a test picks
(a 503 with ``Retry-After``, a connection reset after the request reached the server, a
missing route), recording what passed through."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import httpx

#: headers the proxy sets itself (hop by hop, or about the bytes it relays decoded)
DROPPED = {
    "connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade",
    "accept-encoding", "content-encoding",
}

Action = Literal["forward", "unavailable", "reset_after_forward", "not_found"]


@dataclass(frozen=True)
class Passed:
    """One request the proxy saw, and what became of it."""

    method: str
    path: str
    idempotency_key: str | None
    action: Action
    status: int | None  # what the client got (None: the connection was reset)
    upstream_status: int | None  # what serve answered (None: not forwarded)
    retry_after: str | None
    replayed: bool
    at: float  # time.monotonic() when the client's request arrived


@dataclass
class Proxy:
    upstream: str
    #: (method, path) → action, for each request in turn; "forward" when it returns nothing
    decide: Callable[[str, str], Action | None] = lambda method, path: None
    seen: list[Passed] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.upstream, timeout=30.0)
        self.server = ProxyServer(("127.0.0.1", 0), Relay)
        self.server.proxy = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.http.close()

    def requests_to(self, method: str, path: str) -> list[Passed]:
        return [seen for seen in self.seen if seen.method == method and seen.path == path]

    def record(self, handler: Relay, status: int | None, upstream: httpx.Response | None) -> None:
        replayed = upstream is not None and upstream.headers.get("Idempotent-Replayed") == "true"
        retry_after = upstream.headers.get("Retry-After") if upstream is not None else None
        self.seen.append(
            Passed(
                handler.command, handler.route, handler.headers.get("Idempotency-Key"), handler.action,
                status, upstream.status_code if upstream is not None else None,
                "1" if handler.action == "unavailable" else retry_after, replayed, handler.arrived,
            )
        )


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    proxy: Proxy


class Relay(BaseHTTPRequestHandler):
    """One client connection: each request forwarded, answered or broken as ``decide`` says."""

    protocol_version = "HTTP/1.1"
    server: ProxyServer
    route = ""
    action: Action = "forward"
    arrived = 0.0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.relay()

    def do_POST(self) -> None:
        self.relay()

    def relay(self) -> None:
        proxy = self.server.proxy
        self.arrived = time.monotonic()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.route = self.path.split("?", 1)[0]
        self.action = proxy.decide(self.command, self.route) or "forward"
        if self.action == "unavailable":
            proxy.record(self, 503, None)
            self.answer(503, {"Retry-After": "1", "Content-Type": "application/json"},
                        b'{"error":"unavailable","message":"the proxy says: try again in 1 s"}')
            return
        if self.action == "not_found":
            proxy.record(self, 404, None)
            self.answer(404, {"Content-Type": "application/json"}, b'{"detail":"Not Found"}')
            return
        headers = {name: value for name, value in self.headers.items() if name.lower() not in DROPPED}
        upstream = proxy.http.request(self.command, self.path, headers=headers, content=body)
        if self.action == "reset_after_forward":
            proxy.record(self, None, upstream)
            # RST instead of FIN: the client sees its connection reset, the job made
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        proxy.record(self, upstream.status_code, upstream)
        passed = {name: value for name, value in upstream.headers.items() if name.lower() not in DROPPED}
        self.answer(upstream.status_code, passed, upstream.content)

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
