"""Given real Orchestrator and Worker processes, when workers are killed, stalled, the
Orchestrator restarted, the store taken away or the internal API raced, then no job is
lost, no step recorded twice, no job left running and no terminal job changed.

Each test is a short run of a campaign of ``python -m benchmarks.chaos`` (see its figures
there); the assertions are the campaign's invariants."""

from __future__ import annotations

import math
import random
import time

import pytest

from benchmarks.chaos.cluster import Cluster
from benchmarks.chaos.creations import creation_kills
from benchmarks.chaos.faults import BIG_SPEC, step_request, wait_for, worker_kills, worker_stalls
from benchmarks.chaos.outages import orchestrator_restarts, store_outage
from benchmarks.chaos.races import races
from benchmarks.chaos.soak import PHASES, phase_key, soak

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.timeout(90)
def test_a_killed_worker_loses_no_job_and_duplicates_no_step(cluster: Cluster, rng: random.Random) -> None:
    """Given one worker at a time and VISIBILITY_TIMEOUT_SECONDS=2
    When it is SIGKILLed at some of: inside a step, during a step's post, between two
    posts, during complete, after complete (one round each), and a fresh worker is started
    Then every job is done, ran each step once, none is left running, a job done before
    the kill is not changed, and the job comes back within the visibility timeout."""
    points = (
        ("inside_step", "during_complete", "after_complete")
        if cluster.backend == "sqlite" else ("during_step_post", "during_complete", "after_complete")
    )
    figures = worker_kills(cluster, len(points), rng, points)

    assert figures["jobsNotDone"] == 0, figures["rounds_detail"]
    assert figures["duplicatedStepIds"] == 0
    assert figures["incompleteRuns"] == 0
    assert figures["jobsLeftRunning"] == 0
    assert figures["terminalJobsChanged"] == 0
    assert figures["recoverySeconds"]["max"] <= cluster.visibility_timeout + 1.5, figures["recoverySeconds"]


@pytest.mark.timeout(60)
def test_a_stalled_worker_changes_nothing_once_another_finished_its_job(
    cluster: Cluster, rng: random.Random
) -> None:
    """Given a worker SIGSTOPped mid-job past its visibility timeout
    When another worker takes the job and finishes it, and the first is SIGCONTed
    Then the stale worker is refused (409) whenever it writes, and the job is exactly as the
    second left it."""
    figures = worker_stalls(cluster, 1, rng)

    assert figures["staleWritesAccepted"] == 0, figures["rounds_detail"]
    assert figures["jobsChangedByStaleWorker"] == 0, figures["rounds_detail"]
    assert figures["duplicatedStepIds"] == 0
    assert figures["jobsNotDone"] == 0
    assert figures["roundsWhereStaleWorkerWasRefused"] == figures["roundsWithStaleRequests"]


@pytest.mark.timeout(90)
def test_every_job_finishes_across_an_orchestrator_restart(cluster: Cluster, rng: random.Random) -> None:
    """Given two workers busy with six jobs
    When the Orchestrator is SIGKILLed and started again on the same port
    Then every job is done, each step recorded once."""
    figures = orchestrator_restarts(cluster, 1, rng, batch_size=3, down=(0.5, 1.5))

    assert figures["jobsDone"] == figures["jobs"], figures["rounds_detail"]
    assert figures["duplicatedStepIds"] == 0
    assert figures["incompleteRuns"] == 0


@pytest.mark.timeout(90)
def test_a_store_outage_answers_503_or_waits_and_every_job_finishes(
    cluster: Cluster, rng: random.Random
) -> None:
    """Given two workers busy with six jobs
    When the store is unreachable for 3 s (SQLite: an exclusive lock; AWS: ministack stopped)
    Then the API never answers 500 nor leaves a request unanswered, a 503 carries
    Retry-After, the workers do not spin, and afterwards every job is done."""
    figures = store_outage(cluster, 1, rng, seconds=3.0, batch_size=2, worker_delay=0.05)
    detail = figures["rounds_detail"][0]

    assert figures["api500s"] == 0, detail
    assert figures["apiNoAnswer"] == 0, detail
    assert figures["api503WithoutRetryAfter"] == 0, detail
    assert detail["workerRequestsToOrchestratorPerSecond"] < 10, detail
    assert (detail["workerRequestsToAwsPerSecond"] or 0) < 10, detail
    assert figures["jobsDone"] == figures["jobs"], detail
    assert figures["duplicatedStepIds"] == 0


@pytest.mark.timeout(60)
def test_racing_posters_record_each_step_once_and_one_outcome(cluster: Cluster, rng: random.Random) -> None:
    """Given jobs raced by 32 concurrent posters (steps with the same and different
    stepIds, complete, fail, cancel)
    When each round ends
    Then no step is recorded twice or lost, exactly one terminal write won and is the job's
    outcome, no answer is a 5xx, and nothing changes the outcome afterwards."""
    figures = races(cluster, 6, rng)

    for key in ("duplicates", "lostSteps", "phantomSteps", "serverErrors", "lateAccepted",
                "roundsWithoutExactlyOneTerminalWinner", "roundsWhereOutcomeDiffersFromWinner",
                "roundsChangedAfterwards"):
        assert figures[key] == 0, (key, figures["failedRounds"])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("cluster", ["aws"], indirect=True)  # SQLite: its lock must outlast 10 s
def test_a_worker_survives_a_queue_outage_between_two_steps(cluster: Cluster) -> None:
    """Given one worker in the middle of a job, its exchanges slowed down (0.5 s a way, so
    that it extends the message's visibility after every step)
    When the queue goes away right after the Orchestrator answered a step, so that the
    worker's heartbeat (extend visibility) fails: AWS, ministack stopped for 2 s
    Then the worker keeps running and the job is done once the queue is back.

    (Until 0fdec8d the StoreUnavailable of ``Heartbeat.beat`` killed the worker's only
    thread: the process exited 0 and the job stayed ``running``.)"""
    cluster.start_orchestrator()
    worker = cluster.start_worker(delay=0.5)
    job_id = cluster.submit({**BIG_SPEC, "seed": 1})
    answered = wait_for(lambda: step_request(worker.proxy.log, job_id, "connect_rooms"), 20)
    assert answered is not None and wait_for(lambda: answered.answered, 20)
    assert cluster.ministack is not None
    cluster.ministack.stop()
    time.sleep(2.0)
    cluster.ministack.start()
    worker.proxy.delay = 0.0

    wait_for(lambda: worker.process.poll() is not None or cluster.job(job_id)["status"] == "done",
             cluster.visibility_timeout + 25, every=0.1)

    assert worker.process.poll() is None, "the worker process exited"
    assert cluster.job(job_id)["status"] == "done"


@pytest.mark.timeout(120)
def test_a_short_soak_samples_every_process_and_finishes_every_job(cluster: Cluster) -> None:
    """Given the Orchestrator and two workers under a steady rate of half their capacity
    When the soak samples them every 2 s for 12 s
    Then every sample has each process's RSS and open descriptors and the job latency with
    the share of its phases (queued, run, finish), none larger than the whole, and the
    last jobs submitted are all done."""
    figures = soak(cluster, 12.0, sample_every=2.0, capacity_jobs=60)

    assert figures["capacityJobsPerSecond"] > 0
    assert figures["jobsSubmitted"] >= figures["rateJobsPerSecond"] * 6
    assert figures["lastJobsChecked"] == min(200, figures["jobsSubmitted"])
    assert figures["lastJobsDone"] == figures["lastJobsChecked"]
    samples = figures["samples"]
    assert len(samples) >= 5
    for sample in samples:
        assert {"orchestrator", "worker-0", "worker-1"} <= set(sample["processes"])
        for process in ("orchestrator", "worker-0", "worker-1"):
            assert sample["processes"][process]["rssKiB"] > 0
            assert sample["processes"][process]["fds"] > 0
        assert sample["referenceMs"] > 0  # the machine's own speed, to read the latencies against
    measured = [s for s in samples if not math.isnan(s["jobP99Ms"])]  # NaN: none finished yet
    assert len(measured) >= 3
    for sample in measured:
        for phase in PHASES:
            assert 0 <= sample[phase_key(phase)] <= sample["jobP99Ms"], (phase, sample)
    assert set(figures["growthPercentAfterWarmup"]) >= {"job p99 ms", "job run p99 ms", "orchestrator rssKiB"}


@pytest.mark.timeout(120)
def test_an_orchestrator_killed_between_insert_and_message_loses_no_job(cluster: Cluster) -> None:
    """Given the fault point armed for one request at a time (REQUEUE_AFTER_SECONDS=3)
    When the Orchestrator is SIGKILLed between a job's insert and its queue message, started
    again, and the client retries with the same Idempotency-Key (four rounds)
    Then every kill happened, every job is done with each step once, none is left queued,
    each key made one job and replays it. On SQLite the retry creates the job (the killed
    transaction left nothing); on AWS it replays the stored job, which the requeuer sends."""
    figures = creation_kills(cluster, 4)

    assert figures["killsReached"] == 4, figures["rounds_detail"]
    for key in ("jobsNotDone", "jobsLeftQueued", "duplicatedStepIds", "incompleteRuns", "extraJobs",
                "replaysOfAnotherJob"):
        assert figures[key] == 0, (key, figures)
    assert figures["retryAnswers"] == ({"202": 4} if cluster.backend == "sqlite" else {"200": 4})
