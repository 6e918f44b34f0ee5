"""How a stored job is shown: presigned URLs added at read time, cursors of pages."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from typing import Any

import pydantic_core

from levelforge.jobs import ARTIFACTS, Job, JobStatus
from levelforge.ports import ArtifactStore, JobJson, PageAfter

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


class BadCursor(ValueError):
    """A cursor this server did not issue."""


def cursor_key(internal_tokens: list[bytes]) -> bytes:
    """The key that signs page cursors: derived from the internal token, which every
    Orchestrator of a deployment shares, or random for a lone process without one."""
    if not internal_tokens:
        return secrets.token_bytes(32)
    return hmac.new(internal_tokens[0], b"levelforge page cursor", hashlib.sha256).digest()


def present(job: Job, artifacts: ArtifactStore | None, expires_seconds: int) -> dict[str, Any]:
    """The job resource of CONTRACT §3: ``…Url`` added for every stored ``…Key``."""
    body = job.to_wire()
    result = body.get("result")
    if result is not None and artifacts is not None:
        for field, _content_type in ARTIFACTS.values():
            key = result.get(f"{field}Key")
            if isinstance(key, str):
                result[f"{field}Url"] = artifacts.presign_get(key, expires_seconds)
    return body


def present_json(job: Job, artifacts: ArtifactStore | None, expires_seconds: int) -> bytes:
    """``present`` as JSON bytes. Without a bucket there is no URL to add, and pydantic
    serializes the stored job directly, without building the dict first."""
    if artifacts is None or job.result is None:
        return job.model_dump_json(by_alias=True).encode()
    return pydantic_core.to_json(present(job, artifacts, expires_seconds))


def present_stored(stored: JobJson, artifacts: ArtifactStore | None, expires_seconds: int) -> bytes:
    """A job read as JSON (``JobStore.get_json``) as the resource of CONTRACT §3: as it is
    without a bucket; parsed only to add the presigned URLs of a done job's artifacts."""
    if artifacts is None or stored.status is not JobStatus.DONE:
        return stored.data
    return present_json(Job.model_validate_json(stored.data), artifacts, expires_seconds)


def page_json(jobs: list[bytes], next_cursor: str | None) -> bytes:
    """``{"jobs": [...], "nextCursor": ...}`` from jobs already serialized."""
    return b'{"jobs":[' + b",".join(jobs) + b'],"nextCursor":' + pydantic_core.to_json(next_cursor) + b"}"


def encode_cursor(last: Job, status: JobStatus | None, key: bytes) -> str:
    raw = json.dumps({"t": last.created_at, "i": last.id, "s": status.value if status else None})
    payload = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return f"{payload}.{_signature(payload, key)}"


def _signature(payload: str, key: bytes) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def decode_cursor(cursor: str, status: JobStatus | None, key: bytes) -> PageAfter:
    """The position a cursor stands for; ``BadCursor`` unless this server issued it, for
    this same listing."""
    payload, _, signature = cursor.partition(".")
    if not hmac.compare_digest(signature.encode(), _signature(payload, key).encode()):
        raise BadCursor("not a cursor of this server")
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("not a cursor of this server") from exc
    if not isinstance(data, dict) or set(data) != {"t", "i", "s"}:
        raise BadCursor("not a cursor of this server")
    created_at, job_id, listed = data["t"], data["i"], data["s"]
    if not (
        isinstance(created_at, str)
        and _TIMESTAMP.match(created_at)
        and isinstance(job_id, str)
        and _ULID.match(job_id)
    ):
        raise BadCursor("not a cursor of this server")
    if listed != (status.value if status else None):
        raise BadCursor("this cursor belongs to a listing with another status filter")
    return PageAfter(created_at=created_at, job_id=job_id)
