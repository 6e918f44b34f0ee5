"""Webhooks (issue 19): when a job with ``webhook: {"url": …}`` ends, its public resource is
POSTed to the URL, signed as Standard Webhooks sign it, at least once.

- **Recorded with the end.** The store writes the delivery in the same atomic write that
  makes the job terminal (``ports.DeliveryStore``), so no terminal job's webhook is lost.
- **Delivered by any Orchestrator.** Each runs a ``Deliverer`` on its event loop: it claims
  the due deliveries (one conditional write each, with a lease of ``lease_seconds``), POSTs
  them, and records every attempt. It looks at once when its own store records a delivery
  and when one of its retries is due, and every ``WEBHOOK_POLL_SECONDS`` (jittered) for
  what another Orchestrator left (a lapsed claim, a retry of one that stopped). A 2xx
  ends the delivery; any other status, a timeout or a refused connection is tried again
  after an exponential backoff with jitter
  (``WEBHOOK_BACKOFF_BASE_SECONDS`` doubled each time, at most an hour, times 0.5 to 1),
  until ``WEBHOOK_RETRY_HOURS`` after the job ended. An Orchestrator that dies mid-delivery
  leaves its claim to lapse: the delivery is due again at the lease's end, for any
  Orchestrator (itself after a restart). A delivery may so arrive twice, always with the
  same ``webhook-id``.
- **Signed.** ``webhook-id`` (``msg_<job id>``, the same on every attempt),
  ``webhook-timestamp`` (epoch seconds of the attempt) and ``webhook-signature``: ``v1,`` +
  base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}`` with the tenant's secret
  (``WEBHOOK_SECRETS``, else ``WEBHOOK_SECRET``; written ``whsec_`` + base64 of its bytes).
- **Safe.** ``http``/``https`` only; the host is resolved and every address it resolves to
  must be globally routable (no loopback, private, shared, link-local, multicast,
  reserved or cloud-metadata address) unless ``WEBHOOK_ALLOW_PRIVATE``; the connection
  goes to the address that was checked (the URL's name is kept for ``Host`` and TLS), so a
  second lookup cannot swap it; no proxy from the environment; connect and read timeouts
  of ``WEBHOOK_TIMEOUT_SECONDS``; redirects are not followed; at most
  ``RESPONSE_MAX_BYTES`` of an answer are read and kept. An address refused at delivery
  ends the delivery (``abandoned``) without a request.

Observed: every attempt is reported to an ``AttemptObserver`` (the Orchestrator's
``api.metrics.Metrics``) by its outcome (``OUTCOMES``) and latency.

A fault point for the tests: with ``LEVELFORGE_FAULT_KILL_IN_WEBHOOK`` naming a file, the
process SIGKILLs itself at the point the file names whenever it can delete that file:
``terminal-written`` (this Orchestrator wrote a job's end: nothing claimed),
``claimed`` (claimed, nothing sent) or ``sent`` (the receiver answered, nothing recorded).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import logging
import os
import random
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

from levelforge import __version__
from levelforge.errors import LevelforgeError
from levelforge.jobs import timestamp
from levelforge.ports import Delivery, DeliveryAttempt, DeliveryState, DeliveryStore

logger = logging.getLogger(__name__)

FAULT_VARIABLE = "LEVELFORGE_FAULT_KILL_IN_WEBHOOK"
#: at most this much of a receiver's answer is read, and kept in the attempt
RESPONSE_MAX_BYTES = 1024
#: the longest wait between two attempts
MAX_BACKOFF_SECONDS = 3600.0
#: a URL is at most this long
URL_MAX_CHARS = 2048
#: deliveries claimed a pass; more are claimed at once when a pass claimed this many
CLAIM_BATCH = 16
#: attempts in flight at once, per Orchestrator
MAX_IN_FLIGHT = 32
#: cloud metadata services; most are link-local already, listed so they never slip through
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)

T = TypeVar("T")
#: jitter of its own: the process's shared ``random`` state is left alone
_JITTER = random.Random()
Resolver = Callable[[str, int], Awaitable[list[str]]]
#: a job's tenant and the JSON body to post (``None``: the job is gone)
Render = Callable[[str], Awaitable[tuple[str, bytes] | None]]


#: an attempt's outcome, as ``AttemptObserver`` is told it
DELIVERED, REJECTED, TIMEOUT, UNREACHABLE, LOOKUP_FAILED, REFUSED, UNDELIVERABLE = (
    "delivered", "rejected", "timeout", "unreachable", "lookup_failed", "refused", "undeliverable",
)
OUTCOMES = (DELIVERED, REJECTED, TIMEOUT, UNREACHABLE, LOOKUP_FAILED, REFUSED, UNDELIVERABLE)


class AttemptObserver(Protocol):
    """Told of every attempt: its outcome (one of ``OUTCOMES``: ``delivered`` a 2xx,
    ``rejected`` any other status, ``timeout``, ``unreachable`` a failed connection,
    ``lookup_failed``, ``refused`` an address it may not reach, ``undeliverable`` the job
    gone or no secret for its tenant) and how long it took, in seconds."""

    def webhook_attempt(self, outcome: str, seconds: float) -> None: ...


class AddressRefused(ValueError):
    """A webhook's host is, or resolves to, an address it may not reach."""


def webhook_id_of(job_id: str) -> str:
    """The ``webhook-id`` of a job's delivery: one per job, the same on every attempt."""
    return f"msg_{job_id}"


def signature(secret: bytes, webhook_id: str, at: int, body: bytes) -> str:
    """``v1,`` + base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}``."""
    mac = hmac.new(secret, f"{webhook_id}.{at}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed_headers(secret: bytes, webhook_id: str, at: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(at),
        "webhook-signature": signature(secret, webhook_id, at, body),
    }


def refusal(address: str) -> str | None:
    """Why an address may not be a webhook's (``None``: globally routable, allowed)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return f"{ip} (a cloud metadata address)"
    for test, what in (
        (ip.is_loopback, "loopback"), (ip.is_link_local, "link-local"), (ip.is_private, "private"),
        (ip.is_multicast, "multicast"), (ip.is_unspecified, "unspecified"), (ip.is_reserved, "reserved"),
        (not ip.is_global, "not globally routable"),
    ):
        if test:
            return f"{ip} (a {what} address)"
    return None


def check_url(url: str, *, allow_private: bool) -> SplitResult:
    """A webhook URL as ``POST /jobs`` takes it: absolute ``http``/``https`` with a host, no
    credentials or fragment; a host that is an address (or ``localhost``) is checked now,
    a name when it is resolved at delivery. ``ValueError`` says what is wrong."""
    if len(url) > URL_MAX_CHARS:
        raise ValueError(f"a webhook URL is at most {URL_MAX_CHARS} characters")
    if not url.isascii() or any(char.isspace() or not char.isprintable() for char in url):
        raise ValueError("a webhook URL is printable ASCII without spaces (IDNA-encode names)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("a webhook URL is http:// or https://")
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        raise ValueError("a webhook URL's port is 1 to 65535") from exc
    if not parts.hostname:
        raise ValueError("a webhook URL names a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("a webhook URL holds no user or password")
    if parts.fragment:
        raise ValueError("a webhook URL has no #fragment")
    if not allow_private:
        reason = literal_refusal(parts.hostname)
        if reason is not None:
            raise AddressRefused(f"refused: {reason}; a webhook may only reach public addresses")
    return parts


def literal_refusal(host: str) -> str | None:
    """What can be decided without a lookup: an address host, or ``localhost``."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return f"{host} (a loopback name)"
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return None
    return refusal(name)


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system's resolver, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def backoff(attempts: int, base: float) -> float:
    """The wait after the ``attempts``-th failed attempt: doubling from ``base``, at most
    ``MAX_BACKOFF_SECONDS``, times a random 0.5 to 1 so that receivers are not hit in waves."""
    delay: float = min(base * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    return delay * _JITTER.uniform(0.5, 1.0)


class FaultPoints:
    """Off unless ``LEVELFORGE_FAULT_KILL_IN_WEBHOOK`` is set: then ``reached(point)``
    SIGKILLs this process when the file it names says ``point`` and can be removed."""

    def __init__(self, fuse: str | None = None) -> None:
        self.fuse = fuse if fuse is not None else os.environ.get(FAULT_VARIABLE)

    def reached(self, point: str) -> None:
        if not self.fuse:
            return
        try:
            with open(self.fuse) as armed:
                if armed.read().strip() != point:
                    return
            os.unlink(self.fuse)
        except FileNotFoundError:
            return
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class DeliveryPolicy:
    retry_seconds: float
    backoff_base_seconds: float
    timeout_seconds: float
    allow_private: bool
    poll_seconds: float = 5.0

    @property
    def lease_seconds(self) -> float:
        """How long a claim holds: a lookup and an attempt (connect, then read) fit in it."""
        return 3 * self.timeout_seconds + 5


class StoreCalls(Protocol):
    """How the deliverer calls the blocking store from the event loop (the Orchestrator's
    ``api.port_calls``: grouped commits on SQLite, a thread per call on DynamoDB)."""

    async def write(self, call: Callable[..., T], *args: Any) -> T: ...


class Deliverer:
    """The background task of one Orchestrator that delivers due webhooks."""

    def __init__(
        self,
        store: DeliveryStore,
        calls: StoreCalls,
        render: Render,
        secret_of: Callable[[str], bytes | None],
        policy: DeliveryPolicy,
        *,
        resolver: Resolver = resolve,
        transport: httpx.AsyncBaseTransport | None = None,
        faults: FaultPoints | None = None,
        observer: AttemptObserver | None = None,
    ) -> None:
        self.store = store
        self.calls = calls
        self.render = render
        self.secret_of = secret_of
        self.policy = policy
        self.resolver = resolver
        self.transport = transport
        self.faults = faults if faults is not None else FaultPoints()
        self.observer = observer
        self.delivered = 0
        self.passes = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    def start(self) -> None:
        """Start on the running event loop (again, after ``stop``)."""
        timeout = httpx.Timeout(self.policy.timeout_seconds)
        self._client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False, transport=self.transport,
            headers={"user-agent": f"levelforge-webhooks/{__version__}"},
        )
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        """Stop claiming; attempts in flight are cancelled (their claims lapse and another
        pass delivers them: at least once)."""
        tasks = [task for task in (self._task, *self._in_flight) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """This process's store recorded a delivery (a job with a webhook ended): look for
        it now. Safe from any thread; the store calls it once the write is committed."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._woken)

    def _woken(self) -> None:
        self.faults.reached("terminal-written")
        self._wake.set()

    async def _run(self) -> None:
        while True:  # a pass at once on start: a restarted Orchestrator picks up at once
            self._wake.clear()
            try:
                while await self.run_once() == CLAIM_BATCH:
                    pass
            except LevelforgeError as exc:  # the store briefly unavailable
                logger.warning("webhooks: %s", exc)
            except Exception:
                logger.exception("webhooks: a pass failed; trying again")
            self.passes += 1
            try:
                async with asyncio.timeout(self.policy.poll_seconds * _JITTER.uniform(0.75, 1.25)):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def run_once(self) -> int:
        """Claim the due deliveries and start their attempts; how many were claimed."""
        now = time.time()
        claimed: list[Delivery] = await self.calls.write(
            self.store.claim_deliveries, now, now + self.policy.lease_seconds, CLAIM_BATCH
        )
        if claimed:
            self.faults.reached("claimed")  # nothing sent: the claims lapse
        for delivery in claimed:
            await self._slots.acquire()
            task = asyncio.get_running_loop().create_task(self._deliver(delivery))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return len(claimed)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slots.release()

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            attempt, state = await self._attempt(delivery)
            self.faults.reached("sent")  # sent, not recorded: sent again, with the same id
            next_at = time.time()
            if state is DeliveryState.PENDING:
                next_at += backoff(delivery.attempts + 1, self.policy.backoff_base_seconds)
                if next_at > delivery.created_at + self.policy.retry_seconds:
                    state = DeliveryState.ABANDONED
            await self.calls.write(self.store.record_attempt, delivery, attempt, state, next_at)
            if state is DeliveryState.PENDING:  # this Orchestrator tries again when it is due
                asyncio.get_running_loop().call_later(max(0.0, next_at - time.time()), self._wake.set)
            log = logger.info if state is DeliveryState.DELIVERED else logger.warning
            log("webhook %s after %d attempts: %s", state.value, delivery.attempts + 1,
                attempt.error or attempt.status_code, extra={"job_id": delivery.job_id})
            if state is DeliveryState.DELIVERED:
                self.delivered += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            # the claim lapses and the delivery is tried again
            logger.exception("webhook attempt failed", extra={"job_id": delivery.job_id})

    async def _attempt(self, delivery: Delivery) -> tuple[DeliveryAttempt, DeliveryState]:
        webhook_id = webhook_id_of(delivery.job_id)
        started, at = time.monotonic(), timestamp()

        def ended(
            outcome: str, state: DeliveryState, **fields: Any
        ) -> tuple[DeliveryAttempt, DeliveryState]:
            seconds = time.monotonic() - started
            if self.observer is not None:
                self.observer.webhook_attempt(outcome, seconds)
            latency = round(seconds * 1000, 3)
            return DeliveryAttempt(at=at, webhook_id=webhook_id, latency_ms=latency, **fields), state

        try:
            body, secret, target = await self._prepare(delivery)
        except OSError as exc:  # the name did not resolve (now): tried again
            return ended(LOOKUP_FAILED, DeliveryState.PENDING, error=f"lookup failed: {exc}")
        except AddressRefused as exc:  # never deliverable: an address it may not reach
            return ended(REFUSED, DeliveryState.ABANDONED, error=str(exc))
        except ValueError as exc:  # never deliverable: the job gone, no secret …
            return ended(UNDELIVERABLE, DeliveryState.ABANDONED, error=str(exc))
        headers = {
            **signed_headers(secret, webhook_id, int(time.time()), body),
            "host": target.host_header, "content-type": "application/json", "accept-encoding": "identity",
        }
        assert self._client is not None
        try:
            async with self._client.stream(
                "POST", target.url, content=body, headers=headers, extensions=target.extensions
            ) as response:
                answer = await _first_bytes(response)
        except httpx.TimeoutException as exc:
            return ended(TIMEOUT, DeliveryState.PENDING, error=f"timeout: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            error = f"connection failed: {type(exc).__name__}: {exc}"[:500]
            return ended(UNREACHABLE, DeliveryState.PENDING, error=error)
        outcome, state = (
            (DELIVERED, DeliveryState.DELIVERED) if 200 <= response.status_code < 300
            else (REJECTED, DeliveryState.PENDING)
        )
        kept = answer.decode(errors="replace")
        return ended(outcome, state, status_code=response.status_code, response=kept)

    async def _prepare(self, delivery: Delivery) -> tuple[bytes, bytes, Target]:
        """The body, the secret and where to connect. A ``ValueError`` says why it can never
        be delivered (an address refused, the job gone, no secret for its tenant)."""
        rendered = await self.render(delivery.job_id)
        if rendered is None:
            raise ValueError("the job is gone (past its retention)")
        tenant, body = rendered
        secret = self.secret_of(tenant)
        if secret is None:
            raise ValueError(f"no webhook secret is configured for tenant {tenant}")
        return body, secret, await self._target(delivery.url)

    async def _target(self, url: str) -> Target:
        parts = check_url(url, allow_private=self.policy.allow_private)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = await self.resolver(host, port)
        if not addresses:
            raise OSError(f"{host} resolves to no address")
        if not self.policy.allow_private:
            for address in addresses:
                reason = refusal(address)
                if reason is not None:
                    raise AddressRefused(f"refused: {host} resolves to {reason}")
        return Target.of(parts, addresses[0], port)


@dataclass(frozen=True)
class Target:
    """Where an attempt connects (the checked address) and what it says it asked for."""

    url: str
    host_header: str
    extensions: dict[str, Any]

    @classmethod
    def of(cls, parts: SplitResult, address: str, port: int) -> Target:
        literal = f"[{address}]" if ":" in address else address
        url = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
        host = parts.hostname or ""
        shown = f"[{host}]" if ":" in host else host
        host_header = shown if parts.port is None else f"{shown}:{parts.port}"
        extensions: dict[str, Any] = {}
        if parts.scheme == "https":
            extensions["sni_hostname"] = host  # TLS checks the certificate against the name
        return cls(url=url, host_header=host_header, extensions=extensions)


async def _first_bytes(response: httpx.Response) -> bytes:
    """At most ``RESPONSE_MAX_BYTES`` of the answer; the rest is never read."""
    taken = b""
    try:
        async for chunk in response.aiter_raw():  # as sent: "accept-encoding: identity" asked
            taken += chunk[: RESPONSE_MAX_BYTES - len(taken)]
            if len(taken) >= RESPONSE_MAX_BYTES:
                break
    except httpx.StreamConsumed:  # a transport that read it already (tests)
        return response.content[:RESPONSE_MAX_BYTES]
    return taken
