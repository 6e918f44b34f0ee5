from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Deployment
from tests.e2e.processes import environment


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """Real levelforge processes on one SQLite file (add to ``env`` before ``serve``)."""
    deployment = Deployment(tmp=tmp_path, env=environment(tmp_path / "levelforge.db"))
    try:
        yield deployment
    finally:
        deployment.close()
