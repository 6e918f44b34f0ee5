"""Access control (CONTRACT §10): whose request it is, whose job it is, and how many jobs
a tenant may create per minute.

- ``ApiKeyGuard``, a pure ASGI middleware, judges ``Authorization: Bearer <key>`` first
  (before the body's size and shape): with ``API_KEYS`` set, every public route but
  ``/healthz`` and the viewer's static files needs a known key, else ``401``. It puts the
  key's tenant in the request's state; without ``API_KEYS`` every request is the default
  tenant's. Keys are compared in constant time and never logged.
- ``owned_job`` reads a job for a tenant: another tenant's job is ``JobNotFound`` (404),
  exactly like a job that does not exist. A job's tenant never changes, so checking it
  before a conditional write (cancel) is safe.
- ``take_creation_slot`` counts a creation in the store (one atomic conditional write per
  tenant and minute, so it holds across Orchestrators sharing the store), or raises
  ``RateLimited`` with the seconds until the minute ends.
"""

from __future__ import annotations

import hmac
import json
import math
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from levelforge.errors import JobNotFound, RateLimited
from levelforge.jobs import DEFAULT_TENANT, IdempotencyClaim, Job
from levelforge.ports import JobStore

#: judged by the internal token instead (``guards.RequestGuard``)
INTERNAL_PREFIX = "/internal/"
#: paths open without a key: the health check and the viewer's static files
OPEN_PATHS = frozenset({"/healthz", "/"})
OPEN_PREFIXES = ("/web/",)
UNAUTHORIZED = {
    "error": "unauthorized",
    "message": "missing or unknown API key: send Authorization: Bearer <key>",
}
WINDOW_SECONDS = 60


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or path.startswith(INTERNAL_PREFIX)


def bearer_key(authorization: bytes | None) -> bytes | None:
    """The key of an ``Authorization: Bearer <key>`` header (the scheme in any case)."""
    if authorization is None:
        return None
    scheme, _, key = authorization.strip().partition(b" ")
    if scheme.lower() != b"bearer" or not key.strip():
        return None
    return key.strip()


def tenant_of(given: bytes | None, keys: dict[bytes, str]) -> str | None:
    """The tenant of ``given``, comparing it with every key in constant time."""
    if given is None:
        return None
    found: str | None = None
    for key, tenant in keys.items():
        if hmac.compare_digest(given, key):
            found = tenant
    return found


class ApiKeyGuard:
    """401 for a public request without a known key (when there are keys); sets the
    request's ``tenant`` state. Internal routes are left to the internal token's guard."""

    def __init__(self, app: ASGIApp, keys: dict[bytes, str]) -> None:
        self.app = app
        self.keys = dict(keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tenant: str | None = DEFAULT_TENANT
        if self.keys and not is_open(scope["path"]):
            headers = dict(scope["headers"])
            tenant = tenant_of(bearer_key(headers.get(b"authorization")), self.keys)
            if tenant is None:
                await send_unauthorized(send)
                return
        scope.setdefault("state", {})["tenant"] = tenant
        await self.app(scope, receive, send)


async def send_unauthorized(send: Send) -> None:
    payload = json.dumps(UNAUTHORIZED).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"www-authenticate", b"Bearer"),
    ]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def get_tenant(request: Request) -> str:
    tenant: str = getattr(request.state, "tenant", DEFAULT_TENANT)
    return tenant


TenantDep = Annotated[str, Depends(get_tenant)]


def owned_job(store: JobStore, job_id: str, tenant: str) -> Job:
    """The job, or ``JobNotFound`` when it does not exist or is another tenant's."""
    job = store.get(job_id)
    if job.tenant != tenant:
        raise JobNotFound(job_id)
    return job


@dataclass(frozen=True)
class CreationSlot:
    """A job creation counted in the tenant's window; given back when no job was made
    (an idempotent replay, a refused request)."""

    store: JobStore
    tenant: str
    window: int

    def give_back(self) -> None:
        self.store.count_creation(self.tenant, self.window, limit=0, delta=-1)


def take_creation_slot(
    store: JobStore, tenant: str, limit: int | None, claim: IdempotencyClaim | None = None,
    now: float | None = None,
) -> CreationSlot | None:
    """Count one creation for ``tenant`` (``None``: no limit configured), or raise
    ``RateLimited`` with the seconds until its minute ends, unless the request is a replay
    of an earlier one (``claim``): a replay creates nothing, so the limit does not apply."""
    if limit is None:
        return None
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    if not store.count_creation(tenant, window, limit):
        if claim is not None and store.replay_of(tenant, claim) is not None:
            return None  # the insert will answer with the replay
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise RateLimited(tenant, limit, retry_after)
    return CreationSlot(store, tenant, window)
