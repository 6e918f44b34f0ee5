"""Artifact storage: S3 when ``ARTIFACTS_BUCKET`` is set, otherwise demo mode (inline
copies only, no store)."""

from __future__ import annotations

from levelforge.config import Settings
from levelforge.errors import ConfigurationError
from levelforge.ports import ArtifactStore


def open_artifacts(settings: Settings) -> ArtifactStore | None:
    """The artifact store the settings name (checked now: a missing bucket, region or
    credentials fails here, naming the variable), or ``None`` for demo mode."""
    if settings.artifacts_bucket:
        try:
            from levelforge.artifacts.s3 import open_s3_artifacts  # noqa: PLC0415 (boto3 only when asked)
        except ImportError as exc:
            raise ConfigurationError(
                "ARTIFACTS_BUCKET is set, but boto3 is not installed: pip install 'levelforge[aws]'"
            ) from exc
        return open_s3_artifacts(settings)
    return None
