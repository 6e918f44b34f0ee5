"""The client's pieces without I/O: the body of a create, the retry policy's waits."""

from __future__ import annotations

import httpx

from levelforge.client import Retries
from levelforge.client.protocol import create_body, retry_after


def test_a_webhook_goes_beside_the_spec_not_into_it() -> None:
    """Given a spec and a webhook URL, Then the body is the spec plus {"webhook": {"url"}},
    the caller's spec untouched; without a webhook, the spec alone."""
    spec = {"seed": 1, "rooms": 4}
    assert create_body(spec, "https://hooks.example.test/levels") == {
        "seed": 1, "rooms": 4, "webhook": {"url": "https://hooks.example.test/levels"},
    }
    assert spec == {"seed": 1, "rooms": 4}
    assert create_body(spec, None) == spec


def test_retry_waits_follow_retry_after_within_bounds() -> None:
    """Given the default policy without jitter
    Then a 429/503 waits its Retry-After (seconds or an HTTP date), refuses one over
    max_wait, falls back to backoff without one, and stops after the last attempt; a
    transport error backs off doubling; other answers are not retried."""
    retries = Retries(attempts=3, backoff=0.5, max_wait=60, jitter=lambda: 1.0)

    def answer(status: int, **headers: str) -> httpx.Response:
        return httpx.Response(status, headers=headers)

    assert retries.after_answer(1, answer(429, **{"Retry-After": "7"})) == 7.0
    assert retries.after_answer(1, answer(503, **{"Retry-After": "61"})) is None
    assert retries.after_answer(2, answer(503)) == 1.0
    assert retries.after_answer(3, answer(503, **{"Retry-After": "1"})) is None
    assert retries.after_answer(1, answer(500, **{"Retry-After": "1"})) is None
    assert retries.after_answer(1, answer(200)) is None
    dated = retry_after(answer(503, **{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert dated == 0.0  # a date in the past: at once
    assert retry_after(answer(503, **{"Retry-After": "soon"})) is None
    assert [retries.after_error(n) for n in (1, 2, 3)] == [0.5, 1.0, None]
