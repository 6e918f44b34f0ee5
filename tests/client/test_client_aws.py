"""The client on the AWS backends (ministack): artifacts behind presigned URLs, read from
the job's ``…Url`` and through the artifact route's redirect to the bucket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from levelforge.client import Client
from levelforge.generation import generate_level
from levelforge.jobs import ARTIFACTS
from tests.aws.conftest import AwsDeployment, deploy, make_stack
from tests.aws.emulator import Emulator, ministack
from tests.client.proxy import Proxy

__all__ = ["ministack"]
pytestmark = pytest.mark.e2e


@pytest.fixture
def aws_deployment(ministack: Emulator, tmp_path: Path) -> Iterator[AwsDeployment]:
    deployment = deploy(make_stack(ministack), tmp_path, PRESIGN_EXPIRES_SECONDS="60")
    try:
        yield deployment
    finally:
        deployment.close()


def test_artifacts_come_from_the_bucket_by_presigned_urls(aws_deployment: AwsDeployment) -> None:
    """Given an Orchestrator and a Worker on DynamoDB, SQS and S3
    When the client waits for a job and reads each artifact from the job, by its id, and
    from a copy of the job whose URL no longer works
    Then every read is `generate_level`'s bytes: by the job's presigned URL (no request to
    the artifact route), by the artifact route's 302 to the bucket, and by the route again
    when the job's URL no longer works (its signature changed: S3 answers 403)."""
    aws_deployment.env["API_KEYS"] = "acme:key-acme-0123456789"
    aws_deployment.orchestrator()
    aws_deployment.worker()
    spec = {"seed": 5, "width": 48, "height": 40, "rooms": 10}
    expected = generate_level(spec).artifacts()
    with Proxy(aws_deployment.url) as proxy, Client(proxy.url, api_key="key-acme-0123456789") as client:
        job = client.wait(client.create(spec), timeout=60)
        assert job.status.value == "done" and job.result is not None
        for name, (field, _content_type) in ARTIFACTS.items():
            assert job.result[f"{field}Url"].startswith(aws_deployment.stack.emulator.url)
            assert client.artifact(job, name) == expected[name], name
        assert not proxy.requests_to("GET", f"/jobs/{job.id}/artifacts/tiled.json")  # read from S3 directly
        assert client.artifact(job.id, "tiled.json") == expected["tiled.json"]
        redirected = proxy.requests_to("GET", f"/jobs/{job.id}/artifacts/tiled.json")
        assert [seen.status for seen in redirected] == [302]
        broken = tampered(job.result["tiledUrl"])
        assert httpx.get(broken, timeout=10).status_code == 403
        stale = job.model_copy(update={"result": {**job.result, "tiledUrl": broken}})
        assert client.artifact(stale, "tiled.json") == expected["tiled.json"]
        assert [seen.status for seen in proxy.requests_to("GET", f"/jobs/{job.id}/artifacts/tiled.json")] == [
            302, 302
        ]


def tampered(url: str) -> str:
    """The URL with the last character of its signature changed."""
    signature = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    changed = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    return url.replace(f"X-Amz-Signature={signature}", f"X-Amz-Signature={changed}")
