"""The ports: what the API and the worker need of a job store, a queue and an artifact
store. Backends implement these; nothing above them imports boto3 or sqlite3."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from levelforge.jobs import CamelModel, IdempotencyClaim, Job, JobFailure, JobStatus, ResultJson, Step


@dataclass(frozen=True)
class Created:
    job: Job
    replayed: bool  # True when an Idempotency-Key matched an earlier request


@dataclass(frozen=True)
class JobJson:
    """A stored job as the JSON of its public resource (no artifact URLs: those are added
    at read time), with what a route needs to judge it without parsing that JSON."""

    tenant: str
    status: JobStatus
    data: bytes


@dataclass(frozen=True)
class PageAfter:
    """Where a page of ``GET /jobs`` continues: strictly older than this job."""

    created_at: str
    job_id: str


class JobStore(Protocol):
    """Atomic primitives of the job life cycle. Each write is one conditional write of
    the backend; a refused condition raises the matching ``errors.JobError``."""

    def insert(self, job: Job, claim: IdempotencyClaim | None = None) -> Created:
        """Store a new job. With a claim whose key exists for the job's tenant: the earlier
        job (``replayed=True``) when the fingerprint matches, else ``IdempotencyKeyReused``.
        Idempotency keys are scoped per tenant (CONTRACT §10)."""
        ...

    def replay_of(self, tenant: str, claim: IdempotencyClaim) -> Job | None:
        """The job the tenant's live key ``claim.key`` made (``None``: no such key), or
        ``IdempotencyKeyReused`` when its fingerprint differs. A read: nothing is written."""
        ...

    def get(self, job_id: str) -> Job:
        """The job, or ``JobNotFound``."""
        ...

    def get_json(self, job_id: str) -> JobJson:
        """The job as JSON bytes, or ``JobNotFound``: what clients poll, so a store that
        holds JSON already (SQLite) hands it over without parsing ~40 kB of results."""
        ...

    def page(
        self, tenant: str, status: JobStatus | None, limit: int, after: PageAfter | None
    ) -> list[Job]:
        """Up to ``limit`` of the tenant's jobs, newest first (createdAt, then id,
        descending): an indexed query, never a scan of every tenant's jobs."""
        ...

    def count_creation(self, tenant: str, window: int, limit: int, delta: int = 1) -> bool:
        """Add ``delta`` to the tenant's count of job creations in the minute ``window``
        (epoch minutes), in one atomic conditional write: a positive ``delta`` only while
        the count stays within ``limit`` (``False``: refused, nothing counted); a negative
        one (giving back a creation that turned out to be a replay) always."""
        ...

    def append_step(
        self,
        job_id: str,
        step: Step,
        *,
        allowed_from: frozenset[JobStatus],
        start_from: frozenset[JobStatus],
        now: str,
    ) -> JobStatus:
        """Append the step if its stepId is new and the status is in ``allowed_from``;
        a status in ``start_from`` becomes ``running``. Returns the new status. Raises
        ``StepAlreadyRecorded``, ``JobTerminal`` or ``JobNotFound``."""
        ...

    def transition(
        self,
        job_id: str,
        *,
        to: JobStatus,
        allowed_from: frozenset[JobStatus],
        now: str,
        result: dict[str, Any] | ResultJson | None = None,
        error: JobFailure | None = None,
    ) -> Job:
        """Move the job to ``to`` (with its result or error) if its status is in
        ``allowed_from``. Returns the new job. Raises ``JobTerminal`` or ``JobNotFound``.
        A result given as ``ResultJson`` is stored as that text and is not parsed back:
        the returned job may come without it (its caller has it already)."""
        ...

    def queued_before(self, created_before: str, limit: int) -> list[str]:
        """Ids of up to ``limit`` jobs still ``queued`` that were created before
        ``created_before`` (a ``jobs.timestamp``): an indexed query, never a scan."""
        ...

    def claim_requeue(self, job_id: str, now: float, next_at: float) -> Job | None:
        """One conditional write: when the job is still ``queued`` and not claimed for a
        requeue after ``now`` (epoch seconds), mark it claimed until ``next_at`` and
        return it; else ``None``. Of many Orchestrators claiming at once, one wins."""
        ...

    def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the store answers."""
        ...

    def close(self) -> None: ...


class DeliveryAttempt(CamelModel):
    """One POST of a job's webhook, as ``GET /jobs/{id}/deliveries`` shows it."""

    at: str
    webhook_id: str
    status_code: int | None = None
    latency_ms: float
    error: str | None = None
    #: the start of the receiver's answer, at most ``webhooks.RESPONSE_MAX_BYTES``
    response: str | None = None


class DeliveryState(StrEnum):
    PENDING = "pending"  # tried again at its due time, until delivered or past its deadline
    DELIVERED = "delivered"  # a 2xx answered
    ABANDONED = "abandoned"  # past WEBHOOK_RETRY_HOURS, or its address refused


@dataclass(frozen=True)
class Delivery:
    """A job's webhook delivery. ``lease`` is what ``claim_deliveries`` wrote: the claim
    holds while the record still carries it."""

    job_id: str
    url: str
    created_at: float  # epoch seconds of the terminal write that recorded it
    attempts: int
    lease: str


@dataclass(frozen=True)
class DeliveryLog:
    state: DeliveryState
    attempts: list[DeliveryAttempt]


@runtime_checkable
class DeliveryStore(Protocol):
    """Webhook deliveries (issue 19). A store that implements this records a delivery in
    the same atomic write that makes a job with a ``webhook_url`` terminal (``transition``),
    so that no terminal job's webhook is ever lost."""

    #: called (from any thread) once a delivery this store recorded is committed
    on_delivery_recorded: Callable[[], None] | None

    def claim_deliveries(self, now: float, lease_until: float, limit: int) -> list[Delivery]:
        """Up to ``limit`` pending deliveries due at ``now`` (epoch seconds), each claimed
        until ``lease_until`` by one conditional write: of many Orchestrators claiming at
        once, one gets each; a claim not finished by ``lease_until`` is due again."""
        ...

    def record_attempt(
        self, delivery: Delivery, attempt: DeliveryAttempt, state: DeliveryState, next_at: float
    ) -> None:
        """Append the attempt; while the claim holds, set the state and the next due time.
        ``DELIVERED`` is set even when the claim was lost (a 2xx is final)."""
        ...

    def delivery_log(self, job_id: str) -> DeliveryLog | None:
        """The job's delivery and its attempts (``None``: none recorded)."""
        ...


@dataclass(frozen=True)
class Message:
    """A message taken from a queue. ``receipt`` names this delivery."""

    id: str
    body: str
    receipt: str
    deliveries: int


class JobQueue(Protocol):
    """At-least-once delivery with a visibility timeout and a dead-letter queue."""

    def send(self, body: str) -> None: ...

    def receive(self, max_messages: int = 1, wait_seconds: float = 0.0) -> list[Message]:
        """Take up to ``max_messages``, hidden for the visibility timeout. A message
        already delivered ``max_deliveries`` times goes to the dead-letter queue instead."""
        ...

    def ack(self, message: Message) -> None:
        """Delete a message taken by ``receive`` (a stale receipt deletes nothing)."""
        ...

    def release(self, message: Message) -> None:
        """Make a taken message visible again now."""
        ...

    def extend(self, message: Message, seconds: float) -> None:
        """Keep a taken message hidden for ``seconds`` more (heartbeat)."""
        ...

    def receive_dead(self, max_messages: int = 10, wait_seconds: float = 0.0) -> list[Message]:
        """Take messages from the dead-letter queue."""
        ...

    def ack_dead(self, message: Message) -> None: ...

    def close(self) -> None: ...


class ArtifactStore(Protocol):
    """Where artifacts are kept when there is a bucket (S3)."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def presign_get(self, key: str, expires_seconds: int) -> str: ...


@runtime_checkable
class Grouping(Protocol):
    """A store or queue whose writes can share one transaction (the embedded SQLite file):
    the Orchestrator groups the writes of concurrent requests into one commit."""

    def begin_group(self) -> bool:
        """Open a transaction on this thread that this thread's writes join until
        ``end_group``. ``False``, without waiting and without opening anything, when the
        write lock is taken."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """Inside an open group: what is written in the block is undone if it raises, the
        rest of the group stays (one call of several in a group)."""
        ...

    def end_group(self, *, commit: bool = True) -> None:
        """Commit the group's writes (``StoreUnavailable``: none of them was written), or
        roll them all back."""
        ...
