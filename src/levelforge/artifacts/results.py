"""The job result of CONTRACT §3 from a level's artifacts: ``…Key`` for what is stored in
the bucket, an inline copy for what is small enough (or everything, in demo mode)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from levelforge.jobs import ARTIFACTS
from levelforge.ports import ArtifactStore


def artifact_key(job_id: str, name: str) -> str:
    return f"jobs/{job_id}/{name}"


def inline_copy(name: str, data: bytes) -> Any:
    """JSON artifacts inline as objects, text ones as strings."""
    _field, content_type = ARTIFACTS[name]
    return json.loads(data) if content_type == "application/json" else data.decode("utf-8")


def publish(
    job_id: str,
    summary: Mapping[str, int],
    artifacts: Mapping[str, bytes],
    store: ArtifactStore | None,
    inline_max_bytes: int,
) -> dict[str, Any]:
    """Store each artifact (when there is a bucket) and build the result."""
    result: dict[str, Any] = {"summary": dict(summary)}
    for name, data in artifacts.items():
        field, content_type = ARTIFACTS[name]
        if store is not None:
            key = artifact_key(job_id, name)
            store.put(key, data, content_type)
            result[f"{field}Key"] = key
            if len(data) <= inline_max_bytes:
                result[field] = inline_copy(name, data)
        else:
            result[field] = inline_copy(name, data)
    return result
