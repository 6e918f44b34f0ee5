"""Settings from the environment (CONTRACT §8). Built in the entry points, passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from levelforge.errors import ConfigurationError

PUBLIC_BODY_LIMIT = 64 * 1024
INTERNAL_BODY_LIMIT = 1024 * 1024


class Settings(BaseSettings):
    """Every variable of CONTRACT §8, by its own name."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    internal_token: SecretStr | None = Field(
        default=None, description="shared secret of /internal/; unset refuses everything"
    )
    jobs_table: str | None = None
    database_path: Path = Path("./levelforge.db")
    artifacts_bucket: str | None = None
    jobs_queue_url: str | None = None
    orchestrator_url: str = "http://127.0.0.1:8000"
    presign_expires_seconds: int = Field(default=900, ge=1, le=604800)
    inline_max_bytes: int = Field(default=65536, ge=0)
    visibility_timeout_seconds: float = Field(default=30.0, gt=0, le=43200)
    max_deliveries: int = Field(default=5, ge=1, le=1000)
    job_retention_days: float = Field(
        default=30, ge=1, description="terminal jobs expire (DynamoDB TTL) after this many days"
    )

    def internal_tokens(self) -> list[bytes]:
        """The accepted internal tokens (empty: internal routes refuse everything)."""
        if self.internal_token is None:
            return []
        raw = self.internal_token.get_secret_value()
        return [part.strip().encode() for part in raw.split(",") if part.strip()]


def load_settings(**overrides: object) -> Settings:
    """Read the environment; a bad value raises ``ConfigurationError`` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "environment"
        raise ConfigurationError(f"{name}: {first['msg']}") from exc
