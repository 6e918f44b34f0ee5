"""The client's API key (CONTRACT §10) against a real ``serve`` with ``API_KEYS``."""

from __future__ import annotations

import pytest

from levelforge.client import Client, NotFound, Unauthorized
from levelforge.generation import generate_level
from levelforge.worker import PIPELINE_STEPS
from tests.e2e.conftest import Deployment

pytestmark = pytest.mark.e2e
ACME, GLOBEX = "key-acme-0123456789", "key-globex-9876543210"


def test_the_api_key_is_sent_on_every_route(deployment: Deployment) -> None:
    """Given `serve` with API_KEYS for two tenants
    When a client without a key creates a job, Then Unauthorized;
    When a client with acme's key creates, waits (event stream) and reads the artifact
    Then the job is done with its steps and bytes; globex's client finds none of it."""
    deployment.env["API_KEYS"] = f"acme:{ACME},globex:{GLOBEX}"
    deployment.serve(workers=1)
    spec = {"seed": 21, "rooms": 6}
    with Client(deployment.url) as anonymous, pytest.raises(Unauthorized) as refused:
        anonymous.create(spec)
    assert refused.value.code == "unauthorized"
    steps: list[str] = []
    with Client(deployment.url, api_key=ACME) as acme, Client(deployment.url, api_key=GLOBEX) as globex:
        job = acme.wait(acme.create(spec), timeout=60, on_step=lambda step: steps.append(step.name))
        assert job.status.value == "done" and steps == list(PIPELINE_STEPS)
        assert acme.artifact(job.id, "tiled.json") == generate_level(spec).artifacts()["tiled.json"]
        assert [listed.id for listed in acme.list().jobs] == [job.id]
        assert globex.list().jobs == []
        with pytest.raises(NotFound):
            globex.get(job.id)
        with pytest.raises(NotFound):
            globex.artifact(job.id, "tiled.json")
