"""The Dockerfile, without a Docker engine (none runs here, and no registry is reachable).

What can be checked is checked: its shape (two stages on the slim Python 3.11 base, the
compilers only in the build stage, a non-root user, a health check, one entry point), and
its commands run as they are written: the build context the ``.dockerignore`` leaves, the
stage's ``pip install`` into a fresh virtualenv, then the image's entry point and default
command (with 127.0.0.1 and a free port for ``0.0.0.0:8000``), the Worker's command, and the
``HEALTHCHECK`` against that Orchestrator, up and stopped.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.aws import deploy_template
from tests.aws.emulator import REPO
from tests.e2e.processes import free_port, stop, wait_healthy

DOCKERFILE = REPO / "Dockerfile"
INSTALL_SECONDS = 300


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (keyword, arguments), continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found = []
    for line in map(str.strip, text.splitlines()):
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            found.append((keyword.upper(), arguments.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    split: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions():
        if keyword == "FROM":
            split.append([])
        split[-1].append((keyword, arguments))
    return split


def exec_form(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    (arguments,) = [arguments for name, arguments in stage if name == keyword]
    if keyword == "HEALTHCHECK":
        arguments = arguments.split(" CMD ", 1)[1]
    value: list[str] = json.loads(arguments)
    return value


def test_the_dockerfile_builds_in_one_stage_and_runs_slim_as_a_non_root_user() -> None:
    """Given the Dockerfile, Then it has a build stage and a runtime stage, both on
    python:3.11-slim; the compilers are installed in the build stage only, whose virtualenv
    the runtime copies; the runtime runs as a non-root user, with a health check, and its
    entry point is ``levelforge`` (the Orchestrator by default)."""
    build, runtime = stages()
    assert build[0] == ("FROM", "python:3.11-slim AS build")
    assert runtime[0] == ("FROM", "python:3.11-slim AS runtime")
    assert any("build-essential" in arguments for keyword, arguments in build if keyword == "RUN")
    assert not any("build-essential" in arguments for _keyword, arguments in runtime)
    assert ("COPY", "--from=build /opt/levelforge /opt/levelforge") in runtime
    (user,) = [arguments for keyword, arguments in runtime if keyword == "USER"]
    assert user not in {"0", "root"}
    assert exec_form(runtime, "ENTRYPOINT") == ["levelforge"]
    assert exec_form(runtime, "CMD")[0] == "orchestrator"
    assert exec_form(runtime, "HEALTHCHECK") == ["python", "/app/healthcheck.py"]
    assert ("COPY", "deploy/docker/healthcheck.py /app/healthcheck.py") in runtime


def test_checkov_finds_nothing_in_the_dockerfile() -> None:
    """Given the Dockerfile, When checkov scans it offline, Then no check fails and none is
    skipped (non-root user, health check, pinned base, no port 22, …)."""
    result = subprocess.run(
        [
            deploy_template.linter("checkov"),
            "-f",
            str(DOCKERFILE),
            "--framework",
            "dockerfile",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary = json.loads(result.stdout)["summary"]
    assert (summary["failed"], summary["skipped"], summary["parsing_errors"]) == (0, 0, 0)
    assert summary["passed"] > 10


def build_context(target: Path) -> Path:
    """The files ``docker build`` would send: the repository less what .dockerignore names."""
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(relative: str) -> bool:
        return any(
            fnmatch.fnmatch(relative, pattern)
            or fnmatch.fnmatch(relative, pattern.removeprefix("**/"))
            or fnmatch.fnmatch(relative.rsplit("/", 1)[-1], pattern.removeprefix("**/"))
            for pattern in patterns
        )

    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    for relative in tracked:
        parts = relative.split("/")
        if any(ignored("/".join(parts[: depth + 1])) for depth in range(len(parts))):
            continue
        source = REPO / relative
        if source.is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)
    return target


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_SECONDS + 60)
def test_the_images_install_and_commands_work_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    """Given the build context .dockerignore leaves and a fresh virtualenv, When the build
    stage's ``pip install`` runs in it, Then ``levelforge`` is installed with its AWS extra;
    the image's default command serves an Orchestrator (on 127.0.0.1 here) whose health
    check passes, and fails once it is stopped; and ``levelforge worker`` is a command."""
    context = build_context(tmp_path / "context")
    assert (context / "pyproject.toml").exists() and not (context / "tests").exists()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    (build, runtime) = stages()
    (install,) = [
        arguments for keyword, arguments in build if keyword == "RUN" and "pip install" in arguments
    ]
    command = shlex.split(install)
    assert command[0] == "/opt/levelforge/bin/pip"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JOBS_", "ARTIFACTS_", "AWS_", "VIRTUAL_ENV"))
    }
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), *command[1:], "--quiet", "--disable-pip-version-check"],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-4000:]
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import boto3, levelforge"], timeout=60, check=False
    )
    assert check.returncode == 0

    entry = [str(venv / "bin" / exec_form(runtime, "ENTRYPOINT")[0])]
    worker_help = subprocess.run(
        [*entry, "worker", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert worker_help.returncode == 0 and "--concurrency" in worker_help.stdout

    default = exec_form(runtime, "CMD")
    port = free_port()
    arguments = [{"0.0.0.0": "127.0.0.1", "8000": str(port)}.get(argument, argument) for argument in default]
    server_env = {**env, "DATABASE_PATH": str(tmp_path / "levelforge.db")}
    with (tmp_path / "orchestrator.log").open("wb") as log:
        orchestrator = subprocess.Popen(
            [*entry, *arguments],
            env=server_env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    health = [str(venv / "bin" / "python"), str(REPO / "deploy" / "docker" / "healthcheck.py")]
    health_env = {"HEALTHCHECK_URL": f"http://127.0.0.1:{port}/healthz", "HEALTHCHECK_ROLE": "orchestrator"}
    try:
        wait_healthy(f"http://127.0.0.1:{port}", orchestrator, timeout=60)
        assert subprocess.run(health, env=health_env, timeout=30, check=False).returncode == 0
    finally:
        assert stop(orchestrator) == 0
    assert (
        subprocess.run(health, env=health_env, capture_output=True, timeout=30, check=False).returncode == 1
    )
    as_worker = subprocess.run(health, env={"HEALTHCHECK_ROLE": "worker"}, timeout=30, check=False)
    assert as_worker.returncode == 0
