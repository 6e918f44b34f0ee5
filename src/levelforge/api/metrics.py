"""Prometheus metrics of one Orchestrator process, in a registry of its own."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from levelforge.webhooks import OUTCOMES

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: a webhook attempt waits on a receiver elsewhere, up to WEBHOOK_TIMEOUT_SECONDS (60 at most)
WEBHOOK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs_created = Counter(
            "levelforge_jobs_created", "Jobs created (replays not counted)", registry=self.registry
        )
        self.jobs_finished = Counter(
            "levelforge_jobs_finished",
            "Jobs that reached a terminal status",
            ["status"],
            registry=self.registry,
        )
        self.steps_recorded = Counter(
            "levelforge_steps_recorded", "Step events recorded", registry=self.registry
        )
        self.step_duplicates = Counter(
            "levelforge_step_duplicates", "Duplicate step events absorbed", registry=self.registry
        )
        self.terminal_conflicts = Counter(
            "levelforge_terminal_conflicts",
            "Writes refused because the job was terminal",
            ["operation"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "levelforge_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.webhook_attempts = Counter(
            "levelforge_webhook_attempts",
            "Webhook delivery attempts by outcome (delivered: a 2xx; rejected: another status;"
            " timeout; unreachable; lookup_failed; refused: an address it may not reach;"
            " undeliverable: the job gone or no secret)",
            ["outcome"],
            registry=self.registry,
        )
        self.webhook_attempt_seconds = Histogram(
            "levelforge_webhook_attempt_duration_seconds",
            "Latency of a webhook delivery attempt (lookup, connection and answer)",
            buckets=WEBHOOK_BUCKETS,
            registry=self.registry,
        )
        for outcome in OUTCOMES:  # every outcome shown from the start, at 0
            self.webhook_attempts.labels(outcome)

    def webhook_attempt(self, outcome: str, seconds: float) -> None:
        """One webhook attempt ended (``webhooks.AttemptObserver``)."""
        self.webhook_attempts.labels(outcome).inc()
        self.webhook_attempt_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestTimer:
    """Observes each request's latency under its route template (not its raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.request_seconds.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )
