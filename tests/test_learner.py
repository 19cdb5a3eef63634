"""Learner notebooks (tools/learner.py): generation, the never-overwrite rules, reset.

Synthetic chapters in tmp_path pin every rule; the real chapters must generate and change nothing
but what the rules say. That a learner copy runs up to its first exercise stub follows without
executing it again: its cells before the stub are the chapter's own, which nbval runs; every
file they could read is in the learner folder; every cell parses; each stub raises
NotImplementedError when run, also from inside a function (test_stub_keeps_indentation_...).
"""

from __future__ import annotations

import doctest
import json
import subprocess
from pathlib import Path

import learner
import nbformat
import pytest
from course import chapters
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]

CHAPTERS = chapters()
SOLUTION = """\
# Exercise: double every entry of `t` in place.
# Hint: which operations end in an underscore?
### BEGIN SOLUTION
t.mul_(2)
### END SOLUTION
print(t)"""


def _quiet(_: str) -> None:
    pass


class Said(list):
    """Collects what update/reset print."""

    def __call__(self, text: str) -> None:
        self.append(text)

    def notices(self) -> list[str]:
        return [s for s in self if s.lstrip().startswith("***")]


def _chapter(
    folder: Path, stem: str = "01_demo", solution: str = SOLUTION, extra: str = ""
) -> Path:
    """A small committed chapter: outputs, counts, saved widget state, one exercise."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["widgets"] = {learner.WIDGET_STATE: {"state": {"abc": {}}, "version_major": 2}}
    first = new_code_cell(
        'QUIZ = "quizzes/01_demo.json"\nimport torch\nt = torch.ones(2)' + extra, execution_count=1
    )
    shown = new_code_cell(
        "print(t)",
        execution_count=2,
        outputs=[new_output("stream", name="stdout", text="tensor([1., 1.])\n")],
    )
    shown.metadata["tags"] = ["keep-me"]
    sol = new_code_cell(
        solution,
        execution_count=3,
        outputs=[new_output("stream", name="stdout", text="tensor([2., 2.])\n")],
    )
    sol.metadata.update(tags=["solution", "hide-cell"], jupyter={"source_hidden": True})
    check = new_code_cell("assert torch.equal(t, torch.full((2,), 2.0))", execution_count=4)
    check.metadata["tags"] = ["check"]
    nb.cells = [
        new_markdown_cell("# Demo\n\n## Learning objectives\n- x"),
        first,
        shown,
        new_markdown_cell("## Exercises\n\n**Exercise 1.** Double `t` in place."),
        sol,
        check,
        new_markdown_cell("## Key points\n- y"),
    ]
    path = folder / f"{stem}.ipynb"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    (folder / "quizzes").mkdir(exist_ok=True)
    (folder / "quizzes" / f"{stem}.json").write_text('{"chapter": "%s", "questions": []}' % stem)
    return path


def _edit(path: Path, source: str = "t.mul_(2)  # my answer") -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells[4].source = nb.cells[4].source.replace("...  # your code here", source)
    nbformat.write(nb, path)


def _change_course(path: Path, text: str = "Double `t`, in place.") -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].source = f"## Exercises\n\n**Exercise 1.** {text}"
    nbformat.write(nb, path)


def _assert_only_stubs_changed(src, out, where: str) -> None:
    """Outputs and counts cleared, widget state gone, solution regions stubbed; nothing else."""
    assert "widgets" not in out.metadata, f"{where}: saved widget state kept"
    assert {k: v for k, v in src.metadata.items() if k != "widgets"} == dict(out.metadata), where
    assert len(src.cells) == len(out.cells), f"{where}: cells added or removed"
    exercise = 0
    for i, (a, b) in enumerate(zip(src.cells, out.cells)):
        at = f"{where} cell {i}"
        assert a.cell_type == b.cell_type and a.get("id") == b.get("id"), at
        if a.cell_type != "code":
            assert a == b, f"{at}: a markdown cell changed"
            continue
        assert b.outputs == [] and b.execution_count is None, f"{at}: outputs or count left"
        if "solution" not in a.metadata.get("tags", []):
            assert a.source == b.source and a.metadata == b.metadata, f"{at}: changed"
            continue
        exercise += 1
        meta = json.loads(json.dumps(a.metadata))
        meta.get("jupyter", {}).pop("source_hidden", None)
        meta = {k: v for k, v in meta.items() if v != {}}
        assert dict(b.metadata) == meta, f"{at}: only source_hidden goes from a stub's metadata"
        begin = a.source.splitlines().index(
            next(line for line in a.source.splitlines() if learner.BEGIN in line)
        )
        assert b.source.splitlines()[:begin] == a.source.splitlines()[:begin], (
            f"{at}: task/hint lost"
        )
        assert learner.BEGIN not in b.source and learner.END not in b.source
        assert "...  # your code here" in b.source
        assert f'raise NotImplementedError("Exercise {exercise}:' in b.source
        answer = a.source.split(learner.BEGIN, 1)[1].split(learner.END, 1)[0]
        for line in answer.splitlines()[1:]:
            if len(line.strip()) > 12:
                assert line not in b.source.splitlines(), f"{at}: the answer leaks: {line!r}"
        following = src.cells[i + 1] if i + 1 < len(src.cells) else None
        assert following is not None and "check" in following.metadata.get("tags", []), (
            f"{at}: no check cell after it"
        )
        assert out.cells[i + 1].source == following.source, f"{at}: the check cell changed"


# ------------------------------------------------------------------------ generation


def test_doctests():
    result = doctest.testmod(learner, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2 and result.failed == 0


def test_outputs_cleared_stubs_and_checks_in_place_nothing_else_changed(tmp_path):
    path = _chapter(tmp_path / "src")
    src = nbformat.read(path, as_version=4)
    out = learner.learner_notebook(src, path.name)
    assert src.metadata["widgets"], "the committed notebook is not changed"
    _assert_only_stubs_changed(src, out, path.name)
    assert out.cells[4].source == (
        "# Exercise: double every entry of `t` in place.\n"
        "# Hint: which operations end in an underscore?\n"
        "...  # your code here\n"
        'raise NotImplementedError("Exercise 1: replace ... with your code, then run the check")\n'
        "print(t)"
    )
    assert out.cells[4].metadata == {"tags": ["solution", "hide-cell"]}


def test_stub_keeps_indentation_and_every_region():
    source = (
        "# Task: write f.\n# Hint: return.\ndef f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
        "    ### END SOLUTION\n\n\n### BEGIN SOLUTION\ny = f(1)\n### END SOLUTION\n"
    )
    out = learner.stub_solution(source, 4)
    compile(out, "stub", "exec")
    lines = out.splitlines()
    assert lines[3] == "    ...  # your code here" and lines[4].startswith(
        '    raise NotImplementedError("Exercise 4'
    )
    assert (
        lines[-1].startswith('raise NotImplementedError("Exercise 4') and "return 2 * x" not in out
    )
    with pytest.raises(NotImplementedError, match="Exercise 4"):
        exec(out, {})


@pytest.mark.parametrize(
    "source, message",
    [
        ("# Task: x.\nt.mul_(2)", "tagged 'solution' but has no '### BEGIN SOLUTION' line"),
        ("# Task.\n### BEGIN SOLUTION\nt.mul_(2)", "is never closed"),
        ("# Task.\nt.mul_(2)\n### END SOLUTION", "without a '### BEGIN SOLUTION' before it"),
        (
            "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
            "inside another solution region",
        ),
    ],
)
def test_a_solution_without_proper_markers_fails_clearly(tmp_path, source, message):
    path = _chapter(tmp_path / "src", solution=source)
    with pytest.raises(learner.LearnerError) as err:
        learner.learner_notebook(nbformat.read(path, as_version=4), path.name)
    assert str(err.value).startswith("01_demo.ipynb cell 4 (first line: ") and message in str(
        err.value
    )


def test_markers_in_an_untagged_cell_or_a_tagged_markdown_cell_fail(tmp_path):
    path = _chapter(tmp_path / "src", extra=f"\n{learner.BEGIN}\nx = 1\n{learner.END}")
    with pytest.raises(
        learner.LearnerError, match="cell 1 .*has solution markers but is not tagged 'solution'"
    ):
        learner.learner_notebook(nbformat.read(path, as_version=4), path.name)
    nb = nbformat.read(_chapter(tmp_path / "other"), as_version=4)
    nb.cells[3].metadata["tags"] = ["solution"]
    with pytest.raises(
        learner.LearnerError, match="cell 3 .*tagged 'solution' but is a markdown cell"
    ):
        learner.learner_notebook(nb, "01_demo.ipynb")


def test_update_generates_what_it_can_and_names_what_it_cannot(tmp_path):
    src = tmp_path / "src"
    _chapter(src, "00_intro")
    (src / "data" / "deep").mkdir(parents=True)
    (src / "data" / "deep" / "sweep.json").write_text("{}")
    (src / ".ipynb_checkpoints").mkdir()
    (src / ".ipynb_checkpoints" / "00_intro-checkpoint.ipynb").write_text("{}")
    _chapter(src, "01_demo", solution="# Task: no markers.\nt.mul_(2)")
    said = Said()
    report = learner.update(src, tmp_path / "learner", said)
    assert report.created == ["00_intro.ipynb"] and len(report.errors) == 1
    assert "01_demo.ipynb cell 4" in report.errors[0] and any(
        s.startswith("ERROR: 01_demo.ipynb") for s in said
    )
    assert (tmp_path / "learner" / "quizzes" / "01_demo.json").is_file(), (
        "quiz data copied for every chapter"
    )
    assert (tmp_path / "learner" / "data" / "deep" / "sweep.json").read_text() == "{}"
    assert not (tmp_path / "learner" / ".ipynb_checkpoints").exists()
    rc = learner.main(["update", "--source", str(src), "--target", str(tmp_path / "learner")])
    assert rc == 1


# ------------------------------------------------------------- never lose learner work


@pytest.fixture
def course(tmp_path):
    src, target = tmp_path / "notebooks", tmp_path / "learner"
    path = _chapter(src)
    report = learner.update(src, target, _quiet)
    assert report.created == ["01_demo.ipynb"]
    return path, target / "01_demo.ipynb", src, target


def test_untouched_copy_and_unchanged_course_is_left_alone(course):
    path, copy, src, target = course
    before = copy.read_bytes()
    nb = nbformat.read(copy, as_version=4)  # the learner ran it: outputs appear, sources untouched
    nb.cells[2].outputs = [new_output("stream", name="stdout", text="tensor([1., 1.])\n")]
    nbformat.write(nb, copy)
    ran = copy.read_bytes()
    assert ran != before
    report = learner.update(src, target, _quiet)
    assert report.unchanged == ["01_demo.ipynb"] and copy.read_bytes() == ran, (
        "outputs of a run are kept"
    )


def test_untouched_copy_is_refreshed_when_the_course_changes(course):
    path, copy, src, target = course
    _change_course(path)
    said = Said()
    report = learner.update(src, target, said)
    assert report.refreshed == ["01_demo.ipynb"]
    assert "Double `t`, in place." in copy.read_text() and not said.notices()
    assert learner.update(src, target, _quiet).unchanged == ["01_demo.ipynb"]


def test_edited_copy_is_kept_and_the_learner_told_once_how_to_get_a_fresh_one(course):
    path, copy, src, target = course
    _edit(copy)
    edited = copy.read_bytes()
    said = Said()
    assert learner.update(src, target, said).kept == ["01_demo.ipynb"]
    assert copy.read_bytes() == edited and not said.notices(), (
        "nothing to say while the course is unchanged"
    )
    _change_course(path)
    for _ in range(2):
        assert learner.update(src, target, said).kept == ["01_demo.ipynb"]
        assert copy.read_bytes() == edited
    notices = said.notices()
    assert len(notices) == 1, f"told {len(notices)} times"
    assert "your edits" in notices[0] and f"make reset CHAPTER=01 LEARNER={target}" in notices[0]
    _change_course(path, "Double `t` once more.")
    learner.update(src, target, said)
    assert len(said.notices()) == 2, "a newer course version is worth one more notice"
    assert copy.read_bytes() == edited


def test_without_a_manifest_an_identical_copy_is_adopted_and_a_different_one_kept(course):
    path, copy, src, target = course
    (target / learner.MANIFEST).unlink()
    assert learner.update(src, target, _quiet).unchanged == ["01_demo.ipynb"]
    (target / learner.MANIFEST).unlink()
    _edit(copy)
    edited = copy.read_bytes()
    said = Said()
    assert learner.update(src, target, said).kept == ["01_demo.ipynb"]
    assert copy.read_bytes() == edited and len(said.notices()) == 1
    learner.update(src, target, said)
    assert len(said.notices()) == 1


def test_an_unreadable_copy_is_never_overwritten(course):
    path, copy, src, target = course
    copy.write_text("{ half a notebook")
    _change_course(path)
    assert learner.update(src, target, _quiet).kept == ["01_demo.ipynb"]
    assert copy.read_text() == "{ half a notebook"


def test_a_deleted_copy_is_generated_again(course):
    path, copy, src, target = course
    copy.unlink()
    assert learner.update(src, target, _quiet).created == ["01_demo.ipynb"]


def test_reset_keeps_the_old_copy_as_a_backup_and_starts_fresh(course):
    path, copy, src, target = course
    _edit(copy)
    edited = copy.read_bytes()
    said = Said()
    backup = learner.reset("1", src, target, said)
    assert backup is not None and backup.parent == target and backup.read_bytes() == edited
    assert backup.name.startswith("01_demo.backup-") and backup.suffix == ".ipynb"
    assert "...  # your code here" in copy.read_text() and str(backup) in said[-1]
    second = learner.reset("01_demo", src, target, _quiet)
    assert second != backup and second.exists() and backup.exists()
    _change_course(path)
    assert learner.update(src, target, _quiet).refreshed == ["01_demo.ipynb"], (
        "a reset copy is untouched"
    )
    assert learner.main(["reset", "01", "--source", str(src), "--target", str(target)]) == 0


def test_reset_names_the_chapters_and_moves_nothing_when_generation_fails(course, capsys):
    path, copy, src, target = course
    with pytest.raises(learner.LearnerError, match="no chapter '07'.*chapters: 01_demo"):
        learner.reset("07", src, target, _quiet)
    assert learner.main(["reset", "07", "--source", str(src), "--target", str(target)]) == 1
    assert "ERROR: no chapter '07'" in capsys.readouterr().err
    _edit(copy)
    nb = nbformat.read(path, as_version=4)
    nb.cells[4].source = "# Task: no markers.\nt.mul_(2)"
    nbformat.write(nb, path)
    edited = copy.read_bytes()
    with pytest.raises(learner.LearnerError, match="no '### BEGIN SOLUTION' line"):
        learner.reset("01", src, target, _quiet)
    assert copy.read_bytes() == edited and list(target.glob("*.backup-*")) == []


def test_make_reset_needs_a_chapter_and_backs_up(tmp_path):
    make = ["make", "--no-print-directory", "-o", ".venv/.installed"]
    run = subprocess.run([*make, "reset"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "usage: make reset CHAPTER=03" in run.stdout
    target = tmp_path / "learner"
    learner.reset("00", learner.SOURCE, target, _quiet)  # the learner's copy, to be backed up
    run = subprocess.run(
        [*make, "reset", "CHAPTER=00", f"LEARNER={target}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (target / CHAPTERS[0].name).is_file() and len(
        list(target.glob("00_*.backup-*.ipynb"))
    ) == 1


# ------------------------------------------------------------------ widget state


def test_dead_widget_views_and_saved_state_are_dropped():
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    nb = {
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "data": {
                            learner.WIDGET_VIEW: view,
                            "text/html": "<p>q</p>",
                            "text/plain": "q",
                        },
                    },
                    {"output_type": "display_data", "data": {learner.WIDGET_VIEW: view}},
                    {"output_type": "stream", "name": "stdout", "text": "x"},
                ],
            },
            {"cell_type": "markdown", "source": "x"},
        ],
    }
    saved = {
        "metadata": {"widgets": {learner.WIDGET_STATE: {"state": {"abc": {}}}}},
        "cells": nb["cells"],
    }
    assert learner.drop_dead_widget_views(saved) == 0, "views with saved state can be shown again"
    model = {"type": "notebook", "content": json.loads(json.dumps(nb))}
    learner.pre_save_hook(model=model, path="x.ipynb", contents_manager=None)
    data = [o.get("data") for o in model["content"]["cells"][0]["outputs"]]
    assert data[0] == {"text/html": "<p>q</p>", "text/plain": "q"}
    assert data[1] == {learner.WIDGET_VIEW: view}, "a view with nothing else to show is left alone"
    learner.pre_save_hook(model={"type": "file", "content": "text"}, path="a.txt")
    assert learner.strip_widget_state(saved) and "widgets" not in saved["metadata"]
    assert not learner.strip_widget_state(saved)


def test_clean_rewrites_only_notebooks_with_widget_state(tmp_path):
    path = _chapter(tmp_path)
    said = Said()
    learner.clean([path], said)
    assert "widgets" not in nbformat.read(path, as_version=4).metadata and len(said) == 1
    before = path.read_bytes()
    learner.clean([path], said)
    assert path.read_bytes() == before and len(said) == 1


# ----------------------------------------------------------------- the real chapters


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    target = tmp_path_factory.mktemp("learner")
    report = learner.update(learner.SOURCE, target, _quiet)
    return target, {e.split(" ", 1)[0]: e for e in report.errors}


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_real_chapter_generates_and_changes_only_its_stubs(chapter, generated):
    target, errors = generated
    assert chapter.name not in errors, errors.get(chapter.name)
    src = nbformat.read(chapter, as_version=4)
    out = nbformat.read(target / chapter.name, as_version=4)
    _assert_only_stubs_changed(src, out, chapter.name)
    assert (target / "quizzes").is_dir()


def _course_files(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder`` that a chapter could read, by relative path (no
    notebooks, nothing hidden, no caches)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (
            path.is_file()
            and path.suffix != ".ipynb"
            and not any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
        ):
            files[relative.as_posix()] = path.read_bytes()
    return files


def test_learner_folder_holds_every_file_a_chapter_can_read(generated):
    """A learner copy runs where its chapter runs under nbval: the cells before its first stub
    are the chapter's own (test above), and every file they could read from the chapter's
    folder is at the same place in the learner folder, unchanged."""
    target, _ = generated
    course = _course_files(learner.SOURCE)
    copied = _course_files(target)
    missing = sorted(name for name, content in course.items() if copied.get(name) != content)
    assert not missing, f"not in the learner folder (or not the same): {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_learner_cell_is_valid_python(chapter, generated):
    """What the learner runs parses (IPython syntax: magics allowed), stubs included."""
    from IPython.core.inputtransformer2 import TransformerManager

    target, errors = generated
    assert chapter.name not in errors, errors.get(chapter.name)
    nb = nbformat.read(target / chapter.name, as_version=4)
    transform = TransformerManager().transform_cell
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            compile(transform(cell.source), f"{chapter.name} cell {index}", "exec")
