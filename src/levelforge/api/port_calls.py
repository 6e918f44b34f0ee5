"""How the Orchestrator's event loop calls its job store and queue (blocking ports).

- A network backend (DynamoDB, SQS): every call in the thread pool, where waiting for the
  network stalls nobody (``InThreads``).
- The embedded SQLite file (a port that is ``ports.Grouping``): reads at once on the loop
  (in WAL mode a read never waits for a writer) and writes **committed in groups**
  (``GroupCommit``): the writes asked for while the loop was busy run back to back on the
  loop in one ``BEGIN IMMEDIATE`` transaction, each call still atomic on its own (a
  savepoint: one that raises changes nothing; a group of one is rolled back instead), and
  each is answered only after the group's ``COMMIT``. No thread hop (it costs more CPU
  than the write itself), one commit for many writes, and the loop never waits for the
  file: when another process or thread holds its write lock, the group is tried again
  after 50 µs, doubling up to 2 ms, while the loop serves other requests; a write that
  could not start within ``BUSY_TIMEOUT_SECONDS`` fails with ``StoreUnavailable`` (503).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from starlette.concurrency import run_in_threadpool

from levelforge.errors import StoreUnavailable
from levelforge.ports import Grouping

T = TypeVar("T")

#: retries of a group that found the write lock taken: the first after this, then doubling
RETRY_FIRST_SECONDS = 0.00005
RETRY_MAX_SECONDS = 0.002
#: a write that could not start within this long fails (as ``SqliteConnections.write``)
BUSY_TIMEOUT_SECONDS = 2.0
#: at most this many writes in one transaction (the lock is held a few ms at most)
MAX_GROUP = 64


class PortCalls(Protocol):
    #: a read costs no request (the embedded file): a route may read a job again rather
    #: than serialize one it has in hand
    reads_are_free: bool

    async def read(self, call: Callable[..., T], *args: Any) -> T: ...

    async def write(self, call: Callable[..., T], *args: Any) -> T: ...


class InThreads:
    """Every call in the thread pool: for ports whose calls are network requests."""

    reads_are_free = False

    async def read(self, call: Callable[..., T], *args: Any) -> T:
        return await run_in_threadpool(call, *args)

    async def write(self, call: Callable[..., T], *args: Any) -> T:
        return await run_in_threadpool(call, *args)


@dataclass
class _Write:
    call: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    asked: float


class GroupCommit:
    """Reads at once, writes committed in groups, all on the event loop's thread."""

    reads_are_free = True

    def __init__(self, port: Grouping, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.port = port
        self.busy_timeout = busy_timeout
        self._pending: deque[_Write] = deque()
        #: the loop a flush is scheduled on (a server has one; tests may run several in turn)
        self._scheduled: asyncio.AbstractEventLoop | None = None
        self._retry = RETRY_FIRST_SECONDS

    async def read(self, call: Callable[..., T], *args: Any) -> T:
        return call(*args)

    async def write(self, call: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append(_Write(call, args, future, time.monotonic()))
        if self._scheduled is not loop:  # none yet, or on a loop that has ended since
            self._scheduled = loop
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        """Run the pending writes in one transaction, or try again soon."""
        loop = asyncio.get_running_loop()
        self._scheduled = None
        # writes asked for on a loop that has ended: nobody awaits them any more
        self._pending = deque(write for write in self._pending if not write.future.get_loop().is_closed())
        if not self._pending:
            return
        try:
            begun = self.port.begin_group()
        except StoreUnavailable as exc:  # the file did not answer at all
            self._fail_all(exc)
            return
        if not begun:
            self._give_up_on_old()
            if self._pending:
                self._scheduled = loop
                loop.call_later(self._retry, self._flush)
                self._retry = min(self._retry * 2, RETRY_MAX_SECONDS)
            return
        self._retry = RETRY_FIRST_SECONDS
        group = [self._pending.popleft() for _ in range(min(MAX_GROUP, len(self._pending)))]
        alone = len(group) == 1  # then it needs no savepoint: the group is rolled back if it raises
        outcomes = [self._run(write, alone) for write in group]
        try:
            self.port.end_group(commit=not (alone and isinstance(outcomes[0], BaseException)))
        except StoreUnavailable as exc:  # nothing of the group was written
            outcomes = [exc] * len(group)
        for write, outcome in zip(group, outcomes, strict=True):
            if write.future.done():  # its request was cancelled (the client left)
                continue
            if isinstance(outcome, BaseException):
                write.future.set_exception(outcome)
            else:
                write.future.set_result(outcome)
        if self._pending:
            self._scheduled = loop
            loop.call_soon(self._flush)

    def _run(self, write: _Write, alone: bool) -> Any:
        """The call's result or what it raised (a refused rule, or a bug: its own answer);
        each call is atomic: beside others in a group, in a savepoint of its own."""
        try:
            if alone:
                return write.call(*write.args)
            with self.port.savepoint():
                return write.call(*write.args)
        except Exception as exc:  # noqa: BLE001
            return exc

    def _fail_all(self, exc: StoreUnavailable) -> None:
        while self._pending:
            write = self._pending.popleft()
            if not write.future.done():
                write.future.set_exception(exc)

    def _give_up_on_old(self) -> None:
        """Fail the writes that have waited ``busy_timeout`` for the lock."""
        expired = time.monotonic() - self.busy_timeout
        while self._pending and self._pending[0].asked <= expired:
            write = self._pending.popleft()
            if not write.future.done():
                write.future.set_exception(
                    StoreUnavailable(f"the store stayed locked for {self.busy_timeout:g} s")
                )


def port_calls(port: object) -> PortCalls:
    """How the event loop calls ``port``: grouped on the loop when it can group its
    writes (the embedded file), else in threads."""
    if isinstance(port, Grouping):
        return GroupCommit(port)
    return InThreads()
