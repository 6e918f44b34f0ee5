"""End to end on the embedded default: the SQLite file locked by another connection for
a few seconds while real workers are busy. ``POST /jobs`` answers a prompt ``503`` with
``Retry-After``, the workers survive, and after the lock every job finishes, each step
once (issue 6, store outage)."""

from __future__ import annotations

import threading
import time

from tests.contract.test_sqlite_locked_file import PROMPT, locked
from tests.e2e.following import assert_complete_run, started, wait_terminal
from tests.e2e.processes import wait_until

SPEC = {"width": 160, "height": 160, "rooms": 120}
OUTAGE_SECONDS = 5.0


def test_jobs_finish_after_the_store_file_was_locked(deployment) -> None:
    serve = deployment.serve(workers=2)
    with deployment.client() as client:
        job_ids = [client.post("/jobs", json={**SPEC, "seed": n}).json()["id"] for n in range(4)]
        wait_until(lambda: started(client, job_ids[0]), timeout=30, what="a job to start")

        refused = []
        with locked(deployment.tmp / "levelforge.db"):
            outage_started = time.monotonic()
            while time.monotonic() - outage_started < OUTAGE_SECONDS - PROMPT:
                sent = time.monotonic()
                response = client.post("/jobs", json={**SPEC, "seed": 99})
                refused.append(
                    (response.status_code, response.headers.get("retry-after"), time.monotonic() - sent)
                )
            threading.Event().wait(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))

        jobs = [wait_terminal(client, job_id, timeout=60) for job_id in job_ids]

    assert refused and all(status == 503 and retry for status, retry, _s in refused), refused
    assert max(seconds for _status, _retry, seconds in refused) <= PROMPT, refused
    for job in jobs:
        assert_complete_run(job)
    assert serve.poll() is None
    assert "Traceback" not in deployment.log()
