"""The Python client of levelforge: ``Client`` (blocking) and ``AsyncClient`` (asyncio) on
httpx, answering with the server's own models (``levelforge.resources``), and
``verify_webhook`` for the Orchestrator's signed webhooks.

    from levelforge.client import Client

    with Client("http://127.0.0.1:8000") as levelforge:
        job = levelforge.wait(levelforge.create({"seed": 42, "rooms": 12}))
        tiled_map = levelforge.artifact(job, "tiled.json")
"""

from levelforge.client.aio import AsyncClient
from levelforge.client.errors import (
    ApiError,
    ClientError,
    Conflict,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServiceUnreachable,
    Unauthorized,
    Unavailable,
    WaitTimeout,
    WebhookVerificationError,
)
from levelforge.client.protocol import Retries
from levelforge.client.sync import Client
from levelforge.client.webhooks import verify_webhook
from levelforge.resources import JobPage, JobPublic, Step

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "ClientError",
    "Conflict",
    "InvalidRequest",
    "JobPage",
    "JobPublic",
    "NotFound",
    "RateLimited",
    "Retries",
    "ServiceUnreachable",
    "Step",
    "Unauthorized",
    "Unavailable",
    "WaitTimeout",
    "WebhookVerificationError",
    "verify_webhook",
]
