"""Every committed notebook is a clean, top-to-bottom run that follows the chapter pattern.

The course's rules (which files are chapters, how many questions, how a quiz is called) come
from tools/course.py, the one place the Makefile, tools, tests and site read them.
"""

import json
import re
from pathlib import Path

import nbformat
import pytest
from course import NOTEBOOKS as NOTEBOOK_DIR
from course import QUIZ_CALL, QUIZ_DIR, chapters, min_questions, quiz_setting

from helpers.colab import first_cell

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = chapters()


def _ids(paths):
    return [p.name for p in paths]


def test_notebooks_exist_and_are_numbered_contiguously():
    assert NOTEBOOKS, "no notebooks found"
    for path in sorted(NOTEBOOK_DIR.glob("*.ipynb")):  # nbval runs every one of them
        assert path in NOTEBOOKS and re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), (
            f"{path.name}: expected NN_lower_snake_case.ipynb"
        )
    numbers = [int(path.name[:2]) for path in NOTEBOOKS]
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
            lines = [line for line in cell.source.rstrip().splitlines() if line.strip()]
            last = lines[-1].split("#")[0].rstrip() if lines else ""
            assert not last.endswith(";"), (
                f"cell {i} hides its output with ';' (nbval compares it anyway)"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_chapter_pattern(path):
    nb = nbformat.read(path, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert markdown and markdown[0].lstrip().startswith("# "), "first cell must be a '# Title'"
    assert re.search(
        r"(?im)^#+ *(learning objectives|you will learn)",
        markdown[0] + (markdown[1] if len(markdown) > 1 else ""),
    ), "the opening must list learning objectives"
    assert re.search(r"(?im)^#+ *key points", markdown[-1]), (
        "the last markdown cell must be 'Key points'"
    )
    assert nb.cells[-1].cell_type == "markdown", "a notebook ends with its key points"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_errors_only_in_tagged_cells(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        tagged = "raises-exception" in cell.metadata.get("tags", [])
        assert bool(errors) == tagged, (
            f"cell {i}: error output {bool(errors)} but raises-exception tag {tagged}"
        )


CHAPTERS = [p for p in NOTEBOOKS if not p.name.startswith("00_")]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
LETTERS = "ABCD"
_LOUD = re.compile(r"\bcheck\(|\bexpect_error\(|^\s*assert\b", re.M)


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def _code(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def _quiz_ids(nb) -> list[str]:
    return [
        m.group(1)
        for c in _code(nb)
        for line in c.source.splitlines()
        if (m := QUIZ_CALL.match(line.strip()))
    ]


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_has_exercises(path):
    nb = nbformat.read(path, as_version=4)
    assert any(
        re.search(r"(?m)^## +Exercises", c.source) for c in nb.cells if c.cell_type == "markdown"
    )
    assert any("solution" in _tags(c) for c in nb.cells), (
        "exercises need solution cells tagged 'solution'"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_solution_cells_follow_the_exercise_convention(path):
    """README, "What a chapter looks like": collapsed everywhere, markers, a task that does not
    give the answer away (a collapsed cell still shows its first line), then a check cell."""
    nb = nbformat.read(path, as_version=4)
    problems = []
    for i, cell in enumerate(nb.cells):
        if "solution" not in _tags(cell):
            continue
        where = f"cell {i}"
        if cell.cell_type != "code":
            problems.append(f"{where}: a solution must be a code cell")
            continue
        if "hide-cell" not in _tags(cell):
            problems.append(
                f"{where}: tag 'hide-cell' missing (collapses the solution on the site)"
            )
        if cell.metadata.get("jupyter", {}).get("source_hidden") is not True:
            problems.append(
                f"{where}: metadata jupyter.source_hidden must be true (collapsed in JupyterLab)"
            )
        lines = cell.source.splitlines()
        stripped = [line.strip() for line in lines]
        if (
            BEGIN not in stripped
            or END not in stripped
            or stripped.index(BEGIN) > stripped.index(END)
        ):
            problems.append(f"{where}: the answer must sit between '{BEGIN}' and '{END}' lines")
            continue
        first = stripped[0] if stripped else ""
        answer = [
            a
            for a in stripped[stripped.index(BEGIN) + 1 : stripped.index(END)]
            if len(a) >= 6 and not a.startswith("#")
        ]
        if not first.startswith("#") or first.startswith("###") or stripped.index(BEGIN) == 0:
            problems.append(
                f"{where}: the first line must be a comment stating the task "
                "(not a marker, not code)"
            )
        elif re.match(r"#\s*(solution|answer)\b", first, re.I) or any(a in first for a in answer):
            problems.append(f"{where}: the first line gives the answer away: {first!r}")
        after = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        if after is None or after.cell_type != "code" or "check" not in _tags(after):
            problems.append(f"{where}: the next cell must be a code cell tagged 'check'")
        elif not _LOUD.search(after.source):
            problems.append(
                f"cell {i + 1}: a check cell must check loudly (check(...), expect_error, assert)"
            )
        elif re.search(r"getsource|\b_ih\b|\bIn\[|\b_i\d*\b", after.source):
            problems.append(
                f"cell {i + 1}: a check tests what the code does, never its source text"
            )
    assert not problems, "\n".join(problems)


def _after_colab_cell(code: list) -> list:
    """The code cells after a leading Colab set-up cell (helpers.colab.first_cell())."""
    return code[1:] if code and code[0].source == first_cell() else code


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_first_code_cell_is_the_colab_set_up(path):
    """README, Colab: every chapter's first code cell is exactly helpers.colab.first_cell()
    (`python -m helpers.colab notebooks/*.ipynb` writes it); off Colab it has no output."""
    code = _code(nbformat.read(path, as_version=4))
    assert code and code[0].source == first_cell(), (
        "the first code cell must be helpers.colab.first_cell(); run "
        f"`python -m helpers.colab notebooks/{path.name}`"
    )
    assert code[0].outputs == [], "the Colab set-up cell prints nothing off Colab"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_quiz_calls_name_the_chapter_file_once_per_question(path):
    nb = nbformat.read(path, as_version=4)
    code = _code(nb)
    calls = [
        line.strip() for c in code for line in c.source.splitlines() if re.match(r"\s*quiz\(", line)
    ]
    wrong = [call for call in calls if not QUIZ_CALL.match(call)]
    assert not wrong, f'write quiz calls as quiz(QUIZ, "<id>"): {wrong}'
    quiz_file = QUIZ_DIR / f"{path.stem}.json"
    asked = _quiz_ids(nb)
    least = min_questions(path.stem)
    assert len(asked) >= least, f"{len(asked)} predict-then-run quiz cells; want at least {least}"
    if path.name.startswith("00_"):
        assert len(asked) == least, "chapter 00 practises the mechanism with exactly one quiz"
    assert quiz_file.is_file(), f"no question file {quiz_file.relative_to(ROOT)}"
    setting = quiz_setting(path.stem)
    chapter_code = _after_colab_cell(code)
    assert chapter_code and setting in chapter_code[0].source.splitlines(), (
        f"the first code cell (after the Colab set-up cell) must set {setting}"
    )
    data = json.loads(quiz_file.read_text(encoding="utf-8"))
    assert sorted(asked) == sorted(q["id"] for q in data["questions"]), (
        "ask each question of the chapter's file once"
    )


def test_the_readme_teaches_the_quiz_calls_this_test_accepts():
    """An author who follows the README's instructions passes the checks above."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    calls = re.findall(r"`(quiz\([^`]*\))`", readme)
    assert calls, "the README shows no quiz call"
    wrong = [call for call in calls if not QUIZ_CALL.fullmatch(call.replace("<id>", "an-id"))]
    assert not wrong, (
        f'the README shows quiz calls this test refuses (want quiz(QUIZ, "<id>")): {wrong}'
    )
    setting = quiz_setting("NN_short_name")
    assert f"`{setting}`" in readme, f"the README does not say to set `{setting}`"


def _course_questions() -> list[dict]:
    return [
        q
        for path in NOTEBOOKS
        if (QUIZ_DIR / f"{path.stem}.json").is_file()
        for q in json.loads((QUIZ_DIR / f"{path.stem}.json").read_text(encoding="utf-8"))[
            "questions"
        ]
    ]


def test_correct_answers_are_spread_over_the_letters():
    questions = _course_questions()
    correct = [LETTERS[[o["correct"] for o in q["options"]].index(True)] for q in questions]
    counts = {letter: correct.count(letter) for letter in LETTERS}
    assert all(counts.values()), f"each letter is correct at least once across the course: {counts}"


def test_the_correct_option_is_rarely_the_longest():
    questions = _course_questions()
    longest = [
        q["id"]
        for q in questions
        if (lengths := [len(o["text"]) for o in q["options"]])
        and lengths[[o["correct"] for o in q["options"]].index(True)]
        > max(n for n, o in zip(lengths, q["options"]) if not o["correct"])
    ]
    assert len(longest) * 3 <= len(questions), (
        f"the correct option is the longest in {len(longest)} of {len(questions)} questions "
        f"(at most a third): {longest}"
    )


def _sections(nb):
    """(heading, rule sentences, loud code cells) per section; a section runs from a markdown
    heading to the next one, wherever they sit in the cells (fenced code is skipped)."""
    sections = [{"heading": "(before the first heading)", "rules": [], "loud": 0}]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            fenced = False
            for line in cell.source.splitlines():
                if line.lstrip().startswith(("```", "~~~")):
                    fenced = not fenced
                elif not fenced and re.match(r"#{1,6} ", line):
                    sections.append({"heading": line.strip(), "rules": [], "loud": 0})
                elif not fenced and "**Rule:" in line:
                    sections[-1]["rules"].append(line.strip()[:70])
        elif cell.cell_type == "code" and (
            _LOUD.search(cell.source) or "raises-exception" in _tags(cell)
        ):
            sections[-1]["loud"] += 1
    return sections


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_rule_is_proven_loudly_in_its_section(path):
    nb = nbformat.read(path, as_version=4)
    unproven = [
        f"{s['heading']!r}: {rule}" for s in _sections(nb) if not s["loud"] for rule in s["rules"]
    ]
    assert not unproven, (
        "a **Rule:** needs a loud check (check(...), expect_error, assert, "
        "or a raises-exception cell) "
        "in its own section:\n" + "\n".join(unproven)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_saved_widget_state_and_no_widget_views(path):
    """Saved widget state changes on every refresh; a widget view without it shows "Error
    displaying widget: model not found" once the kernel is gone. `make refresh` stores neither."""
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata, (
        "metadata.widgets: run `make refresh` (stores no widget state)"
    )
    views = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for o in c.outputs
        if WIDGET_VIEW in o.get("data", {})
    ]
    assert not views, f"cells {views} store a widget view: re-run them with `make refresh`"
