"""An Orchestrator app served by a real uvicorn on 127.0.0.1, in a thread of the test
process, for tests that need real connections (event streams, concurrent requests);
``serve(store, timing)`` in ``conftest.py`` starts them."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn
from fastapi import FastAPI

from levelforge.api.routes_events import StreamTiming

FAST = StreamTiming(poll_seconds=0.02, heartbeat_seconds=15.0)


class LiveServer:
    """``create_app`` served by uvicorn on 127.0.0.1 in a thread of this process."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(
            app, log_config=None, access_log=False, loop="asyncio", ws="none", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=httpx.Timeout(5.0))
