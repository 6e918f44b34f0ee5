"""Artifact storage: S3 when ``ARTIFACTS_BUCKET`` is set, otherwise demo mode (inline
copies only, no store)."""

from __future__ import annotations

from levelforge.config import Settings
from levelforge.errors import ConfigurationError
from levelforge.ports import ArtifactStore


def open_artifacts(settings: Settings) -> ArtifactStore | None:
    """The artifact store the settings name, or ``None`` for demo mode."""
    if settings.artifacts_bucket:
        raise ConfigurationError(
            "ARTIFACTS_BUCKET is set, but the S3 artifact store is not part of this build "
            "yet; unset ARTIFACTS_BUCKET for demo mode (inline results)"
        )
    return None
