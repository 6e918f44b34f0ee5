"""Job queues: how jobs travel to workers. ``open_queue`` picks the backend from settings."""

from __future__ import annotations

from levelforge.config import Settings
from levelforge.errors import ConfigurationError
from levelforge.ports import JobQueue
from levelforge.queues.local import LocalQueue

__all__ = ["LocalQueue", "open_queue"]


def open_queue(settings: Settings) -> JobQueue:
    """The local queue in ``DATABASE_PATH``, unless ``JOBS_QUEUE_URL`` names an SQS queue."""
    if settings.jobs_queue_url:
        raise ConfigurationError(
            "JOBS_QUEUE_URL is set, but the SQS job queue is not part of this build yet; "
            "unset JOBS_QUEUE_URL to use the local queue (DATABASE_PATH)"
        )
    return LocalQueue(
        settings.database_path,
        visibility_timeout=settings.visibility_timeout_seconds,
        max_deliveries=settings.max_deliveries,
    )
