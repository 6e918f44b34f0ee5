"""``verify_webhook``: the Standard Webhooks signature, checked against the convention's own
published test vector and against signatures this test computes with ``hmac`` itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pytest

from levelforge.client import WebhookVerificationError, verify_webhook

# the Standard Webhooks specification's published test vector
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_HEADERS = {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
VECTOR_BODY = b'{"test": 2432232314}'


def signed(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Headers of a delivery, signed here independently of the client's code."""
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "Webhook-Id": message_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": "v1," + base64.b64encode(digest).decode(),
    }


def test_the_published_test_vector_verifies() -> None:
    """Given the convention's test vector, at its own time, Then it verifies (bytes or str body)."""
    verify_webhook(VECTOR_HEADERS, VECTOR_BODY, VECTOR_SECRET, now=1614265330)
    verify_webhook(VECTOR_HEADERS, VECTOR_BODY.decode(), VECTOR_SECRET, now=1614265330 + 299)


def test_a_fresh_delivery_signed_with_the_secret_verifies_among_several_signatures() -> None:
    """Given a random secret and a delivery signed now (header names in any case), listed
    after an unknown version and a signature of another key (key rotation)
    Then it verifies."""
    key = secrets.token_bytes(32)
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"id":"01JFZ3K5Q8C4W7R2N6V9XTBHDM","status":"done"}'
    headers = signed(key, "msg_1", int(time.time()), body)
    other = signed(secrets.token_bytes(32), "msg_1", int(time.time()), body)["Webhook-Signature"]
    headers["Webhook-Signature"] = f"v2,abc {other} {headers['Webhook-Signature']}"
    verify_webhook(headers, body, secret)
    verify_webhook(headers, body, key)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b'{"test": 2432232315}'}, "no v1 signature matches"),
        ({"secret": "whsec_" + base64.b64encode(b"another secret of 32 bytes long!").decode()},
         "no v1 signature matches"),
        ({"headers": {"webhook-id": "msg_other"}}, "no v1 signature matches"),
        ({"headers": {"webhook-signature": "v1,AAAA"}}, "no v1 signature matches"),
        ({"headers": {"webhook-signature": "v1,not base64!"}}, "no v1 signature matches"),
        ({"now": 1614265330 + 301}, "more than 300 s from now"),
        ({"now": 1614265330 - 301}, "more than 300 s from now"),
        ({"headers": {"webhook-timestamp": "1614265330.0"}}, "not Unix seconds"),
        ({"headers": {"webhook-signature": None}}, "missing header webhook-signature"),
        ({"secret": "whsec_%%%"}, "not whsec_ followed by base64"),
    ],
)
def test_a_wrong_delivery_is_refused(change: dict[str, object], reason: str) -> None:
    """Given the test vector with one thing changed (the body, the secret, the id, the
    signature, a stale or future timestamp, a missing header)
    Then WebhookVerificationError says why."""
    headers = {**VECTOR_HEADERS, **change.get("headers", {})}
    headers = {name: value for name, value in headers.items() if value is not None}
    with pytest.raises(WebhookVerificationError, match=reason):
        verify_webhook(
            headers,
            change.get("body", VECTOR_BODY),
            change.get("secret", VECTOR_SECRET),
            now=change.get("now", 1614265330),
        )


def test_a_stale_delivery_is_refused_by_the_clock() -> None:
    """Given a delivery correctly signed ten minutes ago, When verified now, Then refused."""
    key = secrets.token_bytes(24)
    body = b"{}"
    headers = signed(key, "msg_old", int(time.time()) - 600, body)
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify_webhook(headers, body, "whsec_" + base64.b64encode(key).decode())
    verify_webhook(headers, body, "whsec_" + base64.b64encode(key).decode(), tolerance=900)
