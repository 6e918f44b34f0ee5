"""The store's side of access control (CONTRACT §10), over every store backend: jobs are
listed per tenant, idempotency keys are scoped per tenant, and the per-tenant count of job
creations is one atomic conditional write that holds across processes."""

from __future__ import annotations

import multiprocessing.synchronize
from collections.abc import Callable
from typing import Any

import pytest

from levelforge import jobs
from levelforge.errors import IdempotencyKeyReused
from levelforge.jobs import IdempotencyClaim, JobStatus
from levelforge.ports import JobStore, PageAfter
from tests.contract.contract_backends import StoreRecipe, run_processes

SPEC = {"seed": 1, "width": 48, "height": 32, "rooms": 8, "difficulty": 2, "theme": "dungeon", "loops": 0.1}


def test_each_tenant_lists_only_its_own_jobs(store: JobStore) -> None:
    """Given jobs of two tenants, When each lists (all, by status, page by page), Then it
    gets its own jobs only, newest first."""
    mine = [store.insert(jobs.new_job(dict(SPEC), tenant="acme")).job for _ in range(3)]
    theirs = [store.insert(jobs.new_job(dict(SPEC), tenant="globex")).job for _ in range(2)]

    acme = store.page("acme", None, 10, None)
    first = store.page("acme", None, 2, None)
    rest = store.page("acme", None, 10, PageAfter(first[-1].created_at, first[-1].id))
    queued = store.page("globex", JobStatus.QUEUED, 10, None)
    queued_rest = store.page("globex", JobStatus.QUEUED, 10, PageAfter(queued[0].created_at, queued[0].id))

    assert [job.id for job in acme] == [job.id for job in reversed(mine)]
    assert [job.id for job in first + rest] == [job.id for job in reversed(mine)]
    assert [job.id for job in queued] == [job.id for job in reversed(theirs)]
    assert [job.id for job in queued_rest] == [theirs[0].id]
    assert store.page(jobs.DEFAULT_TENANT, None, 10, None) == []
    assert {job.tenant for job in acme} == {"acme"}
    assert store.get(mine[0].id).tenant == "acme"


def test_a_tenant_name_that_prefixes_another_lists_only_its_own(store: JobStore) -> None:
    """Given tenants `a` and `a.b`, When `a` lists by status, Then `a.b`'s jobs are not in it."""
    own = store.insert(jobs.new_job(dict(SPEC), tenant="a")).job
    store.insert(jobs.new_job(dict(SPEC), tenant="a.b"))
    store.insert(jobs.new_job(dict(SPEC), tenant="a-b"))

    assert [job.id for job in store.page("a", JobStatus.QUEUED, 10, None)] == [own.id]
    assert [job.id for job in store.page("a", None, 10, None)] == [own.id]


def test_idempotency_keys_are_scoped_per_tenant(store: JobStore) -> None:
    """Given a key used by one tenant, When another tenant uses the same key (even with
    another body), Then it gets a job of its own, and each tenant's replay is its own job."""
    claim = IdempotencyClaim(key="order-1", fingerprint="f1")
    first = store.insert(jobs.new_job(dict(SPEC), tenant="acme"), claim)
    reused = IdempotencyClaim(key="order-1", fingerprint="f2")
    other = store.insert(jobs.new_job(dict(SPEC), tenant="globex"), reused)
    replay = store.insert(jobs.new_job(dict(SPEC), tenant="acme"), claim)

    assert not first.replayed and not other.replayed and replay.replayed
    assert other.job.id != first.job.id and other.job.tenant == "globex"
    assert replay.job.id == first.job.id


def test_replay_of_finds_the_tenants_own_key_only(store: JobStore) -> None:
    """Given a key used by acme, When its replay is looked up, Then acme's job with the same
    fingerprint, a refusal with another, and nothing for another tenant or an unknown key."""
    claim = IdempotencyClaim(key="order-1", fingerprint="f1")
    first = store.insert(jobs.new_job(dict(SPEC), tenant="acme"), claim).job

    assert store.replay_of("acme", claim) == first
    assert store.replay_of("globex", claim) is None
    assert store.replay_of("acme", IdempotencyClaim(key="order-2", fingerprint="f1")) is None
    with pytest.raises(IdempotencyKeyReused):
        store.replay_of("acme", IdempotencyClaim(key="order-1", fingerprint="f2"))


def test_creations_are_counted_per_tenant_and_minute_up_to_the_limit(store: JobStore) -> None:
    """Given a limit of 3, When a tenant counts 4 creations in a minute, Then the 4th is
    refused; another tenant and the next minute have their own counts; a creation given
    back frees its place."""
    counted = [store.count_creation("acme", 100, 3) for _ in range(4)]

    assert counted == [True, True, True, False]
    assert store.count_creation("globex", 100, 3) is True
    assert store.count_creation("acme", 101, 3) is True
    store.count_creation("acme", 100, 3, delta=-1)
    assert store.count_creation("acme", 100, 3) is True
    assert store.count_creation("acme", 100, 3) is False


def count_in_child(
    recipe: StoreRecipe, tenant: str, window: int, limit: int, times: int,
    barrier: multiprocessing.synchronize.Barrier, outcomes: Any,
) -> None:
    store = recipe.open()
    try:
        barrier.wait()
        outcomes.put(sum(store.count_creation(tenant, window, limit) for _ in range(times)))
    finally:
        store.close()


def test_the_limit_holds_across_processes(
    store_recipe: StoreRecipe, make_store: Callable[[], JobStore]
) -> None:
    """Given 4 processes sharing one store, When each counts 10 creations for one tenant
    and minute with a limit of 15, Then exactly 15 are counted in all."""
    make_store()  # the schema exists before the children race
    counts = run_processes(count_in_child, [(store_recipe, "acme", 7, 15, 10)] * 4)

    assert sum(counts) == 15
