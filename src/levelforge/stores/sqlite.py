"""The embedded job store: one SQLite file, safe for several processes.

Every life-cycle rule is one conditional ``UPDATE … WHERE …`` inside ``BEGIN IMMEDIATE``
whose effect is checked by the rows it returns. The schema's version is ``PRAGMA
user_version``; an older file is migrated at open, in one transaction. When a condition refuses the write, the
row is read inside the same transaction (what DynamoDB's
``ReturnValuesOnConditionCheckFailure=ALL_OLD`` gives) to say why: ``JobNotFound``,
``StepAlreadyRecorded`` or ``JobTerminal``.

Retention (``JOB_RETENTION_DAYS``): a terminal job expires that long after it ended (its
``updated_at``, which never changes again). An expired job is gone for every read at once
(``JobNotFound``, as one that never existed); ``delete_expired`` removes it, its
idempotency keys with it, in small batches (``stores/retention.py`` runs it in the
background), and ``reclaim_free_pages`` gives the freed pages back (the file is in
``auto_vacuum = INCREMENTAL`` mode, converted once at open when an earlier build made it).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from levelforge.errors import (
    ConfigurationError,
    IdempotencyKeyReused,
    JobError,
    JobNotFound,
    JobTerminal,
    StepAlreadyRecorded,
)
from levelforge.jobs import (
    DEFAULT_TENANT,
    TERMINAL,
    IdempotencyClaim,
    Job,
    JobFailure,
    JobStatus,
    ResultJson,
    Step,
)
from levelforge.ports import (
    Created,
    Delivery,
    DeliveryAttempt,
    DeliveryLog,
    DeliveryState,
    JobJson,
    PageAfter,
)
from levelforge.stores.sqlite_connections import GroupedWrites, SqliteConnections

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 4
#: how long a terminal job is kept by default (``JOB_RETENTION_DAYS``: 30 days)
RETENTION_SECONDS = 30 * 86400.0
#: ``PRAGMA auto_vacuum`` value of ``INCREMENTAL``
_INCREMENTAL = 2
#: an Idempotency-Key is honoured at least this long (CONTRACT §2: 24 hours)
IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 60 * 60

#: version 1, as earlier builds made it; ``_MIGRATIONS`` take it to ``SCHEMA_VERSION``
_SCHEMA_1 = (
    """CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        steps TEXT NOT NULL DEFAULT '[]',
        step_ids TEXT NOT NULL DEFAULT '[]',
        result TEXT,
        error TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_newest ON jobs (created_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS jobs_status_newest ON jobs (status, created_at DESC, id DESC)",
    """CREATE TABLE IF NOT EXISTS idempotency_keys (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        job_id TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS idempotency_keys_age ON idempotency_keys (created_at)",
)

#: version 1 → 2 (CONTRACT §10): jobs get a tenant (earlier ones the default tenant) and
#: per-tenant listing indexes; idempotency keys are scoped per tenant; per-tenant
#: per-minute counters of job creations
_MIGRATION_2 = (
    f"ALTER TABLE jobs ADD COLUMN tenant TEXT NOT NULL DEFAULT '{DEFAULT_TENANT}'",
    "DROP INDEX IF EXISTS jobs_newest",
    "DROP INDEX IF EXISTS jobs_status_newest",
    "CREATE INDEX jobs_tenant_newest ON jobs (tenant, created_at DESC, id DESC)",
    "CREATE INDEX jobs_tenant_status_newest ON jobs (tenant, status, created_at DESC, id DESC)",
    """CREATE TABLE idempotency_keys_2 (
        tenant TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        job_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (tenant, key)
    )""",
    f"INSERT INTO idempotency_keys_2 SELECT '{DEFAULT_TENANT}', key, fingerprint, job_id, created_at"
    " FROM idempotency_keys",
    "DROP TABLE idempotency_keys",
    "ALTER TABLE idempotency_keys_2 RENAME TO idempotency_keys",
    "CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at)",
    """CREATE TABLE creation_counts (
        tenant TEXT NOT NULL,
        minute INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (tenant, minute)
    )""",
)
#: version 2 → 3 (issue 16): indexes of the terminal jobs by the time they ended (retention)
#: and of the queued jobs by age (the requeuer), a job's next requeue time, idempotency
#: keys by job (deleted with it)
_MIGRATION_3 = (
    "CREATE INDEX jobs_ended ON jobs (updated_at) WHERE status IN ('done', 'failed')",
    "CREATE INDEX jobs_queued ON jobs (created_at) WHERE status = 'queued'",
    "ALTER TABLE jobs ADD COLUMN requeue_at REAL",
    "CREATE INDEX idempotency_keys_job ON idempotency_keys (job_id)",
)
#: version 3 → 4 (issue 19): a job's webhook, and the webhook deliveries, each written in
#: the transaction of its job's terminal write (the outbox of the job's end)
_MIGRATION_4 = (
    "ALTER TABLE jobs ADD COLUMN webhook_url TEXT",
    """CREATE TABLE webhook_deliveries (
        job_id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        created_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        due_at REAL NOT NULL,
        lease TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        log TEXT NOT NULL DEFAULT '[]'
    )""",
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE state = 'pending'",
)
_MIGRATIONS = {1: _SCHEMA_1, 2: _MIGRATION_2, 3: _MIGRATION_3, 4: _MIGRATION_4}
#: the cut-off of retention, computed by SQLite (in C: cheaper than in Python on every read)
#: from its parameter, the modifier ``-<retention> seconds``, in the format of ``timestamp``
_CUTOFF = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)"
#: a job is live unless terminal and ended before the cut-off (the one parameter)
_LIVE = f"NOT (status IN ('done', 'failed') AND updated_at < {_CUTOFF})"
#: counters of past windows are deleted once they are this many minutes old
_OLD_WINDOWS = 10

#: the stored row as the JSON of a ``Job``, built by SQLite and parsed once by pydantic
_JOB_JSON = (
    "json_object('id', id, 'status', status, 'spec', json(spec), 'createdAt', created_at, "
    "'updatedAt', updated_at, 'steps', json(steps), 'result', json(result), "
    "'error', json(error), 'tenant', tenant, 'webhookUrl', webhook_url)"
)
#: the public resource up to its steps; its result and error are spliced in after them as
#: they are stored (compact JSON written by this store): SQLite's ``json(result)`` would
#: parse the ~40 kB result again on every read
_PUBLIC_HEAD = (
    "json_object('id', id, 'status', status, 'spec', json(spec), 'createdAt', created_at, "
    "'updatedAt', updated_at, 'steps', json(steps))"
)
#: the same without the result: a completion has its result in hand already (~40 KB that
#: SQLite would parse again to build it, and pydantic a third time)
_JOB_JSON_WITHOUT_RESULT = _JOB_JSON.replace("'result', json(result), ", "")


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


def _values(statuses: Iterable[JobStatus]) -> list[str]:
    return sorted(status.value for status in statuses)


@lru_cache(maxsize=32)
def _append_step_sql(allowed: int, start: int) -> str:
    return (
        "UPDATE jobs SET steps = json_insert(steps, '$[#]', json(?)), "
        "step_ids = json_insert(step_ids, '$[#]', ?), "
        f"status = CASE WHEN status IN ({_placeholders(start)}) THEN 'running' ELSE status END, "
        "updated_at = ? "
        f"WHERE id = ? AND status IN ({_placeholders(allowed)}) "
        "AND NOT EXISTS (SELECT 1 FROM json_each(jobs.step_ids) WHERE value = ?) "
        "RETURNING status"
    )


@lru_cache(maxsize=32)
def _transition_sql(allowed: int, with_result: bool) -> str:
    """The result, when there is one, is stored as given: compact JSON by ``_dumps``, or
    the text of a ``ResultJson``."""
    returning = _JOB_JSON_WITHOUT_RESULT if with_result else _JOB_JSON
    return (
        "UPDATE jobs SET status = ?, updated_at = ?, result = ?, error = json(?) "
        f"WHERE id = ? AND status IN ({_placeholders(allowed)}) RETURNING {returning}"
    )


def _dumps(value: Any) -> str:
    """Compact JSON by ``orjson``: ~8x faster than ``json.dumps`` (and ~2.5x pydantic's
    serializer) on a result with its inline artifacts (~40 KB), written once per job."""
    return orjson.dumps(value).decode()


class SqliteJobStore(GroupedWrites):
    """``ports.JobStore`` and ``ports.DeliveryStore`` on a SQLite file (``DATABASE_PATH``)."""

    on_delivery_recorded: Callable[[], None] | None = None

    def __init__(self, path: Path, *, retention_seconds: float = RETENTION_SECONDS) -> None:
        self._db = SqliteConnections(path, what="job store")
        self._expiry_modifier = f"-{retention_seconds!r} seconds"
        self._create_schema()

    @property
    def path(self) -> Path:
        return self._db.path

    def insert(
        self, job: Job, claim: IdempotencyClaim | None = None,
        *, also: Callable[[sqlite3.Connection], None] | None = None,
    ) -> Created:
        """``also``, when given, runs in the same transaction once the job is written (the
        local queue's message: ``outbox.py``); an idempotent replay writes nothing."""
        with self._db.write() as connection:
            if claim is not None:
                earlier = self._claim_key(connection, job.tenant, job.id, claim)
                if earlier is not None:
                    return Created(earlier, replayed=True)
            connection.execute(
                "INSERT INTO jobs (id, status, spec, created_at, updated_at, steps, step_ids,"
                " result, error, tenant, webhook_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._row_of(job),
            )
            if also is not None:
                also(connection)
        return Created(job, replayed=False)

    def queued_before(self, created_before: str, limit: int) -> list[str]:
        with self._db.read() as connection:
            rows = connection.execute(
                "SELECT id FROM jobs WHERE status = 'queued' AND created_at < ? ORDER BY created_at LIMIT ?",
                (created_before, limit),
            ).fetchall()
        return [row[0] for row in rows]

    def claim_requeue(self, job_id: str, now: float, next_at: float) -> Job | None:
        with self._db.write() as connection:
            row = connection.execute(
                f"UPDATE jobs SET requeue_at = ? WHERE id = ? AND status = 'queued' "
                f"AND (requeue_at IS NULL OR requeue_at <= ?) RETURNING {_JOB_JSON}",
                (next_at, job_id, now),
            ).fetchone()
        return None if row is None else Job.model_validate_json(row[0])

    def delete_expired(self, limit: int) -> list[str]:
        """Delete up to ``limit`` expired jobs, oldest first, with their idempotency keys,
        in one short write transaction; the ids of those deleted."""
        with self._db.write() as connection:
            gone = connection.execute(
                "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status IN ('done', 'failed')"
                f" AND updated_at < {_CUTOFF} ORDER BY updated_at LIMIT ?) RETURNING id",
                (self._cutoff(), limit),
            ).fetchall()
            if gone:
                for table in ("idempotency_keys", "webhook_deliveries"):
                    connection.execute(
                        f"DELETE FROM {table} WHERE job_id IN ({_placeholders(len(gone))})",
                        [row[0] for row in gone],
                    )
        return [row[0] for row in gone]

    def reclaim_free_pages(self, keep: int, limit: int) -> int:
        """Give back to the file system up to ``limit`` free pages beyond the ``keep`` left
        for new rows (``PRAGMA incremental_vacuum``, one page a statement: Python's sqlite3
        runs a statement without result columns one step only); how many were freed."""
        with self._db.write() as connection:
            free: int = connection.execute("PRAGMA freelist_count").fetchone()[0]
            for _ in range(min(limit, free - keep)):
                connection.execute("PRAGMA incremental_vacuum(1)")
            left: int = connection.execute("PRAGMA freelist_count").fetchone()[0]
        return free - left

    def replay_of(self, tenant: str, claim: IdempotencyClaim) -> Job | None:
        with self._db.read() as connection:
            row = connection.execute(
                "SELECT fingerprint, job_id FROM idempotency_keys WHERE tenant = ? AND key = ?"
                " AND created_at >= ?",
                (tenant, claim.key, time.time() - IDEMPOTENCY_KEY_TTL_SECONDS),
            ).fetchone()
            if row is None:
                return None
            if row[0] != claim.fingerprint:
                raise IdempotencyKeyReused(row[1])
            return self._read_job(connection, row[1], self._cutoff())

    def get(self, job_id: str) -> Job:
        with self._db.read() as connection:
            job = self._read_job(connection, job_id, self._cutoff())
        if job is None:
            raise JobNotFound(job_id)
        return job

    def get_json(self, job_id: str) -> JobJson:
        with self._db.read() as connection:
            row = connection.execute(
                f"SELECT tenant, status, {_PUBLIC_HEAD}, result, error FROM jobs WHERE id = ? AND {_LIVE}",
                (job_id, self._cutoff()),
            ).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        tenant, status, head, result, error = row
        data = f'{head[:-1]},"result":{result or "null"},"error":{error or "null"}}}'
        return JobJson(tenant=tenant, status=JobStatus(status), data=data.encode())

    def page(
        self, tenant: str, status: JobStatus | None, limit: int, after: PageAfter | None
    ) -> list[Job]:
        conditions: list[str] = ["tenant = ?", _LIVE]
        params: list[Any] = [tenant, self._cutoff()]
        if status is not None:
            conditions.append("status = ?")
            params.append(status.value)
        if after is not None:
            conditions.append("(created_at, id) < (?, ?)")
            params += [after.created_at, after.job_id]
        where = f"WHERE {' AND '.join(conditions)} "
        sql = f"SELECT {_JOB_JSON} FROM jobs {where}ORDER BY created_at DESC, id DESC LIMIT ?"
        with self._db.read() as connection:
            rows = connection.execute(sql, [*params, limit]).fetchall()
        return [Job.model_validate_json(row[0]) for row in rows]

    def append_step(
        self, job_id: str, step: Step, *, allowed_from: frozenset[JobStatus],
        start_from: frozenset[JobStatus], now: str,
    ) -> JobStatus:
        sql = _append_step_sql(len(allowed_from), len(start_from))
        params = (
            step.model_dump_json(by_alias=True), step.step_id, *_values(start_from), now,
            job_id, *_values(allowed_from), step.step_id,
        )
        with self._db.write() as connection:
            rows = connection.execute(sql, params).fetchall()
            if not rows:
                raise self._refusal(connection, job_id, step.step_id, self._cutoff())
        return JobStatus(rows[0][0])

    def transition(
        self, job_id: str, *, to: JobStatus, allowed_from: frozenset[JobStatus], now: str,
        result: dict[str, Any] | ResultJson | None = None, error: JobFailure | None = None,
    ) -> Job:
        params = (
            to.value, now,
            None if result is None else result.decode() if isinstance(result, ResultJson) else _dumps(result),
            None if error is None else error.model_dump_json(by_alias=True),
            job_id, *_values(allowed_from),
        )
        with self._db.write() as connection:
            sql = _transition_sql(len(allowed_from), result is not None)
            rows = connection.execute(sql, params).fetchall()
            if not rows:
                raise self._refusal(connection, job_id, None, self._cutoff())
            job = Job.model_validate_json(rows[0][0])
            recorded = job.webhook_url is not None and to in TERMINAL
            if recorded:
                self._record_delivery(connection, job)
        if recorded and self.on_delivery_recorded is not None:
            # committed now, or (in a group) before a callback scheduled from here runs
            self.on_delivery_recorded()
        if result is None or isinstance(result, ResultJson):
            return job
        return job.model_copy(update={"result": result})

    @staticmethod
    def _record_delivery(connection: sqlite3.Connection, job: Job) -> None:
        """In the terminal write's transaction: the job's webhook is due now."""
        now = time.time()
        connection.execute(
            "INSERT OR IGNORE INTO webhook_deliveries (job_id, url, created_at, due_at) VALUES (?, ?, ?, ?)",
            (job.id, job.webhook_url, now, now),
        )

    def claim_deliveries(self, now: float, lease_until: float, limit: int) -> list[Delivery]:
        lease = f"{lease_until!r}:{uuid.uuid4().hex}"
        with self._db.write() as connection:
            rows = connection.execute(
                "UPDATE webhook_deliveries SET due_at = ?, lease = ? WHERE job_id IN (SELECT job_id"
                " FROM webhook_deliveries WHERE state = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ?)"
                " RETURNING job_id, url, created_at, attempts",
                (lease_until, lease, now, limit),
            ).fetchall()
        return [Delivery(job_id=r[0], url=r[1], created_at=r[2], attempts=r[3], lease=lease) for r in rows]

    def record_attempt(
        self, delivery: Delivery, attempt: DeliveryAttempt, state: DeliveryState, next_at: float
    ) -> None:
        held = "(lease = ? OR ? = 'delivered')"
        with self._db.write() as connection:
            connection.execute(
                "UPDATE webhook_deliveries SET attempts = attempts + 1,"
                " log = json_insert(log, '$[#]', json(?)),"
                f" state = CASE WHEN {held} THEN ? ELSE state END,"
                f" due_at = CASE WHEN {held} THEN ? ELSE due_at END,"
                f" lease = CASE WHEN {held} THEN '' ELSE lease END"
                " WHERE job_id = ?",
                (
                    attempt.model_dump_json(by_alias=True),
                    delivery.lease, state.value, state.value,
                    delivery.lease, state.value, next_at,
                    delivery.lease, state.value,
                    delivery.job_id,
                ),
            )

    def delivery_log(self, job_id: str) -> DeliveryLog | None:
        with self._db.read() as connection:
            row = connection.execute(
                "SELECT state, log FROM webhook_deliveries WHERE job_id = ?", (job_id,)
            ).fetchone()
        if row is None:
            return None
        attempts = [DeliveryAttempt.model_validate(item) for item in json.loads(row[1])]
        return DeliveryLog(state=DeliveryState(row[0]), attempts=attempts)

    def count_creation(self, tenant: str, window: int, limit: int, delta: int = 1) -> bool:
        with self._db.write() as connection:
            if delta < 0:
                connection.execute(
                    "UPDATE creation_counts SET count = max(count + ?, 0) WHERE tenant = ? AND minute = ?",
                    (delta, tenant, window),
                )
                return True
            connection.execute("DELETE FROM creation_counts WHERE minute < ?", (window - _OLD_WINDOWS,))
            counted = connection.execute(
                "INSERT INTO creation_counts (tenant, minute, count) VALUES (?, ?, ?) "
                "ON CONFLICT (tenant, minute) DO UPDATE SET count = count + excluded.count "
                "WHERE count + excluded.count <= ? RETURNING count",
                (tenant, window, delta, limit),
            ).fetchall()
        return bool(counted)

    def ping(self) -> None:
        """The store answers when it can be read *and* written: in WAL mode reads go on
        while another connection holds the file locked, so a read alone would call a store
        healthy that refuses every write (and every new job) with ``503``."""
        with self._db.read() as connection:
            connection.execute("SELECT 1 FROM jobs LIMIT 1").fetchall()
        self._db.check_writable()

    def close(self) -> None:
        self._db.close()

    def _create_schema(self) -> None:
        with self._db.read() as connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            vacuum = connection.execute("PRAGMA auto_vacuum").fetchone()[0]
        if version != SCHEMA_VERSION:
            self._migrate()
        if vacuum != _INCREMENTAL:
            self._convert_to_incremental_vacuum()

    def _convert_to_incremental_vacuum(self) -> None:
        """Once per file: ``auto_vacuum = INCREMENTAL`` takes effect only through a
        ``VACUUM``, which rewrites the file (instant when new, minutes for gigabytes, and
        as much free disk again). When it cannot run now (another process holds the file,
        no space) the store works on: freed pages are still reused, only never given back,
        and the next start tries again."""
        with self._db.read() as connection:
            size = connection.execute("PRAGMA page_count").fetchone()[0] * connection.execute(
                "PRAGMA page_size").fetchone()[0]
            if size > 1 << 20:
                logger.warning("converting %s to incremental vacuum: one VACUUM of %d MB",
                               self._db.path, size >> 20)
            try:
                connection.execute(f"PRAGMA auto_vacuum = {_INCREMENTAL}")
                connection.execute("VACUUM")
            except sqlite3.OperationalError as exc:
                logger.warning("%s stays without incremental vacuum for now: %s", self._db.path, exc)

    def _migrate(self) -> None:
        with self._db.write() as connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ConfigurationError(
                    f"DATABASE_PATH: {self._db.path} holds job store schema {version}, "
                    f"newer than this build's {SCHEMA_VERSION}"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _claim_key(
        self, connection: sqlite3.Connection, tenant: str, job_id: str, claim: IdempotencyClaim
    ) -> Job | None:
        """Inside the insert's transaction: the earlier job when the key is known with
        this fingerprint, ``IdempotencyKeyReused`` when with another; else record the key
        for ``job_id`` and return None. Expired keys are forgotten on the way."""
        now = time.time()
        connection.execute(
            "DELETE FROM idempotency_keys WHERE created_at < ?",
            (now - IDEMPOTENCY_KEY_TTL_SECONDS,),
        )
        row = connection.execute(
            "SELECT fingerprint, job_id FROM idempotency_keys WHERE tenant = ? AND key = ?",
            (tenant, claim.key),
        ).fetchone()
        if row is not None:
            if row[0] != claim.fingerprint:
                raise IdempotencyKeyReused(row[1])
            earlier = self._read_job(connection, row[1], self._cutoff())
            if earlier is not None:
                return earlier
        connection.execute(
            "INSERT OR REPLACE INTO idempotency_keys (tenant, key, fingerprint, job_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (tenant, claim.key, claim.fingerprint, job_id, now),
        )
        return None

    def _cutoff(self) -> str:
        """The parameter of ``_CUTOFF``: terminal jobs that ended before it have expired."""
        return self._expiry_modifier

    @staticmethod
    def _read_job(connection: sqlite3.Connection, job_id: str, cutoff: str) -> Job | None:
        row = connection.execute(
            f"SELECT {_JOB_JSON} FROM jobs WHERE id = ? AND {_LIVE}", (job_id, cutoff)
        ).fetchone()
        return None if row is None else Job.model_validate_json(row[0])

    @staticmethod
    def _refusal(
        connection: sqlite3.Connection, job_id: str, step_id: str | None, cutoff: str
    ) -> JobError:
        """Why a conditional write was refused, read in the same transaction. A terminal
        job answers ``JobTerminal`` first, even for a step it recorded, so that a worker
        running a finished job again stops at its first step (CONTRACT §7); an expired
        one ``JobNotFound``."""
        row = connection.execute(
            "SELECT status, EXISTS(SELECT 1 FROM json_each(jobs.step_ids) WHERE value = ?), "
            f"{_JOB_JSON} FROM jobs WHERE id = ? AND {_LIVE}",
            (step_id, job_id, cutoff),
        ).fetchone()
        if row is None:
            return JobNotFound(job_id)
        if step_id is not None and row[1] and JobStatus(row[0]) not in TERMINAL:
            return StepAlreadyRecorded(job_id, step_id, JobStatus(row[0]))
        return JobTerminal(Job.model_validate_json(row[2]))

    @staticmethod
    def _row_of(job: Job) -> tuple[Any, ...]:
        steps = [step.model_dump(by_alias=True, mode="json") for step in job.steps]
        return (
            job.id, job.status.value, _dumps(job.spec), job.created_at, job.updated_at,
            _dumps(steps), _dumps([step.step_id for step in job.steps]),
            None if job.result is None else _dumps(job.result),
            None if job.error is None else job.error.model_dump_json(by_alias=True),
            job.tenant, job.webhook_url,
        )
