"""The public resources of the HTTP API (CONTRACT §2, §3) as pydantic models: what the
Orchestrator answers and what the Python client (``levelforge.client``) reads back.

Both import them from here, so the client gets the server's own models without importing
the server (FastAPI, the stores): ``api`` → ``resources`` ← ``client``, and ``resources``
imports nothing of the rest but ``jobs``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from levelforge.jobs import CamelModel, JobFailure, JobStatus, Step

__all__ = ["ErrorBody", "JobFailure", "JobPage", "JobPublic", "JobStatus", "Step"]


class JobPublic(CamelModel):
    """The job resource of CONTRACT §3 (URLs of artifacts added at read time)."""

    model_config = ConfigDict(extra="allow")

    id: str
    status: JobStatus
    spec: dict[str, Any]
    created_at: str
    updated_at: str
    steps: list[Step]
    result: dict[str, Any] | None
    error: JobFailure | None


class JobPage(CamelModel):
    jobs: list[JobPublic]
    next_cursor: str | None


class ErrorBody(BaseModel):
    error: str
    message: str
    details: Any | None = None
