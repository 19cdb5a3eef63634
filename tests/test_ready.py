"""The pre-workshop check: `python tools/ready.py` says "ready" here, and names the fix if not."""
import sys
from pathlib import Path

import pytest

# starts a Jupyter kernel: scheduled early (tests/conftest.py)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import install  # noqa: E402
import ready  # noqa: E402


def test_ready_here(capsys):
    """`python tools/ready.py` is `sys.exit(ready.main())`: run here, in this test's Python
    (the course environment), it starts the same kernel a separate process would."""
    code = ready.main([])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[-1] == "ready"
    assert any("a kernel started and ran a quiz and a figure" in line for line in lines)


def test_a_wrong_version_is_named_with_its_fix(monkeypatch):
    real = install.installed_versions()
    monkeypatch.setattr(install, "installed_versions", lambda: {**real, "torch": "2.5.1"})
    with pytest.raises(ready.NotReady) as info:
        ready.check_versions()
    assert "torch 2.5.1 is installed, the lock pins 2.13.0+cpu" in info.value.problem
    assert "make setup" in info.value.fix and "environment.yml" in info.value.fix


def test_main_prints_not_ready_and_the_fix(monkeypatch, capsys):
    def broken():
        raise ready.NotReady("no kernel", "do this")

    monkeypatch.setattr(ready, "check_kernel", broken)
    monkeypatch.setattr(ready, "check_versions", lambda: "fine")
    assert ready.main([]) == 1
    out = capsys.readouterr().out
    assert "NOT READY  kernel: no kernel\n  to fix: do this\nnot ready\n" in out
