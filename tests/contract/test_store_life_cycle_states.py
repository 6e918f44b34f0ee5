"""A stateful test of the job life cycle (CONTRACT §1, §6) against every store backend:
Hypothesis drives inserts, steps (new and repeated), completions, failures and cancels,
and after each one the store must agree with a plain model of the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from levelforge import jobs
from levelforge.errors import JobTerminal, StepAlreadyRecorded
from levelforge.jobs import Job, JobStatus
from levelforge.ports import JobStore
from tests.contract.contract_backends import STORE_KINDS, StoreRecipe, make_step

STEP_NAMES = st.sampled_from(["plan_layout", "carve_rooms", "connect_rooms", "validate"])


@dataclass
class ModelJob:
    status: JobStatus = JobStatus.QUEUED
    step_ids: list[str] = field(default_factory=list)
    error_code: str | None = None
    final: Job | None = None  # the whole record, once terminal

    @property
    def terminal(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


class LifeCycle(RuleBasedStateMachine):
    """Subclassed per store: ``store`` is the store under test."""

    store: ClassVar[JobStore]
    job_ids = Bundle("job_ids")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, ModelJob] = {}

    @rule(target=job_ids)
    def insert(self) -> str:
        job = self.store.insert(jobs.new_job({"seed": 1})).job
        self.model[job.id] = ModelJob()
        return job.id

    @rule(job_id=job_ids, name=STEP_NAMES)
    def append_step(self, job_id: str, name: str) -> None:
        self._post(job_id, name)

    @precondition(lambda self: any(job.step_ids for job in self.model.values()))
    @rule(data=st.data())
    def repeat_a_recorded_step(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from([i for i, j in self.model.items() if j.step_ids]))
        step_id = data.draw(st.sampled_from(self.model[job_id].step_ids))
        self._post(job_id, step_id.rsplit(":", 1)[1])

    @rule(job_id=job_ids)
    def complete(self, job_id: str) -> None:
        self._finish(job_id, JobStatus.DONE, None)

    @rule(job_id=job_ids)
    def fail(self, job_id: str) -> None:
        self._finish(job_id, JobStatus.FAILED, "broken")

    @rule(job_id=job_ids)
    def cancel(self, job_id: str) -> None:
        self._finish(job_id, JobStatus.FAILED, "cancelled")

    @invariant()
    def store_agrees_with_model(self) -> None:
        for job_id, expected in self.model.items():
            stored = self.store.get(job_id)
            assert stored.status is expected.status
            assert [step.step_id for step in stored.steps] == expected.step_ids
            assert (stored.error.code if stored.error else None) == expected.error_code
            assert (stored.result is not None) == (expected.status is JobStatus.DONE)
            assert expected.final is None or stored == expected.final

    def _post(self, job_id: str, name: str) -> None:
        expected = self.model[job_id]
        step = make_step(job_id, name)
        duplicate = step.step_id in expected.step_ids
        try:
            status = self.store.append_step(
                job_id, step, allowed_from=jobs.STEP_ALLOWED_FROM,
                start_from=jobs.START_FROM, now=jobs.timestamp(),
            )
        except StepAlreadyRecorded as refused:
            assert duplicate and not expected.terminal and refused.status is expected.status
            return
        except JobTerminal as refused:
            assert expected.terminal
            assert refused.status is expected.status
            return
        assert not duplicate and not expected.terminal
        expected.step_ids.append(step.step_id)
        expected.status = JobStatus.RUNNING
        assert status is JobStatus.RUNNING

    def _finish(self, job_id: str, to: JobStatus, code: str | None) -> None:
        expected = self.model[job_id]
        try:
            job = self.store.transition(
                job_id, to=to, allowed_from=jobs.FINISH_ALLOWED_FROM, now=jobs.timestamp(),
                result={"summary": {}} if to is JobStatus.DONE else None,
                error=jobs.JobFailure(message=code, code=code) if code else None,
            )
        except JobTerminal as refused:
            assert expected.terminal and refused.status is expected.status
            return
        assert not expected.terminal
        expected.status, expected.error_code, expected.final = to, code, job
        assert job.status is to


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_the_life_cycle_rules_hold_in_any_order(
    kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Given a store, when any sequence of life-cycle operations runs, then after each
    one the store's status, steps and error equal the model's, and terminal jobs never
    change."""
    path: Path = tmp_path_factory.mktemp("life-cycle") / "levelforge.db"
    store = StoreRecipe(kind, str(path)).open()
    try:
        run_state_machine_as_test(
            type(f"LifeCycleOn{kind.title()}", (LifeCycle,), {"store": store}),
            settings=settings(
                # DynamoDB answers over HTTP: fewer, still random, sequences keep it quick
                max_examples=60 if kind == "sqlite" else 15, stateful_step_count=30, deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        store.close()


