"""Quiz helpers: validation of the question files, the three renderings, nbval stability."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.quiz import (
    Option,
    Question,
    load_questions,
    load_quiz,
    quiz,
    quiz_bundle,
    quiz_html,
    quiz_page,
    quiz_text,
    quiz_widget,
)

ROOT = Path(__file__).resolve().parents[1]
QUIZ_DIR = ROOT / "notebooks" / "quizzes"
QUIZ_FILES = sorted(QUIZ_DIR.glob("*.json"))
CH01 = QUIZ_DIR / "01_assignment_aliasing.json"


def _write(tmp_path, data, name="01_demo.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _good():
    return {
        "chapter": "01_demo",
        "questions": [
            {
                "id": "q-one",
                "prompt": "Does `b = a` copy?",
                "options": [
                    {"text": "Yes", "correct": False, "why": "It only binds a name."},
                    {"text": "No", "correct": True, "why": "Both names reach one object."},
                ],
            }
        ],
    }


# ---------------------------------------------------------------- the course's question files


@pytest.mark.parametrize("path", QUIZ_FILES, ids=[p.name for p in QUIZ_FILES])
def test_every_quiz_file_is_valid_and_named_after_a_notebook(path):
    qf = load_quiz(path)
    assert len(qf.questions) >= 3, f"{path.name}: at least three questions per chapter"
    assert re.fullmatch(r"\d\d_[a-z0-9_]+", qf.chapter)
    notebook = ROOT / "notebooks" / f"{qf.chapter}.ipynb"
    if not notebook.exists():
        pytest.skip(f"{notebook.name} is not written yet")


def test_chapter_01_questions():
    questions = load_questions(CH01)
    assert 3 <= len(questions) <= 5
    assert all(sum(o.correct for o in q.options) == 1 for q in questions)
    # the correct answer is not always in the same place
    assert len({q.answer for q in questions}) > 1


# ---------------------------------------------------------------- validation errors


def test_load_valid(tmp_path):
    (q,) = load_questions(_write(tmp_path, _good()))
    assert q.id == "q-one" and q.answer == 1
    assert q.options[1] == Option("No", True, "Both names reach one object.")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["questions"][0]["options"][0].update(correct=True), "exactly one option must be correct, found 2"),
        (lambda d: d["questions"][0]["options"][1].update(correct=False), "exactly one option must be correct, found 0"),
        (lambda d: d["questions"][0].update(id="Bad Id"), "lowercase slug"),
        (lambda d: d["questions"][0].update(prompt=""), "'prompt' must be a non-empty string"),
        (lambda d: d["questions"][0]["options"][0].pop("why"), "option A: expected an object with keys text, correct, why"),
        (lambda d: d["questions"][0]["options"][0].update(correct="yes"), "'correct' must be true or false"),
        (lambda d: d["questions"][0].update(options=d["questions"][0]["options"][:1]), "2 to 10 options"),
        (lambda d: d["questions"].append(dict(d["questions"][0])), "duplicate question ids ['q-one']"),
        (lambda d: d.update(chapter="02_other"), "'chapter' is '02_other' but the file name says '01_demo'"),
        (lambda d: d.update(questions=[]), "'questions' must be a non-empty list"),
        (lambda d: d["questions"][0].update(hint="x"), "unknown keys ['hint']"),
    ],
)
def test_invalid_files_name_file_question_and_problem(tmp_path, mutate, message):
    data = _good()
    mutate(data)
    with pytest.raises(ValueError) as err:
        load_quiz(_write(tmp_path, data))
    assert "01_demo.json" in str(err.value)
    assert message in str(err.value)


def test_invalid_json_and_missing_file(tmp_path):
    bad = tmp_path / "01_demo.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"01_demo.json: not valid JSON"):
        load_quiz(bad)
    with pytest.raises(FileNotFoundError, match="quiz file not found"):
        load_quiz(tmp_path / "nope.json")
    with pytest.raises(TypeError, match="str or pathlib.Path"):
        load_quiz(3)


def test_unknown_question_id_lists_known_ids():
    with pytest.raises(KeyError, match="known ids: how-many-models"):
        load_quiz(CH01).get("no-such-question")


def test_renderers_reject_non_questions():
    with pytest.raises(TypeError, match="expected a helpers.quiz.Question, got dict"):
        quiz_text({"id": "x"})
    with pytest.raises(TypeError, match="chapter must be a non-empty str"):
        quiz_html(load_questions(CH01)[0], "")


# ---------------------------------------------------------------- renderings


def test_text_is_stable_and_does_not_reveal_the_answer():
    for q in load_questions(CH01):
        text = quiz_text(q)
        assert text == quiz_text(q)
        assert "A. " in text and "correct" not in text.lower()
        for o in q.options:
            assert o.why not in text


def test_html_is_deterministic_offline_and_script_free():
    qf = load_quiz(CH01)
    for q in qf.questions:
        page = quiz_html(q, qf.chapter)
        assert page == quiz_html(q, qf.chapter)
        assert "<script" not in page.lower()
        assert not re.search(r"(src|href)\s*=", page), "no external resources"
        assert "http" not in page
        assert f'id="cq-01-assignment-aliasing-{q.id}"' in page
        assert page.count('type="radio"') == len(q.options)
        assert page.count("Correct.") == 1 and page.count("Not quite.") == len(q.options) - 1


def test_html_escapes_and_renders_code():
    q = Question("q", "Is `a < b` & c?", (Option("<b>x</b>", True, "ok"), Option("y", False, "no")))
    page = quiz_html(q, "01_demo")
    assert "<code>a &lt; b</code> &amp; c?" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_quiz_page_is_a_full_document():
    page = quiz_page(CH01)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count('class="cq"') == len(load_questions(CH01))
    assert page == quiz_page(CH01)


def test_widget_feedback_shows_why_of_chosen_option():
    q = load_questions(CH01)[0]
    box = quiz_widget(q)
    _prompt, choice, check, feedback = box.children
    check.click()
    assert "Choose an option first" in feedback.value
    choice.index = 0
    check.click()
    assert "Not quite" in feedback.value and "binds the name" in feedback.value
    choice.index = q.answer
    check.click()
    assert "Correct" in feedback.value


def test_bundle_carries_widget_html_and_text():
    qf = load_quiz(CH01)
    q = qf.questions[0]
    bundle = quiz_bundle(q, qf.chapter)
    assert bundle["text/plain"] == quiz_text(q)
    assert bundle["text/html"] == quiz_html(q, qf.chapter)
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["version_major"] == 2 and view["model_id"]


def test_quiz_displays_one_output(monkeypatch):
    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append((obj, raw)))
    quiz(CH01, "how-many-models")
    assert len(shown) == 1 and shown[0][1] is True
    assert set(shown[0][0]) == {"text/plain", "text/html", "application/vnd.jupyter.widget-view+json"}


# ---------------------------------------------------------------- nbval round trip


def test_quiz_cell_passes_nbval_twice(tmp_path):
    """Execute a notebook with a quiz cell, then run nbval on it twice: both must pass."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    quizzes = tmp_path / "quizzes"
    quizzes.mkdir()
    (quizzes / CH01.name).write_text(CH01.read_text())
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("from helpers.quiz import quiz"),
        nbformat.v4.new_code_cell('quiz("quizzes/01_assignment_aliasing.json", "how-many-models")'),
    ]
    nbclient.NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[1].outputs
    assert len(outputs) == 1 and outputs[0].output_type == "display_data"
    assert {"text/plain", "text/html"} <= set(outputs[0].data)
    path = tmp_path / "quiz_demo.ipynb"
    nbformat.write(nb, path)
    for _ in range(2):
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q",
             "--nbval", "--nbval-current-env", "-c", "/dev/null", "--rootdir", str(tmp_path), str(path)],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
