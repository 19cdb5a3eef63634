"""Quiz helpers: validation of the question files and the three renderings.

That a quiz cell's stored output is what a fresh kernel shows again is nbval's check of every
chapter; that each chapter asks its questions once, enough of them, is the hygiene test's.
"""

import json
import re
from html.parser import HTMLParser

import nbformat
import pytest
from course import QUIZ_CALL, QUIZ_DIR, chapters

from helpers.quiz import (
    LETTERS,
    Option,
    Question,
    feedback_html,
    live_frontend,
    load_questions,
    load_quiz,
    quiz,
    quiz_bundle,
    quiz_html,
    quiz_text,
    quiz_widget,
)

QUIZ_FILES = sorted(QUIZ_DIR.glob("*.json"))
CH01 = QUIZ_DIR / "01_assignment_aliasing.json"
NOTEBOOKS = chapters()
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


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


def test_every_question_file_belongs_to_a_chapter():
    """A file no chapter asks from is dead (its questions are checked nowhere else)."""
    orphans = sorted({p.stem for p in QUIZ_FILES} - {p.stem for p in NOTEBOOKS})
    assert not orphans, f"question files without a chapter notebook: {orphans}"


@pytest.mark.parametrize("path", QUIZ_FILES, ids=[p.name for p in QUIZ_FILES])
def test_every_question_file_is_valid(path):
    assert load_quiz(path).chapter == path.stem  # load_quiz raises, naming the problem


# ---------------------------------------------------------------- validation errors


def test_load_valid(tmp_path):
    (q,) = load_questions(_write(tmp_path, _good()))
    assert q.id == "q-one" and q.answer == 1
    assert q.options[1] == Option("No", True, "Both names reach one object.")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda d: d["questions"][0]["options"][0].update(correct=True),
            "exactly one option must be correct, found 2",
        ),
        (
            lambda d: d["questions"][0]["options"][1].update(correct=False),
            "exactly one option must be correct, found 0",
        ),
        (lambda d: d["questions"][0].update(id="Bad Id"), "lowercase slug"),
        (lambda d: d["questions"][0].update(prompt=""), "'prompt' must be a non-empty string"),
        (
            lambda d: d["questions"][0]["options"][0].pop("why"),
            "option A: expected an object with keys text, correct, why",
        ),
        (
            lambda d: d["questions"][0]["options"][0].update(correct="yes"),
            "'correct' must be true or false",
        ),
        (
            lambda d: d["questions"][0].update(options=d["questions"][0]["options"][:1]),
            "2 to 10 options",
        ),
        (
            lambda d: d["questions"].append(dict(d["questions"][0])),
            "duplicate question ids ['q-one']",
        ),
        (
            lambda d: d.update(chapter="02_other"),
            "'chapter' is '02_other' but the file name says '01_demo'",
        ),
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


def test_unknown_question_id_lists_known_ids(tmp_path):
    with pytest.raises(KeyError, match="known ids: q-one"):
        load_quiz(_write(tmp_path, _good())).get("no-such-question")


def test_renderers_reject_non_questions():
    with pytest.raises(TypeError, match="expected a helpers.quiz.Question, got dict"):
        quiz_text({"id": "x"})
    with pytest.raises(TypeError, match="chapter must be a non-empty str"):
        quiz_html(load_questions(CH01)[0], "")


# ---------------------------------------------------------------- renderings


class _Visible(HTMLParser):
    """Text of an HTML fragment split into what shows before any click (outside <details>, plus
    each <summary>) and what shows only once a <details> is opened."""

    def __init__(self):
        super().__init__()
        self.shown: list[str] = []
        self.hidden: list[str] = []
        self._details = 0
        self._summary = 0
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "details":
            assert "open" not in dict(attrs), "an option is open before any choice"
            self._details += 1
        elif tag == "summary":
            self._summary += 1

    def handle_endtag(self, tag):
        if tag == "details":
            self._details -= 1
        elif tag == "summary":
            self._summary -= 1

    def handle_data(self, data):
        (self.hidden if self._details and not self._summary else self.shown).append(data)


def _split(fragment: str) -> _Visible:
    parser = _Visible()
    parser.feed(fragment)
    parser.close()
    return parser


def _assert_hides_answers(fragment: str, q: Question, where: str) -> None:
    parts = _split(fragment)
    shown, hidden = "".join(parts.shown), "".join(parts.hidden)
    for word in ("Correct", "Not quite", "\u2714", "\u2718"):
        assert word not in shown, f"{where}: {word!r} is visible before a choice"
    for o in q.options:
        why = o.why.replace("`", "")
        assert why[:40] not in shown, f"{where}: an explanation is visible before a choice"
        assert why[:40] in hidden, f"{where}: the explanation of {o.text!r} is missing"
    assert parts.tags.count("details") == len(q.options), (
        f"{where}: one closed <details> per option"
    )
    assert not {"style", "script", "input", "label", "form"} & set(parts.tags), (
        f"{where}: <style>, scripts and form controls do not survive an untrusted notebook"
    )


def test_text_does_not_reveal_the_answer():
    for q in load_questions(CH01):
        text = quiz_text(q)
        assert "A. " in text and "correct" not in text.lower()
        for o in q.options:
            assert o.why not in text


@pytest.mark.parametrize("path", QUIZ_FILES, ids=[p.name for p in QUIZ_FILES])
def test_html_hides_every_verdict_and_explanation_until_chosen(path):
    qf = load_quiz(path)
    for q in qf.questions:
        page = quiz_html(q, qf.chapter)
        _assert_hides_answers(page, q, f"{path.name} {q.id}")
        assert "`" not in "".join(_split(page).shown + _split(page).hidden), (
            "raw backticks: code not rendered"
        )


def test_html_is_offline_and_script_free():
    qf = load_quiz(CH01)
    for q in qf.questions:
        page = quiz_html(q, qf.chapter)
        assert "<script" not in page.lower() and "<style" not in page.lower()
        assert not re.search(r"(src|href)\s*=", page), "no external resources"
        assert "http" not in page
        assert f'id="cq-01-assignment-aliasing-{q.id}"' in page
        assert page.count("<details") == len(q.options)
        assert page.count("Correct.") == 1 and page.count("Not quite.") == len(q.options) - 1
        assert page.count('data-verdict="correct"') == 1


def test_html_escapes_and_renders_code():
    q = Question("q", "Is `a < b` & c?", (Option("<b>x</b>", True, "ok"), Option("y", False, "no")))
    page = quiz_html(q, "01_demo")
    assert ">a &lt; b</code> &amp; c?" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_stored_quiz_outputs_hide_answers_and_carry_no_widget_view():
    """What a learner meets in a committed notebook (untrusted in JupyterLab, or on the site)."""
    problems = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        quiz_file = QUIZ_DIR / f"{path.stem}.json"
        for i, cell in enumerate(nb.cells):
            match = QUIZ_CALL.search(cell.source)
            if cell.cell_type != "code" or not match or not quiz_file.is_file():
                continue
            q = load_quiz(quiz_file).get(match.group(1))
            data = [o.get("data", {}) for o in cell.get("outputs", [])]
            where = f"{path.name} cell {i} ({q.id})"
            if len(data) != 1 or "text/html" not in data[0]:
                problems.append(
                    f"{where}: expected one quiz output with text/html (run `make refresh`)"
                )
                continue
            if WIDGET_VIEW in data[0]:
                problems.append(
                    f"{where}: stored widget view (shows 'model not found' once the kernel is gone)"
                )
            try:
                _assert_hides_answers(data[0]["text/html"], q, where)
            except AssertionError as err:
                problems.append(str(err).splitlines()[0])
    assert not problems, "\n".join(problems)


def test_widget_shows_why_of_chosen_option_with_code_as_code():
    q = Question(
        "q",
        "After `b = a`, is `b` a copy?",
        (
            Option("Yes, `b` is a new object.", False, "Assignment only binds the name `b`."),
            Option("No, one object.", True, "`b is a` is True."),
            Option("Only for tensors.", False, "Assignment works the same for every object."),
        ),
    )
    box = quiz_widget(q)
    prompt, options, choice, feedback = box.children
    assert feedback.value == ""
    assert list(choice.options) == list(LETTERS[: len(q.options)]) and choice.value is None
    for html_ in (prompt.value, options.value):
        assert "`" not in html_ and "<code" in html_
    choice.value = "A"
    assert "Not quite" in feedback.value and "only binds the name" in feedback.value
    assert "`" not in feedback.value and "<code" in feedback.value
    choice.value = LETTERS[q.answer]
    assert "Correct" in feedback.value and "Not quite" not in feedback.value
    choice.value = None
    assert feedback.value == ""


def test_feedback_html_rejects_non_options():
    with pytest.raises(TypeError, match="expected a helpers.quiz.Option"):
        feedback_html("A")


def test_bundle_is_static_in_batch_runs_and_live_under_a_jupyter_server(monkeypatch):
    qf = load_quiz(CH01)
    q = qf.questions[0]
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert not live_frontend()
    bundle = quiz_bundle(q, qf.chapter)
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"] == quiz_text(q)
    assert bundle["text/html"] == quiz_html(q, qf.chapter)
    monkeypatch.setenv("JPY_SESSION_NAME", "/somewhere/01_assignment_aliasing.ipynb")
    assert live_frontend()
    live = quiz_bundle(q, qf.chapter)
    assert live[WIDGET_VIEW]["version_major"] == 2 and live[WIDGET_VIEW]["model_id"]
    assert live["text/html"] == bundle["text/html"] and live["text/plain"] == bundle["text/plain"]
    assert set(quiz_bundle(q, qf.chapter, live=False)) == {"text/plain", "text/html"}


def test_quiz_displays_one_output(monkeypatch):
    shown = []
    import IPython.display

    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append((obj, raw)))
    quiz(CH01, "how-many-models")
    assert len(shown) == 1 and shown[0][1] is True
    assert set(shown[0][0]) == {"text/plain", "text/html"}
