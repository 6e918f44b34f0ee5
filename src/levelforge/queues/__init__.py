"""Job queues: how jobs travel to workers. ``open_queue`` picks the backend from settings."""

from __future__ import annotations

from levelforge.config import Settings
from levelforge.errors import ConfigurationError
from levelforge.ports import JobQueue
from levelforge.queues.local import LocalQueue

__all__ = ["LocalQueue", "open_queue"]


def open_queue(settings: Settings) -> JobQueue:
    """The local queue in ``DATABASE_PATH``, unless ``JOBS_QUEUE_URL`` names an SQS queue
    (checked now: a missing queue or dead-letter queue fails here, naming the variable)."""
    if settings.jobs_queue_url:
        try:
            from levelforge.queues.sqs import open_sqs_queue  # noqa: PLC0415 (boto3 only when asked)
        except ImportError as exc:
            raise ConfigurationError(
                "JOBS_QUEUE_URL is set, but boto3 is not installed: pip install 'levelforge[aws]'"
            ) from exc
        return open_sqs_queue(settings)
    return LocalQueue(
        settings.database_path,
        visibility_timeout=settings.visibility_timeout_seconds,
        max_deliveries=settings.max_deliveries,
    )
