"""Job stores: where job records live. ``open_store`` picks the backend from settings."""

from __future__ import annotations

from levelforge.config import Settings
from levelforge.errors import ConfigurationError
from levelforge.ports import JobStore
from levelforge.stores.sqlite import SqliteJobStore

__all__ = ["SqliteJobStore", "open_store"]


def open_store(settings: Settings) -> JobStore:
    """SQLite at ``DATABASE_PATH``, unless ``JOBS_TABLE`` names a DynamoDB table."""
    if settings.jobs_table:
        raise ConfigurationError(
            "JOBS_TABLE is set, but the DynamoDB job store is not part of this build yet; "
            "unset JOBS_TABLE to use SQLite (DATABASE_PATH)"
        )
    return SqliteJobStore(settings.database_path)
