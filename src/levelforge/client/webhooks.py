"""Checking a webhook delivery's signature (the Standard Webhooks convention).

The Orchestrator signs each delivery with three headers: ``webhook-id`` (the same on every
retry of one delivery), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, a
space-separated list of ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed with
the secret's bytes. A secret is written ``whsec_`` + base64 of its bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from levelforge.client.errors import WebhookVerificationError

#: how far a delivery's timestamp may be from now, either way, before it is refused as a replay
TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"  # noqa: S105 (the convention's prefix, not a secret)


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str | bytes,
    *,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Return if the delivery is signed with ``secret`` and recent, else raise
    ``WebhookVerificationError`` saying why. ``body`` is the request's body exactly as
    received (verify before parsing it); ``secret`` is ``whsec_…`` as configured (or its
    raw bytes); ``headers`` in any letter case."""
    named = {name.lower(): value for name, value in headers.items()}
    try:
        message_id = named["webhook-id"]
        timestamp = named["webhook-timestamp"]
        signatures = named["webhook-signature"]
    except KeyError as exc:
        raise WebhookVerificationError(f"missing header {exc.args[0]}") from None
    check_timestamp(timestamp, tolerance, time.time() if now is None else now)
    payload = body.encode() if isinstance(body, str) else body
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + payload
    expected = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    for signature in signatures.split():
        version, _, encoded = signature.partition(",")
        if version != "v1":
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(candidate, expected):
            return
    raise WebhookVerificationError("no v1 signature matches the body with this secret")


def check_timestamp(timestamp: str, tolerance: float, now: float) -> None:
    if not timestamp.isdigit():
        raise WebhookVerificationError(f"webhook-timestamp is not Unix seconds: {timestamp!r}")
    if abs(now - int(timestamp)) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp {timestamp} is more than {tolerance:g} s from now ({now:.0f}): "
            "refused as a possible replay"
        )


def secret_bytes(secret: str | bytes) -> bytes:
    """The key of a secret written ``whsec_<base64>`` (or plain base64); raw bytes as they are."""
    if isinstance(secret, bytes):
        return secret
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise WebhookVerificationError("the secret is not whsec_ followed by base64") from exc
