"""The code is linted and typed: `make test` fails on any finding of ruff or mypy.

Both read their configuration from pyproject.toml: ruff checks every Python file and every
notebook's code cells (line length 100, pycodestyle, pyflakes, warnings, import order); mypy
checks helpers/ strictly (the code learners import). mypy keeps its cache in .mypy_cache/; set-up
(`make setup`) fills it with PyTorch's types, so this test reads only helpers/ again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "--output-format", "concise", "."], ["mypy"]],
    ids=["ruff", "mypy"],
)
def test_no_findings(command: list[str]) -> None:
    run = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, (
        f"`{' '.join(command)}` found problems (fix them; see pyproject.toml for the rules):\n"
        + run.stdout[-6000:]
        + run.stderr[-2000:]
    )
