"""Settings from the environment (CONTRACT §8). Built in the entry points, passed down."""

from __future__ import annotations

import base64
import binascii
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
    webhook_secret: SecretStr | None = Field(
        default=None, description="`whsec_<base64>`: signs webhooks (tenants without WEBHOOK_SECRETS)"
    )
    webhook_secrets: SecretStr | None = Field(
        default=None, description="`tenant:whsec_…,tenant:whsec_…`: a tenant's own webhook secret"
    )
    webhook_retry_hours: float = Field(
        default=24, gt=0, le=720, description="a webhook is retried this long after its job ended"
    )
    webhook_backoff_base_seconds: float = Field(
        default=5, gt=0, le=3600, description="the first retry's delay, doubled each time up to an hour"
    )
    webhook_timeout_seconds: float = Field(
        default=5, gt=0, le=60, description="connect and read timeout of one webhook attempt"
    )
    webhook_poll_seconds: float = Field(
        default=5, gt=0, le=3600,
        description="how often each Orchestrator looks for deliveries left by another (or a crash)",
    )
    webhook_allow_private: bool = Field(
        default=False, description="deliver to loopback, private and link-local addresses (tests only)"
    )

    @field_validator("api_keys")
    @classmethod
    def _check_api_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_api_keys(value.get_secret_value())
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_webhook_secret(value.get_secret_value())
        return value

    @field_validator("webhook_secrets")
    @classmethod
    def _check_webhook_secrets(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_webhook_secrets(value.get_secret_value())
        return value

    def webhook_secret_of(self, tenant: str) -> bytes | None:
        """The key that signs ``tenant``'s webhooks: its own of ``WEBHOOK_SECRETS``, else
        ``WEBHOOK_SECRET`` (``None``: the tenant cannot ask for webhooks)."""
        if self.webhook_secrets is not None:
            own = parse_webhook_secrets(self.webhook_secrets.get_secret_value()).get(tenant)
            if own is not None:
                return own
        if self.webhook_secret is None:
            return None
        return parse_webhook_secret(self.webhook_secret.get_secret_value())

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


WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 (the form of a secret, not one)
#: a webhook secret holds 24 to 64 bytes (Standard Webhooks)
WEBHOOK_SECRET_BYTES = (24, 64)


def parse_webhook_secret(raw: str) -> bytes:
    """``whsec_`` + base64 of the key's bytes (the Standard Webhooks form) → the bytes. A
    ``ValueError`` says what is wrong, never the secret."""
    text = raw.strip()
    if not text.startswith(WEBHOOK_SECRET_PREFIX):
        raise ValueError(f"a webhook secret is written {WEBHOOK_SECRET_PREFIX}<base64 of its bytes>")
    try:
        key = base64.b64decode(text[len(WEBHOOK_SECRET_PREFIX):], validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret's part after whsec_ is not base64") from exc
    low, high = WEBHOOK_SECRET_BYTES
    if not low <= len(key) <= high:
        raise ValueError(f"a webhook secret holds {low} to {high} bytes")
    return key


def parse_webhook_secrets(raw: str) -> dict[str, bytes]:
    """``tenant:whsec_…,tenant:whsec_…`` → tenant → key bytes."""
    secrets: dict[str, bytes] = {}
    pairs = [pair.strip() for pair in raw.split(",") if pair.strip()]
    if not pairs:
        raise ValueError("expected tenant:whsec_… pairs separated by commas")
    for position, pair in enumerate(pairs, 1):
        tenant, colon, secret = (part.strip() for part in pair.partition(":"))
        if not colon or not TENANT_PATTERN.match(tenant):
            raise ValueError(f"pair {position} is not tenant:whsec_…")
        if tenant in secrets:
            raise ValueError(f"pair {position}: tenant {tenant} has a secret already")
        try:
            secrets[tenant] = parse_webhook_secret(secret)
        except ValueError as exc:
            raise ValueError(f"pair {position}: {exc}") from exc
    return secrets


def load_settings(**overrides: object) -> Settings:
    """Read the environment; a bad value raises ``ConfigurationError`` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "environment"
        raise ConfigurationError(f"{name}: {first['msg']}") from exc
