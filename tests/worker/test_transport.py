"""The worker's HTTP transport (``reporter.KeepAliveTransport``) against a real HTTP/1.1
server of the standard library: keep-alive, chunked answers, connections the server
closes, and a server that is not there."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from levelforge.reporter import KeepAliveTransport, TransportFailure


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, self.headers.get("X-INTERNAL-TOKEN"), body))
        answer = b'{"echo":' + str(len(body)).encode() + b"}"
        self.send_response(201 if self.path.endswith("created") else 200)
        if self.path.endswith("chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (answer[:3], answer[3:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(answer)))
        if self.path.endswith("close"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(answer)
        if self.path.endswith("hang-up"):  # answers, then drops the idle connection
            self.close_connection = True

    def log_message(self, *_args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, str | None, bytes]] = []
        self.connections = 0

    def get_request(self) -> tuple[socket.socket, object]:
        self.connections += 1
        return super().get_request()


@pytest.fixture
def server() -> Iterator[Server]:
    server = Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def transport(server: Server) -> Iterator[KeepAliveTransport]:
    transport = KeepAliveTransport(f"http://127.0.0.1:{server.server_address[1]}/base/", timeout=5)
    yield transport
    transport.close()


HEADERS = {"Content-Type": "application/json", "X-INTERNAL-TOKEN": "t0ken"}


def test_reports_share_one_connection_and_arrive_whole(server: Server, transport: KeepAliveTransport) -> None:
    answers = [transport.post(f"/step/{n}", b'{"n":%d}' % n, HEADERS) for n in range(3)]
    assert answers == [(200, b'{"echo":7}')] * 3
    assert server.requests == [(f"/base/step/{n}", "t0ken", b'{"n":%d}' % n) for n in range(3)]
    assert server.connections == 1


def test_a_chunked_answer_and_its_status_are_read_whole(transport: KeepAliveTransport) -> None:
    assert transport.post("/chunked", b"{}", HEADERS) == (200, b'{"echo":2}')
    assert transport.post("/created", b"{}", HEADERS) == (201, b'{"echo":2}')


def test_a_connection_the_server_closes_is_replaced(server: Server, transport: KeepAliveTransport) -> None:
    """Given a server that drops idle connections (with or without saying so)
    When the worker posts again
    Then the report gets through on a fresh connection."""
    assert transport.post("/hang-up", b"{}", HEADERS)[0] == 200
    assert transport.post("/close", b"{}", HEADERS)[0] == 200
    assert transport.post("/after", b"{}", HEADERS)[0] == 200
    assert [path for path, _, _ in server.requests] == ["/base/hang-up", "/base/close", "/base/after"]
    assert server.connections == 3


def test_no_server_is_a_transport_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = KeepAliveTransport(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(TransportFailure):
        transport.post("/step", b"{}", HEADERS)
