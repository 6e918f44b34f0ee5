"""Settings from the environment (CONTRACT §8). Built in the entry points, passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from levelforge.errors import ConfigurationError
from levelforge.jobs import TENANT_PATTERN

PUBLIC_BODY_LIMIT = 64 * 1024
INTERNAL_BODY_LIMIT = 1024 * 1024


class Settings(BaseSettings):
    """Every variable of CONTRACT §8, by its own name."""

    # ``hide_input_in_errors``: a bad value never shows up in an error (it may be a secret)
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True, hide_input_in_errors=True)

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
        default=30, gt=0, description="terminal jobs expire after this many days (a fraction too)"
    )
    requeue_after_seconds: float = Field(
        default=300, gt=0, le=86400,
        description="a job still queued this long is sent again (queue apart from the store)",
    )
    api_keys: SecretStr | None = Field(
        default=None, description="`tenant:key,tenant:key`; set: public routes need a bearer key"
    )
    rate_limit_per_minute: int | None = Field(
        default=None, ge=1, description="job creations per tenant per minute; unset: no limit"
    )

    @field_validator("api_keys")
    @classmethod
    def _check_api_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_api_keys(value.get_secret_value())
        return value

    def tenant_keys(self) -> dict[bytes, str]:
        """Each accepted API key → its tenant (empty: public routes are open)."""
        if self.api_keys is None:
            return {}
        return parse_api_keys(self.api_keys.get_secret_value())

    def internal_tokens(self) -> list[bytes]:
        """The accepted internal tokens (empty: internal routes refuse everything)."""
        if self.internal_token is None:
            return []
        raw = self.internal_token.get_secret_value()
        return [part.strip().encode() for part in raw.split(",") if part.strip()]


def parse_api_keys(raw: str) -> dict[bytes, str]:
    """``tenant:key,tenant:key`` → key → tenant. A ``ValueError`` names what is wrong and
    which pair (by position), never a key."""
    keys: dict[bytes, str] = {}
    pairs = [pair.strip() for pair in raw.split(",") if pair.strip()]
    if not pairs:
        raise ValueError("expected tenant:key pairs separated by commas")
    for position, pair in enumerate(pairs, 1):
        tenant, colon, key = (part.strip() for part in pair.partition(":"))
        if not colon or not key:
            raise ValueError(f"pair {position} is not tenant:key")
        if not TENANT_PATTERN.match(tenant):
            raise ValueError(f"pair {position}: a tenant is 1-64 letters, digits, '_', '.' or '-'")
        if not key.isascii() or not key.isprintable() or " " in key:
            raise ValueError(f"pair {position}: a key is printable ASCII without spaces")
        if key.encode() in keys:
            raise ValueError(f"pair {position}: this key is already given to a tenant")
        keys[key.encode()] = tenant
    return keys


def load_settings(**overrides: object) -> Settings:
    """Read the environment; a bad value raises ``ConfigurationError`` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "environment"
        raise ConfigurationError(f"{name}: {first['msg']}") from exc
