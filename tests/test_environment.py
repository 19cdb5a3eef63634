"""One source of truth for the pins: requirements.lock, mirrored exactly by environment.yml."""
import importlib.metadata
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned exactly: {line!r}"
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_environment_yml_has_exactly_the_lock_pins():
    text = (ROOT / "environment.yml").read_text()
    pip_lines = re.findall(r"^ {6}- (.+)$", text, flags=re.M)
    env = {}
    for line in pip_lines:
        if line == "-e .":
            continue
        name, _, version = line.partition("==")
        env[name.lower().replace("_", "-")] = version
    assert env == _lock()
    assert "  - python=3.11\n" in text and "      - -e .\n" in text


def test_direct_requirements_are_locked_at_the_same_version():
    lock = _lock()
    for line in (ROOT / "requirements.in").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert lock.get(name.lower()) == version, f"{line} differs from the lock"


def test_installed_versions_match_the_lock():
    mismatched = {}
    for name, version in _lock().items():
        installed = importlib.metadata.version(name).split("+")[0]
        if installed != version:
            mismatched[name] = (installed, version)
    assert not mismatched, f"installed != locked: {mismatched}"
