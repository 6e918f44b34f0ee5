"""``benchmarks/bench_jobs_aws.py`` end to end on the session's ministack, small: it finishes
and writes every figure. Its speed figures are not checked here (speed is measured by
``make bench-jobs-aws``), only what must hold at any speed: the processes it reports, the
requests a job makes (docs/aws.md §5) and a profile that accounts for the CPU it profiled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.aws.emulator import REPO, Emulator

LEVELFORGE_PROCESSES = {"orchestrator", "worker-1", "worker-2"}


@pytest.mark.timeout(300)
def test_a_small_aws_burst_reports_every_process_the_requests_per_job_and_a_profile(
    ministack: Emulator, tmp_path: Path
) -> None:
    """Given the session's ministack
    When bench_jobs_aws.py runs a burst of 20 jobs and 3 jobs one at a time, once measured and
    once profiled
    Then the JSON has jobs/s and CPU per job of the Orchestrator, both workers and the
    emulator apart; one job at a time makes exactly the requests docs/aws.md counts; and the
    profile holds levelforge's functions and about the CPU /proc counted."""
    out = tmp_path / "jobs-aws.json"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_jobs_aws.py"), "--burst", "20",
         "--latency-jobs", "3", "--warmup", "2", "--runs", "1", "--wait-quiet", "0",
         "--emulator-port", str(ministack.port), "--emulator-pid", str(ministack.process.pid),
         "--out", str(out)],
        capture_output=True, text=True, timeout=280, check=False,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["complete"] is True and report["benchmark"] == "jobs-aws"
    summary = report["summary"]
    assert summary["runs"] == 1 and summary["burst, jobs/s"] > 0 and summary["one at a time, p50 ms"] > 0
    for phase in ("throughput", "latency"):
        cpu = summary[f"{phase}.cpuMsPerJob"]
        assert set(cpu) == LEVELFORGE_PROCESSES | {"emulator", "levelforge"}
        assert cpu["levelforge"] == pytest.approx(sum(cpu[name] for name in LEVELFORGE_PROCESSES))
        assert cpu["orchestrator"] > 0 and cpu["emulator"] > 0
    where = summary["whereTheTimeGoes"]
    alone = where["oneAtATime"]["costCheck"]
    assert (alone["dynamodbWrites"], alone["s3Puts"], alone["sqsRequests"]) == (12, 4, 3)
    assert alone["perJob"] == pytest.approx(
        alone["documented"] | {"dynamodb:GetItem": alone["perJob"]["dynamodb:GetItem"]}
    )  # GetItem: the client's status reads, not the job's
    assert where["burst"]["costCheck"]["dynamodbWrites"] == 12
    assert where["burst"]["costCheck"]["s3Puts"] == 4
    wall = where["oneAtATime"]["wall"]
    assert 0 < wall["emulatorWaitMsPerJob"] < wall["wallMsPerJob"]
    profile = report["profile"]
    assert set(profile["cpuByFunction"]) == {"orchestrator", "worker-1"}
    for role, cpu_profile in profile["cpuByFunction"].items():
        assert cpu_profile["topSelf"], role
        assert any(row["function"].startswith("levelforge/")
                   for row in cpu_profile["topLevelforgeCumulative"]), role
        # the profiled CPU of the burst is the CPU /proc counted for the process meanwhile
        assert cpu_profile["profiledCpuMsPerJob"] == pytest.approx(cpu_profile["procCpuMsPerJob"], rel=0.35)
