"""helpers.colab: the Colab first cell's set-up, simulated (it is a no-op off Colab)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import colab

# clones the course and imports torch in a new Python: scheduled early (tests/conftest.py)
pytestmark = pytest.mark.slow

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


def _run_on_fake_colab(tmp_path, cell, *, env_url=None, answer=None, clone=True):
    """Run a first cell's exact text in a fresh Python that looks like Colab: a fake
    `google.colab` module, the .pth written into a temporary site folder instead of the real one,
    `input()` answering `answer` (and recording its prompt) or failing when nobody should ask.
    With clone=False the cell stops at its `git clone`, printing the command instead of running
    it: enough to see which URL the cell chose, without a clone and a torch import."""
    stop_at_clone = [
        "import subprocess",
        "def fake_run(args, **kwargs):",
        "    print('CLONE:', *args)",
        "    raise SystemExit(0)",
        "subprocess.run = fake_run",
    ]
    script = "\n".join([
        *([] if clone else stop_at_clone),
        "import builtins, site, sys, types",
        "sys.modules['google'] = types.ModuleType('google')",
        "sys.modules['google.colab'] = types.ModuleType('google.colab')",
        f"site.getsitepackages = lambda: [{str(tmp_path)!r}]",
        "def fake_input(prompt=''):",
        "    if ANSWER is None:",
        "        raise AssertionError('input() was called')",
        "    sys.stderr.write('PROMPT:' + prompt)",
        "    return ANSWER",
        f"ANSWER = {answer!r}",
        "builtins.input = fake_input",
        cell,
        "import os, helpers",
        "from helpers.quiz import load_quiz",
        "print(helpers.__file__)",
        "print(os.getcwd())",
        "print(len(load_quiz('quizzes/00_start_here.json').questions) > 0)",
    ])
    env = {k: v for k, v in os.environ.items() if k != "COURSE_REPO_URL"}
    if env_url is not None:
        env["COURSE_REPO_URL"] = env_url
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)


def _assert_ready(done, tmp_path, course):
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0].startswith(f"Colab: course ready in {course}, torch ")
    assert out[1] == str(course / "helpers" / "__init__.py")
    assert out[2] == str(course / "notebooks") and out[3] == "True"
    assert (tmp_path / "copy_semantics_course.pth").read_text().strip() == str(course)


def test_the_first_cell_with_the_url_in_the_environment(tmp_path):
    """The chapters' cell (empty COURSE_REPO) clones from $COURSE_REPO_URL without asking:
    here this repository over file://, no network."""
    course = tmp_path / "course"
    cell = colab.first_cell(course_dir=str(course))
    done = _run_on_fake_colab(tmp_path, cell, env_url=f"file://{ROOT}")
    _assert_ready(done, tmp_path, course)
    assert "PROMPT:" not in done.stderr


def _cloned(done, url: str, course: Path) -> None:
    """The cell ran `git clone` from `url` into `course` (and stopped there)."""
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"CLONE: git clone -q --depth=1 {url} {course}"]


def test_the_first_cell_asks_the_learner_when_nobody_set_the_url(tmp_path):
    """The answer, stripped, is the URL cloned; from there on the cell runs as in the test
    above (which clones and imports for real)."""
    course = tmp_path / "course"
    cell = colab.first_cell(course_dir=str(course))
    done = _run_on_fake_colab(tmp_path, cell, answer=f"  file://{ROOT}\n", clone=False)
    _cloned(done, f"file://{ROOT}", course)
    prompt = done.stderr.split("PROMPT:", 1)[1]
    assert "URL of the GitHub repository" in prompt and "opened it from" in prompt


def test_the_url_set_in_the_cell_wins_over_the_environment(tmp_path):
    course = tmp_path / "course"
    cell = colab.first_cell(f"file://{ROOT}", str(course))
    assert f'COURSE_REPO = "file://{ROOT}"' in cell.splitlines()
    done = _run_on_fake_colab(tmp_path, cell, env_url="file:///nonexistent/elsewhere",
                              clone=False)
    _cloned(done, f"file://{ROOT}", course)


def test_an_empty_answer_is_refused_clearly(tmp_path):
    cell = colab.first_cell(course_dir=str(tmp_path / "course"))
    done = _run_on_fake_colab(tmp_path, cell, answer="   ")
    assert done.returncode != 0 and "no repository URL" in done.stderr
    assert not (tmp_path / "course").exists()


def test_the_first_cell_does_nothing_elsewhere(tmp_path):
    cell = colab.first_cell()
    env = dict(os.environ, COURSE_REPO_URL="https://example.invalid/never-cloned")
    done = subprocess.run([sys.executable, "-c", cell], capture_output=True, text=True,
                          cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_a_url_that_would_break_the_cell_is_refused():
    with pytest.raises(TypeError, match="clone URL"):
        colab.first_cell('https://x/"; import os')


def test_every_chapter_starts_with_the_cell_and_learner_copies_keep_it():
    """The committed chapters and the copies `make lab` gives learners (tools/learner.py)
    carry first_cell()'s text unchanged as their first code cell."""
    import nbformat
    from course import chapters
    from learner import learner_notebook

    for path in chapters():
        nb = nbformat.read(path, as_version=4)
        copy = learner_notebook(nbformat.read(path, as_version=4), path.name)
        for which in (nb, copy):
            first = next(c for c in which.cells if c.cell_type == "code")
            assert first.source == colab.first_cell(), f"{path.name}: first code cell"
            assert first.get("outputs", []) == []


def test_set_first_cell_inserts_once_then_updates(tmp_path):
    import nbformat

    path = tmp_path / "nb.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("QUIZ = 1")]
    nbformat.write(nb, path)
    assert colab.set_first_cell(path) and not colab.set_first_cell(path)
    assert colab.set_first_cell(path, colab.first_cell("https://github.com/O/R"))
    cells = nbformat.read(path, as_version=4).cells
    assert [c.source for c in cells] == ["# T", colab.first_cell("https://github.com/O/R"),
                                         "QUIZ = 1"]
