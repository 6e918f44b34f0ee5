"""Job stores: where job records live. ``open_store`` picks the backend from settings."""

from __future__ import annotations

from levelforge.config import Settings
from levelforge.errors import ConfigurationError
from levelforge.ports import JobStore
from levelforge.stores.sqlite import SqliteJobStore

__all__ = ["SqliteJobStore", "open_store"]

AWS_EXTRA = "pip install 'levelforge[aws]'"


def open_store(settings: Settings) -> JobStore:
    """SQLite at ``DATABASE_PATH``, unless ``JOBS_TABLE`` names a DynamoDB table (checked
    now: a missing table, region or credentials fails here, naming the variable)."""
    if settings.jobs_table:
        try:
            from levelforge.stores.dynamodb import open_dynamodb_store  # noqa: PLC0415 (boto3 only when asked)
        except ImportError as exc:
            raise ConfigurationError(f"JOBS_TABLE is set, but boto3 is not installed: {AWS_EXTRA}") from exc
        return open_dynamodb_store(settings)
    return SqliteJobStore(settings.database_path, retention_seconds=settings.job_retention_days * 86400)
