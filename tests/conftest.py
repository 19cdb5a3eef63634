"""Shared fixtures. Browser tests use Debian's Chromium through Playwright (never `playwright install`).

Where Chromium is missing, browser tests are skipped with a clear reason, except in CI
(environment variable CI=true), where a missing browser is a failure: CI must run them.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from course import CHROMIUM_ARGS  # noqa: F401  (one source; browser tests import it from here)

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
        pytest.fail(f"Chromium not found at {CHROMIUM}: CI (CI=true) must run the browser tests; "
                    "install it with `apt-get install -y chromium` (.ci/run does)", pytrace=False)
    pytest.skip(_SKIP_REASON)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "Chromium not found" in str(report.longrepr):
        _skipped_for_browser.append(report.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say loudly, at the end of the run, that the browser tests did not run."""
    if _skipped_for_browser:
        terminalreporter.section("browser tests skipped", sep="=", yellow=True, bold=True)
        terminalreporter.write_line(
            f"{len(_skipped_for_browser)} browser test(s) SKIPPED: {_SKIP_REASON}", yellow=True, bold=True
        )
