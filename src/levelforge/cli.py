"""The ``levelforge`` command (CONTRACT §9): serve | orchestrator | worker | generate | submit."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from pydantic import SecretStr

from levelforge.config import Settings, load_settings
from levelforge.errors import ConfigurationError, LevelforgeError, SpecError
from levelforge.logs import configure_logging

logger = logging.getLogger(__name__)

SPEC_OPTIONS = {
    "seed": int,
    "width": int,
    "height": int,
    "rooms": int,
    "difficulty": int,
    "theme": str,
    "loops": float,
}
WORKER_STOP_SECONDS = 8.0


def add_spec_options(parser: argparse.ArgumentParser) -> None:
    for name, kind in SPEC_OPTIONS.items():
        parser.add_argument(f"--{name}", type=kind, default=None)


def spec_from(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in SPEC_OPTIONS if getattr(args, name) is not None}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="levelforge", description="Turns level requests into game-ready levels."
    )
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="Orchestrator plus N worker processes")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2, help="worker processes")
    serve.add_argument(
        "--worker-concurrency",
        type=int,
        default=4,
        help="jobs in flight per worker process (threads that mostly wait on the Orchestrator)",
    )
    orchestrator = commands.add_parser("orchestrator", help="the Orchestrator alone")
    orchestrator.add_argument("--host", default="127.0.0.1")
    orchestrator.add_argument("--port", type=int, default=8000)
    worker = commands.add_parser("worker", help="a Worker alone")
    worker.add_argument("--concurrency", type=int, default=1)
    generate = commands.add_parser("generate", help="run the pipeline in-process, print the minimap")
    add_spec_options(generate)
    generate.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="a JSON file holding a whole spec (constraints, prefabs too); options given override it",
    )
    generate.add_argument("--out", type=Path, default=None, help="write the artifacts to this folder")
    generate.add_argument("--verbose", action="store_true", help="say which pipeline runs (compiled or pure)")
    submit = commands.add_parser("submit", help="submit a job to ORCHESTRATOR_URL")
    add_spec_options(submit)
    submit.add_argument("--wait", action="store_true", help="follow the steps and print the minimap")
    commands.add_parser("aws-init", help="create the table, bucket and queues the environment names")
    backup = commands.add_parser("backup", help="copy the running embedded store (DATABASE_PATH) to PATH")
    backup.add_argument("path", type=Path, help="where the copy goes (replaced when it exists)")
    return root


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 (one return per command)
    args = parser().parse_args(argv)
    try:
        if args.command == "generate":
            return generate(args)
        if args.command == "submit":
            from levelforge.submit import submit

            return submit(load_settings(), spec_from(args), wait=args.wait)
        configure_logging()
        settings = load_settings()
        if args.command == "aws-init":
            from levelforge.aws import aws_init

            print(aws_init(settings))
            return 0
        if args.command == "backup":
            return backup(settings, args.path)
        if args.command == "worker":
            return worker(settings, args.concurrency)
        if args.command == "orchestrator":
            return orchestrate(settings, args.host, args.port, workers=0, concurrency=0)
        return orchestrate(
            settings, args.host, args.port, workers=args.workers, concurrency=max(1, args.worker_concurrency)
        )
    except ConfigurationError as exc:
        print(f"levelforge: configuration error: {exc}", file=sys.stderr)
        return 2


def generate(args: argparse.Namespace) -> int:
    from levelforge.generation import IMPLEMENTATION, generate_level

    if args.verbose:
        print(f"levelforge: pipeline: {IMPLEMENTATION}", file=sys.stderr)
    try:
        level = generate_level({**spec_file(args.spec), **spec_from(args)})
    except SpecError as exc:
        print(f"levelforge: invalid spec: {exc}", file=sys.stderr)
        return 2
    except LevelforgeError as exc:
        print(f"levelforge: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(level.minimap)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, data in level.artifacts().items():
            (args.out / name).write_bytes(data)
        print(f"artifacts written to {args.out}", file=sys.stderr)
    return 0


def spec_file(path: Path | None) -> dict[str, Any]:
    """The spec held in the JSON file ``path`` (nothing when there is none): an object,
    validated later exactly as ``POST /jobs`` validates its body."""
    if path is None:
        return {}
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpecError("spec", f"{path} is not a readable JSON file: {exc}") from exc
    if not isinstance(spec, dict):
        raise SpecError("spec", f"{path} does not hold a JSON object")
    return spec


def backup(settings: Settings, path: Path) -> int:
    from levelforge.backup import backup as copy_store
    from levelforge.errors import StoreUnavailable

    try:
        print(copy_store(settings.database_path, path))
    except StoreUnavailable as exc:
        print(f"levelforge: {exc}", file=sys.stderr)
        return 1
    return 0


def stop_on_signals(stop: threading.Event) -> None:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def worker(settings: Settings, concurrency: int) -> int:
    from levelforge.worker import run_worker

    stop = threading.Event()
    stop_on_signals(stop)
    run_worker(settings, max(1, concurrency), stop)
    return 0


def orchestrate(settings: Settings, host: str, port: int, *, workers: int, concurrency: int) -> int:
    """The Orchestrator in this process, plus ``workers`` worker processes posting to it."""
    from levelforge.api import create_app
    from levelforge.artifacts import open_artifacts
    from levelforge.queues import open_queue
    from levelforge.stores import open_store

    if workers and not settings.internal_tokens():
        # serve's own workers need a token: one for this run only, never printed
        settings = settings.model_copy(update={"internal_token": SecretStr(secrets.token_urlsafe(32))})
    if not settings.internal_tokens():
        logger.warning("INTERNAL_TOKEN is not set: every /internal/ route answers 401")
    store, queue = open_store(settings), open_queue(settings)
    app = create_app(settings, store, queue, open_artifacts(settings))
    children: list[subprocess.Popen[bytes]] = []

    def on_exit() -> None:
        app.state.stopping.set()
        signal_workers(children)

    server = OrchestratorServer(
        on_exit,
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            http="httptools",
            loop="uvloop",
            # nothing reads the client's address (no access log, limits are per tenant): the
            # X-Forwarded-For middleware would only cost every request
            proxy_headers=False,
            timeout_graceful_shutdown=5,
        ),
    )
    # uvicorn re-raises the signal it caught after shutting down: make that a no-op so
    # that the workers are stopped and the exit status is 0
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    children += start_workers(settings, host, port, workers, concurrency)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"  # noqa: S104
    print(f"levelforge is serving on {url} ({workers} worker processes)", flush=True)
    gc.freeze()  # what start-up made lives as long as the process: the collector skips it
    try:
        server.run()
    finally:
        stop_workers(children)
        queue.close()
        store.close()
    return 0


class OrchestratorServer(uvicorn.Server):
    """uvicorn's server, telling the app and the workers at the first signal, so that open
    event streams end and the workers stop while uvicorn drains its connections."""

    def __init__(self, on_exit: Callable[[], None], config: uvicorn.Config) -> None:
        super().__init__(config)
        self.on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.on_exit()
        super().handle_exit(sig, frame)


def signal_workers(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)


def start_workers(
    settings: Settings, host: str, port: int, count: int, concurrency: int
) -> list[subprocess.Popen[bytes]]:
    if count <= 0:
        return []
    env = dict(os.environ)
    env["INTERNAL_TOKEN"] = b",".join(settings.internal_tokens()).decode()
    env["ORCHESTRATOR_URL"] = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    env["DATABASE_PATH"] = str(settings.database_path)
    command = [sys.executable, "-m", "levelforge", "worker", "--concurrency", str(concurrency)]
    return [subprocess.Popen(command, env=env) for _ in range(count)]


def stop_workers(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM (each finishes or releases its job), then SIGKILL whatever is left."""
    signal_workers(children)
    deadline = time.monotonic() + WORKER_STOP_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
