"""`torch.load(..., weights_only=False)` runs arbitrary code from the file: the course never calls
it without saying, next to the call, why it is safe there (a comment on the same line or on the
line just above)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNSAFE = re.compile(r"weights_only\s*=\s*False")


def unexplained_unsafe_loads(source: str) -> list[int]:
    """Line numbers (1-based) of `weights_only=False` with no comment beside or just above it.

    >>> unexplained_unsafe_loads("torch.load(f, weights_only=False)")
    [1]
    >>> unexplained_unsafe_loads(
    ...     "# safe: we wrote this file ourselves\\ntorch.load(f, weights_only=False)"
    ... )
    []
    """
    lines = source.splitlines()
    bad = []
    for i, line in enumerate(lines):
        if not UNSAFE.search(line.split("#", 1)[0]):
            continue
        same_line = "#" in line
        above = i > 0 and lines[i - 1].strip().startswith("#")
        if not (same_line or above):
            bad.append(i + 1)
    return bad


FILES = sorted([*(ROOT / "helpers").glob("*.py"), *(ROOT / "tools").glob("*.py"),
                *(ROOT / "notebooks").glob("*.ipynb")])


def _code(path: Path) -> list[tuple[str, str]]:
    """(where, source) of a Python file, or of each code cell of a notebook."""
    if path.suffix == ".py":
        return [(path.name, path.read_text(encoding="utf-8"))]
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(f"{path.name} cell {i}", "".join(c["source"]))
            for i, c in enumerate(cells) if c["cell_type"] == "code"]


def test_the_detector_finds_an_unexplained_call() -> None:
    assert unexplained_unsafe_loads("x = 1\ntorch.load(buf, weights_only=False)\n") == [2]
    explained = "torch.load(buf, weights_only=False)  # trusted: made above"
    assert unexplained_unsafe_loads(explained) == []
    assert unexplained_unsafe_loads("torch.load(buf, weights_only=True)") == []


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_no_unexplained_weights_only_false(path: Path) -> None:
    bad = [f"{where} line {n}" for where, source in _code(path)
           for n in unexplained_unsafe_loads(source)]
    assert not bad, (
        f"weights_only=False with no comment saying why it is safe (add one on the same line or "
        f"the line above): {', '.join(bad)}"
    )
