"""Fixtures of the browser suite: Debian's Chromium driven by Playwright for Python, and
real levelforge processes (as in ``tests/e2e``) for it to look at.

No browser is ever downloaded: Playwright launches ``/usr/bin/chromium`` (``make test``
installs Debian's ``chromium`` package when it is missing). Without it the suite is
skipped, and fails when the ``CI`` variable is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import Deployment
from tests.e2e.processes import environment, wait_healthy

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
#: as root the sandbox must be off; the rest keep Chromium from reaching outside hosts
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def require_chromium() -> None:
    """Skip clearly when Chromium or Playwright is missing here; fail in CI."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401, PLC0415
        except ImportError:
            missing = "the playwright package is missing: pip install -e '.[dev]'"
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run: {missing}")
    pytest.skip(f"browser tests skipped: {missing}")


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415

    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def start(tmp: Path, *args: str) -> Deployment:
    deployment = Deployment(tmp=tmp, env=environment(tmp / "levelforge.db"))
    deployment.start(*args, "--port", str(deployment.port))
    return deployment


@pytest.fixture(scope="package")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployment, Deployment]]:
    """`levelforge serve` with 2 workers, and a lone `levelforge orchestrator` (no worker:
    its jobs move only when a test posts to the internal API), started side by side."""
    served = start(tmp_path_factory.mktemp("served"), "serve", "--workers", "2")
    alone = start(tmp_path_factory.mktemp("alone"), "orchestrator")
    try:
        for deployment in (served, alone):
            wait_healthy(deployment.url, deployment.processes[0])
        yield served, alone
    finally:
        served.close()
        alone.close()


@pytest.fixture(scope="package")
def service(deployments: tuple[Deployment, Deployment]) -> Deployment:
    return deployments[0]


@pytest.fixture(scope="package")
def orchestrator(deployments: tuple[Deployment, Deployment]) -> Deployment:
    return deployments[1]


def open_page(browser: Browser, viewport: dict[str, int]) -> Iterator[Page]:
    """A fresh page; any uncaught script error fails the test."""
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"a dialog opened: {dialog.message}"))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"script errors in the page: {errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from open_page(browser, DESKTOP)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    yield from open_page(browser, PHONE)
