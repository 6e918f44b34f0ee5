"""What one job costs on AWS, counted, not estimated: a botocore ``before-call`` hook on
every client of an Orchestrator and a Worker (run in this process, each as its documented
IAM user, against the emulator) counts the requests each job makes."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from levelforge import lifecycle
from levelforge.api.app import create_app
from levelforge.artifacts.s3 import S3Artifacts, open_s3_artifacts
from levelforge.config import Settings
from levelforge.jobs import JobStatus, new_job
from levelforge.queues.sqs import SqsQueue, open_sqs_queue
from levelforge.reporter import Reporter
from levelforge.requeuer import Requeuer
from levelforge.stores.dynamodb import DynamoJobStore, open_dynamodb_store
from levelforge.worker import Worker
from tests.aws.conftest import Stack
from tests.e2e.processes import free_port, wait_until

TOKEN = "cost-token"
DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
DYNAMODB_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
Counts = Counter[tuple[str, str, str]]  # requests by (side, service, operation)


class Requests:
    """AWS requests by (side, service, operation); a transaction counts its items."""

    def __init__(self) -> None:
        self.counts: Counts = Counter()
        self.empty_receives = 0
        self._lock = threading.Lock()

    def watch(self, side: str, client: Any) -> None:
        def before(model: Any, params: dict[str, Any], **_: Any) -> None:
            if model.name == "ReceiveMessage":
                return  # counted when it answers: a long poll may start before the job exists
            items = 1
            if model.name == "TransactWriteItems":
                items = len(json.loads(params["body"])["TransactItems"])
            with self._lock:
                self.counts[(side, model.service_model.service_name, model.name)] += items

        def after(model: Any, parsed: dict[str, Any], **_: Any) -> None:
            if model.name == "ReceiveMessage":
                with self._lock:
                    if parsed.get("Messages"):
                        self.counts[(side, "sqs", model.name)] += 1
                    else:
                        self.empty_receives += 1

        client.meta.events.register("before-call", before)
        client.meta.events.register("after-call", after)

    def take(self) -> Counts:
        """The counts since the last take; the empty long polls of an idle Worker are not
        the job's and are left out."""
        with self._lock:
            counts, self.counts = self.counts, Counter()
            self.empty_receives = 0
        return counts

    @staticmethod
    def total(counts: Counts, service: str, operations: set[str] | None = None) -> int:
        return sum(
            n for (_side, svc, op), n in counts.items()
            if svc == service and (operations is None or op in operations)
        )


@dataclass
class Service:
    url: str
    store: DynamoJobStore
    requests: Requests


@contextmanager
def running_service(stack: Stack, **overrides: Any) -> Iterator[Service]:
    """An Orchestrator (uvicorn in a thread) and a one-thread Worker, every client watched
    (``overrides``: more settings)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings: Settings = stack.settings(
        internal_token=TOKEN, orchestrator_url=url, visibility_timeout_seconds=30,
        webhook_poll_seconds=3600,  # its look for others' webhook deliveries: not a job's
        **overrides,
    )
    orchestrator, worker = stack.user("orchestrator"), stack.user("worker")
    store = open_dynamodb_store(settings, orchestrator)
    queue: SqsQueue = open_sqs_queue(settings, orchestrator)
    artifacts: S3Artifacts = open_s3_artifacts(settings, orchestrator)
    worker_queue, worker_artifacts = open_sqs_queue(settings, worker), open_s3_artifacts(settings, worker)
    requests = Requests()
    for side, backend in (("orchestrator", store), ("orchestrator", queue), ("orchestrator", artifacts),
                          ("worker", worker_queue), ("worker", worker_artifacts)):
        requests.watch(side, backend.client)
    app = create_app(settings, store, queue, artifacts, consume_dead_letters=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    stop = threading.Event()
    reporter = Reporter(url, TOKEN, stop=stop)
    worker_loop = Worker(worker_queue, reporter, worker_artifacts, settings, stop)
    threads = [
        threading.Thread(target=server.run, name="orchestrator"),
        threading.Thread(target=worker_loop.run, name="worker"),
    ]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: server.started or None, timeout=20, what="the Orchestrator")
        wait_until(lambda: app.state.deliverer.passes or None, timeout=20, what="the webhooks' first look")
        yield Service(url, store, requests)
    finally:
        stop.set()
        server.should_exit = True
        for thread in threads:
            thread.join(15)
        reporter.close()
        for backend in (store, queue, artifacts, worker_queue, worker_artifacts):
            backend.close()


def run_job(service: Service, headers: dict[str, str] | None = None) -> tuple[str, Counts]:
    """Submit one job, wait until the Worker has acknowledged it; the job and its requests."""
    service.requests.take()
    job_id = httpx.post(f"{service.url}/jobs", json={"seed": 3}, headers=headers or {}).json()["id"]
    watcher = service.requests

    def acked() -> bool | None:
        with watcher._lock:
            return True if watcher.counts[("worker", "sqs", "DeleteMessage")] else None

    wait_until(acked, timeout=60, what="the job's message to be deleted", every=0.02)
    counts = watcher.take()
    assert service.store.get(job_id).status is JobStatus.DONE
    watcher.take()  # the check above: not the job's
    return job_id, counts


def test_a_job_costs_steps_plus_two_dynamodb_writes_and_presigning_is_free(stack: Stack) -> None:
    """Given an Orchestrator and a Worker on DynamoDB, SQS and S3
    When one job runs, then another with an Idempotency-Key, then a done job is read
    Then DynamoDB writes are steps + 2 (+1 for the key), the pipeline reads nothing from
    DynamoDB, each artifact is one PutObject, the message is one send, one receive and one
    delete, and reading the job with its presigned URLs is one GetItem and no S3 request."""
    with running_service(stack) as service:
        job_id, counts = run_job(service)
        steps = len(service.store.get(job_id).steps)
        _keyed, keyed_counts = run_job(service, {"Idempotency-Key": "cost-1"})
        read = httpx.get(f"{service.url}/jobs/{job_id}").json()
        read_counts = service.requests.take()

    print_costs(steps, counts, keyed_counts, read_counts)
    artifacts = sum(1 for key in read["result"] if key.endswith("Key"))
    assert Requests.total(counts, "dynamodb", DYNAMODB_WRITES) == steps + 2
    assert Requests.total(keyed_counts, "dynamodb", DYNAMODB_WRITES) == steps + 3
    assert Requests.total(counts, "dynamodb", DYNAMODB_READS) == 0
    assert counts[("worker", "s3", "PutObject")] == artifacts > 0
    assert Requests.total(counts, "s3") == artifacts
    assert counts[("orchestrator", "sqs", "SendMessage")] == 1
    assert counts[("worker", "sqs", "ReceiveMessage")] == 1
    assert counts[("worker", "sqs", "DeleteMessage")] == 1
    assert all(url.startswith("http") for key, url in read["result"].items() if key.endswith("Url"))
    assert read_counts == Counter({("orchestrator", "dynamodb", "GetItem"): 1})


def print_costs(steps: int, *runs: Counts) -> None:
    titles = ("one job", "one job with an Idempotency-Key", "reading a done job (with presigned URLs)")
    lines = [f"AWS requests per job ({steps} steps), counted by a botocore before-call hook:",
             "| | " + " | ".join(titles) + " |", "|---|" + "---|" * len(titles)]
    keys = sorted({key for run in runs for key in run})
    for side, service, operation in keys:
        cells = " | ".join(str(run.get((side, service, operation), 0)) for run in runs)
        lines.append(f"| {side}: {service} {operation} | {cells} |")
    for label, service, operations in (("DynamoDB writes", "dynamodb", DYNAMODB_WRITES),
                                       ("DynamoDB reads", "dynamodb", DYNAMODB_READS),
                                       ("S3 requests", "s3", None), ("SQS requests", "sqs", None)):
        cells = " | ".join(str(Requests.total(run, service, operations)) for run in runs)
        lines.append(f"| **{label}** | {cells} |")
    print("\n".join(lines))


def test_the_requeuer_costs_one_query_a_pass_and_a_write_and_a_send_per_stranded_job(stack: Stack) -> None:
    """Given the Orchestrator's store and queue (its IAM user) and a job inserted whose
    message was never sent (its Orchestrator died in between)
    When a requeuer pass runs past REQUEUE_AFTER_SECONDS, then another pass of another
    Orchestrator in the same period, then a pass with nothing stranded
    Then the first is one Query of byTenantStatus (no Scan), one conditional UpdateItem and
    one SendMessage; the second one Query and one refused UpdateItem; the idle one a Query."""
    settings: Settings = stack.settings(internal_token=TOKEN)
    orchestrator = stack.user("orchestrator")
    store = open_dynamodb_store(settings, orchestrator)
    queue = open_sqs_queue(settings, orchestrator)
    requests = Requests()
    for backend in (store, queue):
        requests.watch("orchestrator", backend.client)
    try:
        stranded = store.insert(new_job({"seed": 5})).job
        requests.take()
        now = time.time() + 120

        sent = Requeuer(store, queue, after_seconds=60).run_once(now)
        first = requests.take()
        again = Requeuer(store, queue, after_seconds=60).run_once(now + 1)
        second = requests.take()
        lifecycle.complete(store, stranded.id, {"summary": {}})
        requests.take()
        idle = Requeuer(store, queue, after_seconds=60).run_once(now + 120)
        third = requests.take()
    finally:
        store.close()
        queue.close()

    print("requeuer pass: stranded job | claimed by another | nothing stranded")
    for key in sorted(first.keys() | second.keys() | third.keys()):
        print(f"| {key[1]} {key[2]} | {first[key]} | {second[key]} | {third[key]} |")
    assert (sent, again, idle) == (1, 0, 0)
    query, update = ("orchestrator", "dynamodb", "Query"), ("orchestrator", "dynamodb", "UpdateItem")
    assert first == Counter({query: 1, update: 1, ("orchestrator", "sqs", "SendMessage"): 1})
    assert second == Counter({query: 1, update: 1})
    assert third == Counter({query: 1})
