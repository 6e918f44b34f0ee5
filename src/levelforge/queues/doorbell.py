"""A doorbell beside the local queue's SQLite file, so that an idle worker sleeps until a
message comes instead of looking at the file every few milliseconds.

The bell is a named pipe (FIFO) at ``<queue file>-doorbell``. Whoever makes a message
visible rings it once its transaction has committed: one byte, written without blocking.
A waiting receiver waits for the pipe to be readable, takes one byte and looks at the
queue. The queue's table stays the only truth and the bell only a hint: a ring nobody
hears costs nothing, a byte left over from a busy time costs one extra look, and a
receiver still looks at the file every ``Listener`` timeout for what no one rings
(a message whose visibility timeout ran out, a writer of an older version).

One byte per ring and one byte per wake-up: when two messages come for two idle workers,
each wakes for one (a receiver that drained every byte could leave the other asleep with
a message waiting). Where a FIFO cannot be made (not POSIX, a file system without them)
there is no bell and the queue polls as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import stat
from pathlib import Path

logger = logging.getLogger(__name__)


def bell_path(queue_path: Path) -> Path:
    return Path(f"{queue_path}-doorbell")


def ring(path: Path) -> None:
    """Wake the receivers waiting at ``path``; nothing happens when none listens."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no bell yet (no receiver ever waited), or no receiver has it open
        return
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):  # never write into a file that is not the bell
            os.write(fd, b"!")
    except BlockingIOError:  # the pipe is full of rings: every receiver has plenty to wake on
        pass
    except OSError as exc:
        logger.debug("doorbell %s: %s", path, exc)
    finally:
        os.close(fd)


class Listener:
    """A receiver's end of the bell (its own file descriptor)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def open(cls, path: Path) -> Listener | None:
        """The bell at ``path``, made if it is not there; ``None`` where there can be none."""
        if not hasattr(os, "mkfifo"):
            return None
        try:
            os.mkfifo(path, 0o600)
        except FileExistsError:
            pass
        except OSError as exc:
            logger.info("no doorbell at %s (%s): the local queue polls", path, exc)
            return None
        try:
            # read and write: then the pipe always has a writer, and never reads as ended
            fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        except OSError as exc:
            logger.info("no doorbell at %s (%s): the local queue polls", path, exc)
            return None
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.close(fd)
            logger.warning("%s is not a named pipe: the local queue polls", path)
            return None
        return cls(fd)

    def take_ring(self) -> None:
        """Take one ring, if there is one (before looking at the queue: a ring that comes
        after the look then wakes the next ``wait``)."""
        with contextlib.suppress(BlockingIOError):
            os.read(self._fd, 1)

    def wait(self, seconds: float) -> bool:
        """Until a ring or ``seconds``; True when rung."""
        readable, _, _ = select.select([self._fd], [], [], seconds)
        return bool(readable)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
