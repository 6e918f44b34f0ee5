"""ministack, the local AWS emulator of the AWS tests (see ../shared/AWS-LOCAL.md).

One ministack serves the whole test session: started on a free 127.0.0.1 port from its
own virtualenv ``.emu/`` (``scripts/install-emulator.sh``), with ``AUTH=true`` so that
IAM-user keys are really checked (presigned URLs included), and stopped at the end.
Without ``.emu/bin/ministack`` the AWS tests are skipped, saying so, or fail when ``CI``
is set. Every test makes its own table, queues and bucket under fresh names, so no reset
is needed between tests (``Emulator.reset`` wipes everything, users included).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from levelforge.aws import Connection
from tests.e2e.processes import free_port

REPO = Path(__file__).resolve().parents[2]
EXECUTABLE = REPO / ".emu" / "bin" / "ministack"
REGION = "us-east-1"
ACCOUNT = "000000000000"
ROOT_KEY = "test"  # ministack's root key: never signature-checked, so only for set-up
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
START_SECONDS = 20.0


def unique(prefix: str = "lf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Emulator:
    """A running ministack: its URL, and IAM users made through its IAM API."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path
    admin: Connection = field(init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def root(self, service: str) -> Any:
        return boto3.client(
            service, endpoint_url=self.url, region_name=REGION,  # type: ignore[call-overload]
            aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_KEY,
        )

    def user(self, name: str, policy: dict[str, Any]) -> Connection:
        """An IAM user with ``policy`` inline and a fresh access key."""
        iam = self.root("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return Connection(
            region=REGION, endpoint_url=self.url,
            access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"],
        )

    def environment(self, user: Connection) -> dict[str, str]:
        """The SDK's own variables that make a levelforge process use ``user`` here."""
        return {
            "AWS_ENDPOINT_URL": self.url, "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": user.access_key_id or "",
            "AWS_SECRET_ACCESS_KEY": user.secret_access_key or "",
        }

    def reset(self) -> None:
        httpx.post(f"{self.url}/_ministack/reset", timeout=10).raise_for_status()
        self.admin = self.user(unique("admin"), EVERYTHING)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(log: Path) -> Emulator:
    if not EXECUTABLE.exists():
        reason = f"ministack is not installed ({EXECUTABLE} is missing): run scripts/install-emulator.sh"
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the AWS emulator: {reason}")
        pytest.skip(reason)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "BIND_HOST": "127.0.0.1", "GATEWAY_PORT": str(port), "IOT_MTLS_ENABLED": "0",
        "SFTP_ENABLED": "0", "AUTH": "true", "LOG_LEVEL": "WARNING",
    })
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [str(EXECUTABLE)], env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=log.parent,
            start_new_session=True,
        )
    emulator = Emulator(port=port, process=process, log=log)
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            raise RuntimeError(f"ministack exited with {process.returncode}: {output}")
        try:
            if httpx.get(f"{emulator.url}/_ministack/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            emulator.stop()
            raise RuntimeError(f"ministack was not ready after {START_SECONDS}s")
        time.sleep(0.05)
    emulator.admin = emulator.user(unique("admin"), EVERYTHING)
    return emulator


# One emulator per process, shared by the fixtures of every conftest that imports the
# fixture below (each import is its own fixture definition to pytest).
_lock = threading.Lock()
_shared: Emulator | None = None
_holders = 0


@pytest.fixture(scope="session")
def ministack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The session's ministack (started on first use, stopped after the last user)."""
    global _shared, _holders
    with _lock:
        if _shared is None:
            _shared = start(tmp_path_factory.mktemp("ministack") / "ministack.log")
        _holders += 1
        emulator = _shared
    try:
        yield emulator
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                emulator.stop()
                _shared = None
