"""helpers.colab: the Colab first cell's set-up, simulated (it is a no-op off Colab)."""
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import colab

ROOT = Path(__file__).resolve().parents[1]


def test_off_colab_nothing_happens(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert colab.bootstrap(ROOT) == []
    assert Path.cwd() == tmp_path


def test_on_colab_helpers_and_quizzes_are_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(colab.site, "getsitepackages", lambda: [str(tmp_path)])
    monkeypatch.setattr(sys, "path", list(sys.path))
    calls = []
    done = colab.bootstrap(ROOT, colab=True, pip=calls.append)
    assert (tmp_path / "copy_semantics_course.pth").read_text().strip() == str(ROOT)
    assert Path.cwd() == ROOT / "notebooks" and Path("quizzes").is_dir()
    assert calls == [] and done == [f"helpers importable from {ROOT}"]  # nothing to install here


def test_pinned_mode_installs_the_cpu_build_only_when_torch_differs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(colab.site, "getsitepackages", lambda: [str(tmp_path)])
    monkeypatch.setattr(colab, "_torch_version", lambda: "2.9.0+cu126")
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # torch not yet imported
    calls = []
    colab.bootstrap(ROOT, "pinned", colab=True, pip=calls.append)
    pinned = colab.pinned_versions((ROOT / "requirements.lock").read_text())["torch"]
    assert calls == [["--index-url", colab.CPU_INDEX, f"torch=={pinned}"]]
    assert pinned.endswith("+cpu")


def test_pinned_mode_asks_for_a_restart_when_torch_is_already_imported(tmp_path, monkeypatch):
    import torch  # noqa: F401  (already imported by the test session anyway)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(colab.site, "getsitepackages", lambda: [str(tmp_path)])
    monkeypatch.setattr(colab, "_torch_version", lambda: "2.9.0+cu126")
    with pytest.raises(RuntimeError, match="Restart session"):
        colab.bootstrap(ROOT, "pinned", colab=True, pip=lambda args: None)


def test_bad_mode_and_bad_folder_are_refused(tmp_path):
    with pytest.raises(ValueError, match='"keep" or "pinned"'):
        colab.bootstrap(ROOT, "latest", colab=True)
    with pytest.raises(FileNotFoundError, match="not a copy of the course"):
        colab.bootstrap(tmp_path, colab=True)


def test_the_first_cell_itself_on_a_simulated_colab(tmp_path):
    """Runs `first_cell()`'s exact text in a fresh Python that looks like Colab: a fake
    `google.colab` module, the course cloned from this repository (file://, no network), the
    .pth written into a temporary site folder instead of the real one."""
    course = tmp_path / "course"
    cell = colab.first_cell(f"file://{ROOT}", str(course))
    script = "\n".join([
        "import site, sys, types",
        "sys.modules['google'] = types.ModuleType('google')",
        "sys.modules['google.colab'] = types.ModuleType('google.colab')",
        f"site.getsitepackages = lambda: [{str(tmp_path)!r}]",
        cell,
        "import os, helpers",
        "from helpers.quiz import load_quiz",
        "print(helpers.__file__)",
        "print(os.getcwd())",
        "print(len(load_quiz('quizzes/00_start_here.json').questions) > 0)",
    ])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0].startswith(f"Colab: course ready in {course}, torch ")
    assert out[1] == str(course / "helpers" / "__init__.py")
    assert out[2] == str(course / "notebooks") and out[3] == "True"
    assert (tmp_path / "copy_semantics_course.pth").read_text().strip() == str(course)


def test_the_first_cell_does_nothing_elsewhere(tmp_path):
    cell = colab.first_cell("https://example.invalid/never-cloned")
    done = subprocess.run([sys.executable, "-c", cell], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
