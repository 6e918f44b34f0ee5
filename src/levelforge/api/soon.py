"""Calling a store or a queue from the event loop.

A write of the embedded default (SQLite) takes tens of microseconds when the file's write
lock is free, and a read of a job about as long; a hop to a thread costs more CPU than
that (~0.12 ms measured here). So the routes every job calls (creating it, each step,
completing it, reading it) first make the call at once under the port's
``without_waiting()``: a call that would wait (the lock held by another thread or process,
or any network request: DynamoDB, SQS) does nothing, raises ``WouldWait``, and runs again
in the thread pool, where waiting stalls nobody. Nothing awaits inside
``without_waiting()``: the flag it sets belongs to this thread.
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


async def soon(port: Hurriable, call: Callable[..., T], *args: object) -> T:
    """``call(*args)``, one atomic read or write of ``port``: at once when it would not
    wait, else in the thread pool."""
    try:
        with port.without_waiting():
            return call(*args)
    except WouldWait:
        return await run_in_threadpool(call, *args)
