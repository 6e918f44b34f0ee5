"""Profiling inside the levelforge processes of ``bench_jobs_aws.py`` (never imported otherwise).

``bench_jobs_aws.py`` puts this folder first on ``PYTHONPATH`` of ``levelforge serve`` (its
workers inherit it) and sets ``LF_BENCH_PROFILE_DIR``; Python imports ``sitecustomize`` at
start-up, so the code below runs in the Orchestrator and in each worker process before
levelforge does. Without the variable it does nothing; the request hooks are cheap (two clock readings and a
few dict updates per AWS call) and run in every run, cProfile only with ``LF_BENCH_CPROFILE=1``.

- **CPU by function**: one ``cProfile.Profile`` per thread (the main thread from here, every
  ``threading`` thread from its first instruction, through ``threading.setprofile``), each
  timed by its own thread's CPU clock (``time.thread_time``: ``process_time`` would charge
  every other thread's CPU to whatever this thread is doing). At the start and the end of
  the first window the main thread reads every profile (``getstats()``, which does not stop
  it); the difference, the window alone, is written to ``profile-<pid>.prof`` (pstats format,
  without callers).
- **Requests**: botocore hooks on every client the process makes time each API call
  (``before-call`` → ``after-call``: serialising, signing, the HTTP exchange, parsing) and,
  within it, the HTTP exchange alone (``before-send`` → ``before-parse``, every attempt:
  sending, the emulator's answer, reading it), and count calls by operation; a
  ``ReceiveMessage`` that returned no message is counted apart; and when each message was
  sent and when it was received (by message id, so that the driver can tell how long a
  message took to be delivered). At the end of each window all this goes to
  ``requests-<pid>-<window>.json``.
- **Windows**: ``SIGUSR1`` starts window n+1, ``SIGUSR2`` ends it; each is acknowledged in
  ``ack-<pid>`` (``<window> on|off``) so that the driver knows the process has seen it before
  it starts the phase.
"""

from __future__ import annotations

import cProfile
import json
import marshal
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

_DIR = os.environ.get("LF_BENCH_PROFILE_DIR")


def _install(directory: str) -> None:  # noqa: C901, PLR0915 (one closure-sharing installer)
    import botocore.session  # noqa: PLC0415 (only in a profiled process)

    out = Path(directory)
    cprofile = os.environ.get("LF_BENCH_CPROFILE") == "1"
    pid = os.getpid()
    recording = [False]
    window = [0]
    lock = threading.Lock()
    calls: dict[str, dict[str, float]] = {}
    sent: dict[str, float] = {}  # message id → when SendMessage returned (time.time())
    received: dict[str, float] = {}  # message id → when the ReceiveMessage that got it returned
    profiles: list[cProfile.Profile] = []
    at_start: dict[tuple[str, int, str], tuple[int, int, float, float]] = {}
    local = threading.local()

    def new_profile() -> None:
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()

    def thread_start(_frame: Any, _event: str, _arg: Any) -> None:
        sys.setprofile(None)
        new_profile()

    def snapshot() -> dict[tuple[str, int, str], tuple[int, int, float, float]]:
        """(calls, primitive calls, own time, cumulative time) by function, all threads added."""
        with lock:
            mine = list(profiles)
        totals: dict[tuple[str, int, str], tuple[int, int, float, float]] = {}
        for profile in mine:
            for entry in profile.getstats():  # type: ignore[attr-defined]
                code = entry.code
                key = ("~", 0, code) if isinstance(code, str) else (
                    code.co_filename, code.co_firstlineno, code.co_name)
                calls_, recursive, own, cumulative = totals.get(key, (0, 0, 0.0, 0.0))
                totals[key] = (calls_ + entry.callcount, recursive + entry.reccallcount,
                               own + entry.inlinetime, cumulative + entry.totaltime)
        return totals

    def write_profile() -> None:
        stats = {}
        for key, (n, rec, own, cumulative) in snapshot().items():
            n0, rec0, own0, cumulative0 = at_start.get(key, (0, 0, 0.0, 0.0))
            if key[0] != __file__ and (n > n0 or own > own0):  # not this file's own reading
                calls_ = n - n0
                stats[key] = (calls_ - (rec - rec0), calls_, own - own0, cumulative - cumulative0, {})
        with (out / f"profile-{pid}.prof").open("wb") as sink:
            marshal.dump(stats, sink)

    # -- requests ---------------------------------------------------------------------------

    def before_call(context: dict[str, Any], **_: Any) -> None:
        local.http = 0.0
        context["lfBenchStart"] = time.perf_counter()

    def before_send(**_: Any) -> None:
        local.sent = time.perf_counter()

    def before_parse(**_: Any) -> None:
        sent = getattr(local, "sent", None)
        if sent is not None:
            local.http = getattr(local, "http", 0.0) + time.perf_counter() - sent
            local.sent = None

    def record(model: Any, context: dict[str, Any], empty: bool) -> None:
        started = context.pop("lfBenchStart", None)
        http, local.http, local.sent = getattr(local, "http", 0.0), 0.0, None
        if started is None or not recording[0]:
            return
        took = time.perf_counter() - started
        name = f"{model.service_model.service_name}:{model.name}" + (" (empty)" if empty else "")
        with lock:
            entry = calls.setdefault(name, {"calls": 0, "seconds": 0.0, "httpSeconds": 0.0})
            entry["calls"] += 1
            entry["seconds"] += took
            entry["httpSeconds"] += http

    def after_call(model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        record(model, context, model.name == "ReceiveMessage" and not parsed.get("Messages"))
        if recording[0] and model.name in {"SendMessage", "ReceiveMessage"}:
            now = time.time()
            with lock:
                if model.name == "SendMessage" and "MessageId" in parsed:
                    sent[parsed["MessageId"]] = now
                for message in parsed.get("Messages", ()):
                    received.setdefault(message["MessageId"], now)

    def after_call_error(context: dict[str, Any], **kwargs: Any) -> None:
        model = kwargs.get("model")
        if model is not None:
            record(model, context, False)
        else:
            context.pop("lfBenchStart", None)

    create_client = botocore.session.Session.create_client

    def watched_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        for event, handler in (("before-call", before_call), ("before-send", before_send),
                               ("before-parse", before_parse), ("after-call", after_call),
                               ("after-call-error", after_call_error)):
            client.meta.events.register(event, handler)
        return client

    botocore.session.Session.create_client = watched_client  # type: ignore[method-assign]

    # -- windows ----------------------------------------------------------------------------

    def acknowledge(state: str) -> None:
        tmp = out / f".ack-{pid}"
        tmp.write_text(f"{window[0]} {state}\n")
        tmp.replace(out / f"ack-{pid}")

    def start_window(_signum: int, _frame: Any) -> None:
        with lock:
            calls.clear()
            sent.clear()
            received.clear()
        window[0] += 1
        if cprofile and window[0] == 1:
            at_start.update(snapshot())
        recording[0] = True
        acknowledge("on")

    def end_window(_signum: int, _frame: Any) -> None:
        recording[0] = False
        if cprofile and window[0] == 1:
            write_profile()
        with lock:
            taken = {"calls": {name: dict(entry) for name, entry in calls.items()},
                     "sent": dict(sent), "received": dict(received)}
        (out / f"requests-{pid}-{window[0]}.json").write_text(json.dumps(taken))
        acknowledge("off")

    signal.signal(signal.SIGUSR1, start_window)
    signal.signal(signal.SIGUSR2, end_window)
    if cprofile:
        new_profile()
        threading.setprofile(thread_start)


if _DIR:
    _install(_DIR)
