"""The Worker: take a message → run the pipeline step by step, reporting each step →
store the artifacts → complete the job → acknowledge the message, last.

It talks to the Orchestrator only over HTTP (``reporter``); it never touches the job
store. A message is acknowledged only once its job is terminal, so a worker that dies at
any point leaves the message to be delivered again and run again, deterministically.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError

from levelforge.artifacts import open_artifacts
from levelforge.artifacts.results import publish
from levelforge.config import Settings
from levelforge.errors import ConstraintsUnmet, GenerationFailed, LevelforgeError
from levelforge.generation import GENERATION_STEPS, Level, StepDone, run_pipeline
from levelforge.jobs import SUMMARY_MAX_CHARS, JobFailure, JobMessage, Step, step_id_for, timestamp
from levelforge.ports import ArtifactStore, JobQueue, Message
from levelforge.queues import open_queue
from levelforge.reporter import (
    JobGone,
    PendingStep,
    ReportAbandoned,
    Reporter,
    ReportRejected,
    ReportTooLarge,
)

logger = logging.getLogger(__name__)

STORE_STEP = "store_artifacts"
PIPELINE_STEPS = (*GENERATION_STEPS, STORE_STEP)
RECEIVE_WAIT_SECONDS = 1.0


class JobStopped(Exception):
    """The job is terminal (done elsewhere, cancelled, or failed here): stop and ack."""


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        reporter: Reporter,
        artifacts: ArtifactStore | None,
        settings: Settings,
        stop: threading.Event,
    ) -> None:
        self.queue = queue
        self.reporter = reporter
        self.artifacts = artifacts
        self.settings = settings
        self.stop = stop

    def run(self, concurrency: int = 1) -> None:
        """Take and handle messages until ``stop`` is set, up to ``concurrency`` jobs at once;
        returns when the jobs in flight are finished (or released). One receiver takes
        messages only for free threads, so a message never waits hidden behind a busy one
        and an idle worker polls the queue once, not once a thread."""
        free = threading.BoundedSemaphore(concurrency)
        with ThreadPoolExecutor(concurrency, thread_name_prefix="job") as pool:
            while not self.stop.is_set():
                if not free.acquire(timeout=RECEIVE_WAIT_SECONDS):
                    continue
                slots = 1 + sum(free.acquire(blocking=False) for _ in range(concurrency - 1))
                for message in self.take(slots):
                    slots -= 1
                    pool.submit(self.handle_and_free, message, free)
                for _ in range(slots):
                    free.release()

    def take(self, count: int) -> list[Message]:
        try:
            return self.queue.receive(max_messages=count, wait_seconds=RECEIVE_WAIT_SECONDS)
        except LevelforgeError as exc:
            logger.warning("queue unavailable: %s", exc)
            self.stop.wait(1.0)
            return []

    def handle_and_free(self, message: Message, free: threading.BoundedSemaphore) -> None:
        try:
            self.handle(message)
        except Exception:  # a bug: the message is left to be delivered again, then dead-lettered
            logger.exception("unexpected error handling message %s", message.id)
        finally:
            free.release()

    def handle(self, message: Message) -> None:
        try:
            job = JobMessage.model_validate_json(message.body)
        except ValidationError:
            logger.error("message %s is not a job message; left for the dead-letter queue", message.id)
            return
        try:
            self.run_job(job, Heartbeat(self.queue, message, self.settings.visibility_timeout_seconds))
        except JobStopped:
            pass
        except ReportAbandoned as exc:
            logger.warning("job released: %s", exc, extra={"job_id": job.job_id})
            self.settle(message, self.queue.release, job.job_id)
            return
        except ReportRejected as exc:
            logger.error("report refused, message left for redelivery: %s", exc, extra={"job_id": job.job_id})
            return
        except JobGone:
            logger.error(
                "the Orchestrator does not know this job; message dropped", extra={"job_id": job.job_id}
            )
        self.settle(message, self.queue.ack, job.job_id)

    @staticmethod
    def settle(message: Message, action: Callable[[Message], None], job_id: str) -> None:
        """Acknowledge or release; a queue that does not answer leaves the message to come
        back after its visibility timeout (a repeated run is absorbed), it kills nothing."""
        try:
            action(message)
        except LevelforgeError as exc:
            logger.warning(
                "queue unavailable, message %s left to come back: %s",
                message.id,
                exc,
                extra={"job_id": job_id},
            )

    def run_job(self, job: JobMessage, heartbeat: Heartbeat) -> None:
        """Each step is computed while the report of the one before is on its way; the
        next report goes out once that one is answered (one request in flight, in order)."""
        job_id = job.job_id
        steps = run_pipeline(job.spec)
        result: dict[str, Any] = {}

        def store_artifacts() -> str:
            level = finished_level(steps)
            artifacts = level.artifacts()
            result.update(
                publish(job_id, level.summary, artifacts, self.artifacts, self.settings.inline_max_bytes)
            )
            size = sum(len(data) for data in artifacts.values())
            where = "in the bucket" if self.artifacts is not None else "inline"
            return f"Stored {len(artifacts)} artifacts ({size} bytes) {where}"

        actions: list[tuple[str, Callable[[], str]]] = [
            *((name, lambda: next_summary(steps)) for name in GENERATION_STEPS),
            (STORE_STEP, store_artifacts),
        ]
        pending: PendingStep | None = None
        for name, action in actions:
            step, failure = perform(job_id, name, action)
            if pending is not None:
                self.settle_step(pending, job_id, name)
            if failure is not None:
                logger.warning("step %s failed: %s", name, failure.message, extra={"job_id": job_id})
                self.reporter.step(job_id, step)
                self.reporter.fail(job_id, failure)
                raise JobStopped
            pending = self.reporter.send_step(job_id, step)
            heartbeat.beat()
        completion = self.reporter.completion(job_id, result)  # while the last report travels
        if pending is not None:
            self.settle_step(pending, job_id, "complete")
        try:
            completion.send()
        except ReportTooLarge as exc:
            logger.error("result refused as too large: %s", exc, extra={"job_id": job_id})
            self.reporter.fail(job_id, result_too_large(exc))
            return
        logger.info("job done", extra={"job_id": job_id})

    @staticmethod
    def settle_step(pending: PendingStep, job_id: str, next_name: str) -> None:
        if pending.reply().terminal:
            logger.info("job is terminal; stopping before %s", next_name, extra={"job_id": job_id})
            raise JobStopped


class Heartbeat:
    """Keeps a long job's message hidden: extends its visibility every third of the timeout."""

    def __init__(self, queue: JobQueue, message: Message, visibility_timeout: float) -> None:
        self.queue = queue
        self.message = message
        self.visibility_timeout = visibility_timeout
        self.last = time.monotonic()

    def beat(self) -> None:
        now = time.monotonic()
        if now - self.last >= self.visibility_timeout / 3:
            try:
                self.queue.extend(self.message, self.visibility_timeout)
            except LevelforgeError as exc:  # best effort: at worst the job runs twice, absorbed
                logger.warning("could not extend the visibility of message %s: %s", self.message.id, exc)
            self.last = now


def perform(job_id: str, name: str, action: Callable[[], str]) -> tuple[Step, JobFailure | None]:
    """Run one step: its report, and the job's failure when it raised."""
    started_at, started = timestamp(), time.perf_counter()
    try:
        summary = action()
    except Exception as exc:  # noqa: BLE001 - any step's error fails its job, reported as such
        failure = failure_of(name, exc)
        return make_step(job_id, name, started_at, started, failure.message, "error"), failure
    return make_step(job_id, name, started_at, started, summary, "ok"), None


def next_summary(steps: Generator[StepDone, None, Level]) -> str:
    return next(steps).summary


def finished_level(steps: Generator[StepDone, None, Level]) -> Level:
    try:
        next(steps)
    except StopIteration as done:
        level: Level = done.value
        return level
    raise RuntimeError("the pipeline yielded more steps than GENERATION_STEPS names")


def make_step(job_id: str, name: str, started_at: str, started: float, summary: str, status: str) -> Step:
    """The step as the worker reports it: built from values it made itself, so without a
    second validation (the Orchestrator validates what it receives)."""
    return Step.model_construct(
        step_id=step_id_for(job_id, name),
        name=name,
        started_at=started_at,
        ended_at=timestamp(),
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        summary=summary[:SUMMARY_MAX_CHARS],
        status=status,
    )


def failure_of(name: str, exc: Exception) -> JobFailure:
    if isinstance(exc, GenerationFailed):
        code = "constraints_unmet" if isinstance(exc, ConstraintsUnmet) else "generation_failed"
        return JobFailure(message=str(exc), code=code, details={"step": name, **exc.details})
    return JobFailure(
        message=f"Step {name} failed: {type(exc).__name__}: {exc}"[:SUMMARY_MAX_CHARS],
        code="step_failed",
        details={"step": name, "exception": type(exc).__name__},
    )


def result_too_large(exc: ReportTooLarge) -> JobFailure:
    return JobFailure(
        message="The level's result is too large to report to the Orchestrator; configure an "
        "artifact bucket (ARTIFACTS_BUCKET) so that large artifacts are stored there.",
        code="result_too_large",
        details={"reason": str(exc)},
    )


def run_worker(settings: Settings, concurrency: int, stop: threading.Event) -> None:
    """Run up to ``concurrency`` jobs at once until ``stop`` is set; returns once they finish."""
    queue = open_queue(settings)
    artifacts = open_artifacts(settings)
    token = settings.internal_tokens()[0].decode() if settings.internal_tokens() else None
    reporter = Reporter(settings.orchestrator_url, token, stop=stop)
    logger.info("worker started: %d job(s) at once, reporting to %s", concurrency, settings.orchestrator_url)
    try:
        Worker(queue, reporter, artifacts, settings, stop).run(concurrency)
    finally:
        reporter.close()
        queue.close()
