"""Running a store's or a queue's write from the event loop.

A write of the embedded default (SQLite) takes tens of microseconds when the file's write
lock is free, and a hop to a thread costs more CPU than that (~0.12 ms measured here). So
the routes that write on every job (creating it, each step, completing it) first run the
write at once under the port's ``without_waiting()``: a write that would wait (the lock
held by another thread or process, or any network write: DynamoDB, SQS) writes nothing,
raises ``WouldWait``, and runs again in the thread pool, where waiting stalls nobody.
Nothing awaits inside ``without_waiting()``: the flag it sets belongs to this thread.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

from starlette.concurrency import run_in_threadpool

from levelforge.errors import WouldWait

T = TypeVar("T")


class Hurriable(Protocol):
    def without_waiting(self) -> AbstractContextManager[None]: ...


async def write_soon(port: Hurriable, write: Callable[..., T], *args: object) -> T:
    """``write(*args)``, one atomic write of ``port``: at once when it would not wait, else
    in the thread pool."""
    try:
        with port.without_waiting():
            return write(*args)
    except WouldWait:
        return await run_in_threadpool(write, *args)
