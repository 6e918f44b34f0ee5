"""``levelforge backup PATH``: a consistent copy of the embedded store (the SQLite file of
``DATABASE_PATH``: jobs, idempotency keys, the local queue) while the service runs.

SQLite's online backup API copies every page in one step, inside one read transaction
of the source: in WAL mode that is a snapshot of one instant, and the service's writers go
on meanwhile (a copy in several steps would start over at every write of another
connection, and never end under load). The copy is written next to ``PATH`` as
``PATH.partial``, checked (``PRAGMA quick_check``), then renamed over ``PATH``: a reader of
``PATH`` sees the previous backup or this one, never half of one. To restore, stop the
service, put the copy at ``DATABASE_PATH`` (remove the old file's ``-wal`` and ``-shm``),
and start it: jobs queued or running at the instant of the copy run again (their messages
come back after ``VISIBILITY_TIMEOUT_SECONDS``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from levelforge.errors import ConfigurationError, StoreUnavailable

#: how long the copy waits for a source being recovered or migrated
BUSY_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class BackupReport:
    path: Path
    jobs: int
    bytes: int
    seconds: float

    def __str__(self) -> str:
        return (f"backed up {self.jobs} jobs ({self.bytes / 1e6:.1f} MB) to {self.path} "
                f"in {self.seconds:.2f} s")


def backup(source: Path, target: Path) -> BackupReport:
    """Copy the store at ``source`` to ``target`` (replaced when it exists)."""
    if not source.is_file():
        raise ConfigurationError(f"DATABASE_PATH: there is no store at {source}")
    if target.resolve() == source.resolve():
        raise ConfigurationError(f"backup: {target} is the store itself")
    started = time.monotonic()
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_SECONDS)) as origin, \
                closing(sqlite3.connect(partial)) as copy:
            origin.backup(copy)  # pages=-1: the whole file in one step, one snapshot
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise StoreUnavailable(f"backup: the copy fails its check: {check}")
            jobs = _count_jobs(copy)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise StoreUnavailable(f"backup of {source} to {target} failed: {exc}") from exc
    os.replace(partial, target)
    return BackupReport(target, jobs, target.stat().st_size, time.monotonic() - started)


def _count_jobs(connection: sqlite3.Connection) -> int:
    found = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'jobs'").fetchone()
    return int(connection.execute("SELECT count(*) FROM jobs").fetchone()[0]) if found else 0
