"""A counting, delaying TCP proxy for HTTP/1.1 on 127.0.0.1, run in a background thread.

Each worker reaches the Orchestrator (or the AWS emulator) through one of these, so the
campaigns can see, without touching ``src/``, what a worker is doing at any moment: the
request in flight (method and path), whether its response came back (and its status),
and how many requests it sent in a window. A ``delay`` holds every chunk that long in each
direction, which stretches a job's HTTP phases so that a kill lands inside one of them.
Data a client sent before it died is still delivered upstream, as on a real network.
Threads, not asyncio: a killed client or upstream must never leave anything half-closed.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

REQUEST_LINE = re.compile(rb"(GET|POST|PUT|DELETE|HEAD|PATCH) (\S+) HTTP/1\.[01]\r\n")
STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


@dataclass
class Exchange:
    """One HTTP request seen by the proxy, and its response status once it came back."""

    method: str
    path: str
    sent: float
    status: int | None = None  # the upstream's answer (0: none, the connection ended)
    answered: float | None = None
    delivered: float | None = None  # when the answer reached the client


@dataclass
class ProxyLog:
    exchanges: list[Exchange] = field(default_factory=list)
    refused: int = 0  # client connections the upstream did not accept
    lock: threading.Lock = field(default_factory=threading.Lock)

    def between(self, start: float, end: float) -> list[Exchange]:
        with self.lock:
            return [e for e in self.exchanges if start <= e.sent < end]

    def in_flight(self) -> Exchange | None:
        with self.lock:
            pending = [e for e in self.exchanges if e.status is None]
            return pending[-1] if pending else None

    def last(self) -> Exchange | None:
        with self.lock:
            return self.exchanges[-1] if self.exchanges else None

    def find(self, match: Callable[[Exchange], bool]) -> list[Exchange]:
        with self.lock:
            return [e for e in self.exchanges if match(e)]


class Proxy:
    """Listens on a free 127.0.0.1 port and forwards to ``upstream_port``: a thread per
    direction of each connection (plain blocking sockets, every one closed by ``close``)."""

    def __init__(self, upstream_port: int, *, delay: float = 0.0, refuse_first: int = 0) -> None:
        self.upstream_port = upstream_port
        self.delay = delay
        #: this many connections are hung up as if the upstream refused them (an endpoint
        #: that is down or still starting), before the proxy starts forwarding
        self.refuse_first = refuse_first
        self.log = ProxyLog()
        self._sockets: set[socket.socket] = set()
        self._guard = threading.Lock()
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, name="chaos-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed.set()
        with self._guard:
            sockets, self._sockets = [*self._sockets, self._listener], set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _track(self, sock: socket.socket) -> bool:
        with self._guard:
            if self._closed.is_set():
                sock.close()
                return False
            self._sockets.add(sock)
            return True

    def _forget(self, sock: socket.socket) -> None:
        with self._guard:
            self._sockets.discard(sock)
        sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._track(client):
                threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            if self._refusing():
                raise ConnectionRefusedError("refused on purpose")
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            with self.log.lock:
                self.log.refused += 1
            # read what the client sent, so that the attempt is counted, then hang up
            client.settimeout(0.2)
            with contextlib.suppress(OSError):
                self._requests(client.recv(65536))
            self._answer_pending(0)
            self._forget(client)
            return
        upstream.settimeout(None)
        if not self._track(upstream):
            self._forget(client)
            return
        pending: list[Exchange] = []
        back = threading.Thread(target=self._pump, args=(upstream, client, pending, False), daemon=True)
        back.start()
        self._pump(client, upstream, pending, True)
        back.join()
        self._forget(client)
        self._forget(upstream)

    def _refusing(self) -> bool:
        with self.log.lock:
            if self.refuse_first <= 0:
                return False
            self.refuse_first -= 1
            return True

    def _requests(self, data: bytes) -> list[Exchange]:
        now = time.monotonic()
        found = [
            Exchange(m.group(1).decode(), m.group(2).decode(), now) for m in REQUEST_LINE.finditer(data)
        ]
        with self.log.lock:
            self.log.exchanges.extend(found)
        return found

    def _answer_pending(self, status: int) -> None:
        with self.log.lock:
            for exchange in self.log.exchanges:
                if exchange.status is None:
                    exchange.status, exchange.answered = status, time.monotonic()

    def _answers(self, data: bytes, pending: list[Exchange]) -> list[Exchange]:
        now = time.monotonic()
        answered = []
        with self.log.lock:
            for match in STATUS_LINE.finditer(data):
                if pending:
                    exchange = pending.pop(0)
                    exchange.status, exchange.answered = int(match.group(1)), now
                    answered.append(exchange)
        return answered

    def _pump(
        self, source: socket.socket, sink: socket.socket, pending: list[Exchange], outbound: bool
    ) -> None:
        try:
            while data := source.recv(65536):
                answered: list[Exchange] = []
                if outbound:
                    pending.extend(self._requests(data))
                else:
                    answered = self._answers(data, pending)
                if self.delay:
                    time.sleep(self.delay)
                sink.sendall(data)
                now = time.monotonic()
                for exchange in answered:
                    exchange.delivered = now
        except OSError:
            pass
        finally:
            if not outbound:  # the upstream closed: whatever was pending got no answer
                with self.log.lock:
                    for exchange in pending:
                        if exchange.status is None:
                            exchange.status, exchange.answered = 0, time.monotonic()
                    pending.clear()
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
