"""How a stored job is shown: presigned URLs added at read time, cursors of pages."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from levelforge.jobs import ARTIFACTS, Job, JobStatus
from levelforge.ports import ArtifactStore, PageAfter

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


class BadCursor(ValueError):
    """A cursor this server did not issue."""


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


def encode_cursor(last: Job, status: JobStatus | None) -> str:
    raw = json.dumps({"t": last.created_at, "i": last.id, "s": status.value if status else None})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, status: JobStatus | None) -> PageAfter:
    """The position a cursor stands for; ``BadCursor`` unless this server could have issued it
    for this same listing."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
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
