"""Shared fixtures of the browser tests (the site, JupyterLab).

They drive Debian's Chromium through Playwright (never `playwright install`). Where Chromium is
missing, browser tests are skipped with a clear reason, except in CI (environment variable
CI=true), where a missing browser is a failure: CI must run them.

With SCREENSHOTS=1, the browser tests also save what a reader sees (every site page, light and
dark, and the JupyterLab quiz states) under test-artifacts/ (git-ignored) for a reviewer to
look at. No test reads them, and a full-page screenshot takes seconds, so a plain run saves none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from course import CHROMIUM_ARGS, ROOT

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
_SKIP_REASON = (
    f"Chromium not found at {CHROMIUM}: browser tests SKIPPED "
    "(install it with `apt-get install -y chromium`; in CI, with CI=true, this is a failure)"
)
_skipped_for_browser: list[str] = []


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the Chromium executable; skip (or fail when CI=true) where it is missing."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return str(CHROMIUM)
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: CI (CI=true) must run the browser tests; "
            "install it with `apt-get install -y chromium` (.ci/run does)",
            pytrace=False,
        )
    pytest.skip(_SKIP_REASON)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """Chromium, started once for each test module that uses it and stopped after it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshots() -> Path | None:
    """The folder for screenshots with SCREENSHOTS=1, else None (take none)."""
    if os.environ.get("SCREENSHOTS") != "1":
        return None
    folder = ROOT / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers", "slow: a test file that takes seconds (a kernel, pip, git); scheduled early"
    )


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """Longest files first: the browser modules, then files marked slow, then the notebooks
    (the last chapters first: they run longest), then the rest; stable within each group.
    `make test` runs `pytest -n 2 --dist loadfile --no-loadscope-reorder`: each worker takes
    whole files in this order, so the two finish about together instead of one starting
    JupyterLab or a kernel when the other is done."""

    def rank(item: pytest.Item) -> int:
        if "browser" in getattr(item, "fixturenames", ()):
            return 0
        if item.get_closest_marker("slow"):
            return 1
        return 2 if item.path.suffix == ".ipynb" else 3

    ranks: dict[Path, int] = {}
    for item in items:  # a file's rank is its slowest test's, so files are not split
        ranks[item.path] = min(ranks.get(item.path, 3), rank(item))
    notebooks = sorted({item.path for item in items if item.path.suffix == ".ipynb"})
    last_first = {path: -i for i, path in enumerate(notebooks)}
    items.sort(key=lambda item: (ranks[item.path], last_first.get(item.path, 0)))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "Chromium not found" in str(report.longrepr):
        _skipped_for_browser.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Say loudly, at the end of the run, that the browser tests did not run."""
    if _skipped_for_browser:
        terminalreporter.section("browser tests skipped", sep="=", yellow=True, bold=True)
        terminalreporter.write_line(
            f"{len(_skipped_for_browser)} browser test(s) SKIPPED: {_SKIP_REASON}",
            yellow=True,
            bold=True,
        )
