"""One source of truth for the pins: requirements.lock, mirrored exactly by environment.yml."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import install  # noqa: E402
import pins as P  # noqa: E402


def _lock_lines() -> list[str]:
    options, pins = P.read_lock()
    return [*options, *(p.line for p in pins)]


def test_environment_yml_has_exactly_the_lock_lines():
    text = (ROOT / "environment.yml").read_text()
    pip_lines = re.findall(r"^ {6}- (.+)$", text, flags=re.M)
    assert pip_lines[-1] == "-e ."
    assert pip_lines[:-1] == _lock_lines()  # the CPU index line and every marker included
    assert "  - python=3.11\n" in text and "  - pip\n" in text


def test_direct_requirements_are_locked_at_the_same_version():
    _, pins = P.read_lock()
    locked = {(p.key, p.version, p.marker) for p in pins}
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-")):
            pin = P.parse_line(line)
            assert (pin.key, pin.version, pin.marker) in locked, f"{line} differs from the lock"


def test_installed_versions_match_the_lock():
    _, pins = P.read_lock()
    errors, _ = install.compare_installed(P.pins_for(P.this_target(), pins),
                                          install.installed_versions())
    assert not errors, f"installed != locked: {errors}"
