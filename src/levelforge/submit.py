"""``levelforge submit``: a job posted to the Orchestrator, its steps followed as they arrive
(by the Python client, ``levelforge.client``)."""

from __future__ import annotations

import sys
from typing import Any

from levelforge.client import ApiError, Client, ClientError, JobPublic, Step
from levelforge.config import Settings
from levelforge.jobs import JobStatus


def submit(settings: Settings, spec: dict[str, Any], *, wait: bool) -> int:
    with Client(settings.orchestrator_url, timeout=10.0) as client:
        try:
            job = client.create(spec)
        except ApiError as exc:
            print(f"levelforge: {exc.status_code}: {exc.message}", file=sys.stderr)
            return 2 if exc.status_code == 422 else 1
        except ClientError as exc:
            print(f"levelforge: cannot reach {settings.orchestrator_url}: {exc}", file=sys.stderr)
            return 1
        print(f"job {job.id} {job.status.value}", file=sys.stderr)
        if not wait:
            print(job.id)
            return 0
        try:
            # each step printed as it is recorded (the job's event stream: pushed, not polled)
            job = client.wait(job, timeout=None, on_step=show_step)
            return report(client, job)
        except ClientError as exc:
            print(f"levelforge: job {job.id}: {exc}", file=sys.stderr)
            return 1


def show_step(step: Step) -> None:
    mark = "ok " if step.status == "ok" else "ERR"
    print(f"  [{mark}] {step.name:<22} {step.duration_ms:>8.2f} ms  {step.summary}", file=sys.stderr)


def report(client: Client, job: JobPublic) -> int:
    if job.status is JobStatus.FAILED:
        error = job.error
        code, message = (error.code, error.message) if error is not None else (None, None)
        print(f"job {job.id} failed: {code}: {message}", file=sys.stderr)
        return 1
    sys.stdout.write(client.artifact(job, "minimap.txt").decode())
    print(f"job {job.id} done", file=sys.stderr)
    return 0
