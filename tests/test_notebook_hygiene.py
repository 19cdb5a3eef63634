"""Every committed notebook is a clean, top-to-bottom run that follows the chapter pattern."""
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def _ids(paths):
    return [p.name for p in paths]


def test_notebooks_exist_and_are_numbered_contiguously():
    assert NOTEBOOKS, "no notebooks found"
    numbers = []
    for path in NOTEBOOKS:
        match = re.fullmatch(r"(\d\d)_[a-z0-9_]+\.ipynb", path.name)
        assert match, f"{path.name}: expected NN_lower_snake_case.ipynb"
        numbers.append(int(match.group(1)))
    assert numbers == list(range(len(numbers))), f"numbers are not 00, 01, ...: {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_executed_top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_timing_metadata_and_no_trailing_semicolons(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        assert "execution" not in cell.metadata, f"cell {i} has per-cell timing metadata"
        if cell.cell_type == "code":
            lines = [l for l in cell.source.rstrip().splitlines() if l.strip()]
            last = lines[-1].split("#")[0].rstrip() if lines else ""
            assert not last.endswith(";"), f"cell {i} hides its output with ';' (nbval compares it anyway)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_chapter_pattern(path):
    nb = nbformat.read(path, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert markdown and markdown[0].lstrip().startswith("# "), "first cell must be a '# Title'"
    assert re.search(r"(?im)^#+ *(learning objectives|you will learn)", markdown[0] + (markdown[1] if len(markdown) > 1 else "")), (
        "the opening must list learning objectives"
    )
    assert re.search(r"(?im)^#+ *key points", markdown[-1]), "the last markdown cell must be 'Key points'"
    assert nb.cells[-1].cell_type == "markdown", "a notebook ends with its key points"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_errors_only_in_tagged_cells(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        tagged = "raises-exception" in cell.metadata.get("tags", [])
        assert bool(errors) == tagged, f"cell {i}: error output {bool(errors)} but raises-exception tag {tagged}"


CHAPTERS = [p for p in NOTEBOOKS if not p.name.startswith("00_")]


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_has_exercises_with_hidden_solutions(path):
    nb = nbformat.read(path, as_version=4)
    assert any(re.search(r"(?m)^## +Exercises", c.source) for c in nb.cells if c.cell_type == "markdown")
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert solutions, "exercises need executed solution cells tagged 'solution'"
    for cell in solutions:
        assert cell.cell_type == "code" and "hide-cell" in cell.metadata["tags"], "solutions (code and output) are collapsed on the site"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_asks_at_least_three_quiz_questions(path):
    nb = nbformat.read(path, as_version=4)
    calls = [c for c in nb.cells if c.cell_type == "code" and re.search(r"^quiz\(", c.source, re.M)]
    assert len(calls) >= 3, f"{len(calls)} predict-then-run quiz cells; want at least 3"
    assert (NOTEBOOK_DIR / "quizzes" / f"{path.stem}.json").is_file()


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_every_quiz_question_is_asked_once(path):
    import json

    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    asked = re.findall(r"""^quiz\(QUIZ, ["']([a-z0-9-]+)["']\)""", code, re.M)
    data = json.loads((NOTEBOOK_DIR / "quizzes" / f"{path.stem}.json").read_text(encoding="utf-8"))
    assert sorted(asked) == sorted(q["id"] for q in data["questions"]), "ask each question of the chapter's file once"
