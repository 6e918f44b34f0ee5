"""The README's Python client example, run as it is written against a real ``serve``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from levelforge.generation import generate_level
from levelforge.worker import PIPELINE_STEPS
from tests.e2e.conftest import Deployment

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"
README_URL = "http://127.0.0.1:8000"


def readme_example() -> str:
    section = README.read_text().split("\n## Python client\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "the README's Python client section has no example"
    return found.group(1)


def test_the_readme_example_saves_the_levels_tiled_map(deployment: Deployment, tmp_path: Path) -> None:
    """Given `serve` and the README's example (its URL pointed at that serve)
    When it runs in a fresh folder
    Then it prints every step and writes level.tiled.json: `generate_level`'s Tiled map for
    its spec, byte for byte; and it is at most ten lines."""
    example = readme_example()
    assert len(example.strip().splitlines()) <= 10
    assert example.count(README_URL) == 1
    deployment.serve(workers=1)
    run = subprocess.run(
        [sys.executable, "-c", example.replace(README_URL, deployment.url)],
        cwd=tmp_path, capture_output=True, check=False, timeout=90, env=deployment.env,
    )
    assert run.returncode == 0, run.stderr.decode()
    assert [line.split()[0] for line in run.stdout.decode().splitlines()] == list(PIPELINE_STEPS)
    expected = generate_level({"seed": 7, "rooms": 12, "theme": "crypt"}).artifacts()["tiled.json"]
    assert (tmp_path / "level.tiled.json").read_bytes() == expected
