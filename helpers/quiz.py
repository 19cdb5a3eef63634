"""Predict-then-run quizzes: one JSON file of questions per chapter, shown three ways.

``quiz(path, question_id)`` displays ONE output that carries a live ipywidgets form (JupyterLab),
a self-contained HTML version (static site, notebook viewers: pure HTML + inline CSS, no script,
no network) and a stable plain-text fallback. All three come from the same question data.

Question files live in ``notebooks/quizzes/<notebook stem>.json``::

    {"chapter": "01_assignment_aliasing",
     "questions": [{"id": "same-object", "prompt": "...",
                    "options": [{"text": "...", "correct": true, "why": "..."}, ...]}]}

>>> q = Question("demo", "Is `b = a` a copy?", (Option("Yes", False, "It binds a name."),
...                                             Option("No", True, "Both names, one object.")))
>>> print(quiz_text(q))
Is `b = a` a copy?
  A. Yes
  B. No
(Predict first. The live form or the web page checks your choice.)
"""
from __future__ import annotations

import html
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ipywidgets

__all__ = [
    "Option",
    "Question",
    "QuizFile",
    "load_quiz",
    "load_questions",
    "quiz",
    "quiz_bundle",
    "quiz_html",
    "quiz_page",
    "quiz_text",
    "quiz_widget",
]

LETTERS = "ABCDEFGHIJ"
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CHAPTER = re.compile(r"[A-Za-z0-9_]+")
_HINT = "(Predict first. The live form or the web page checks your choice.)"


@dataclass(frozen=True)
class Option:
    """One answer: its text, whether it is the right one, and why (one sentence)."""

    text: str
    correct: bool
    why: str


@dataclass(frozen=True)
class Question:
    """A multiple-choice question with exactly one correct option."""

    id: str
    prompt: str
    options: tuple[Option, ...]

    @property
    def answer(self) -> int:
        """Index of the correct option."""
        return next(i for i, o in enumerate(self.options) if o.correct)


@dataclass(frozen=True)
class QuizFile:
    """All questions of one chapter."""

    chapter: str
    questions: tuple[Question, ...]

    def get(self, question_id: str) -> Question:
        """The question with this id (KeyError listing the known ids otherwise)."""
        for q in self.questions:
            if q.id == question_id:
                return q
        known = ", ".join(q.id for q in self.questions)
        raise KeyError(f"no question {question_id!r} in chapter {self.chapter!r}; known ids: {known}")


# ---------------------------------------------------------------- loading and validation


def _text(value: object, where: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {field!r} must be a non-empty string, got {value!r}")
    return value.strip()


def _question(raw: object, where: str) -> Question:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: each question must be an object, got {type(raw).__name__}")
    qid = raw.get("id")
    if not isinstance(qid, str) or not _ID.fullmatch(qid):
        raise ValueError(f"{where}: question id must be a lowercase slug like 'same-object', got {qid!r}")
    where = f"{where} question {qid!r}"
    unknown = set(raw) - {"id", "prompt", "options"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; expected id, prompt, options")
    prompt = _text(raw.get("prompt"), where, "prompt")
    options_raw = raw.get("options")
    if not isinstance(options_raw, list) or not 2 <= len(options_raw) <= len(LETTERS):
        raise ValueError(f"{where}: 'options' must be a list of 2 to {len(LETTERS)} options")
    options = []
    for i, o in enumerate(options_raw):
        at = f"{where} option {LETTERS[i]}"
        if not isinstance(o, dict) or set(o) != {"text", "correct", "why"}:
            got = sorted(o) if isinstance(o, dict) else type(o).__name__
            raise ValueError(f"{at}: expected an object with keys text, correct, why; got {got}")
        if not isinstance(o["correct"], bool):
            raise ValueError(f"{at}: 'correct' must be true or false, got {o['correct']!r}")
        options.append(Option(_text(o["text"], at, "text"), o["correct"], _text(o["why"], at, "why")))
    n_correct = sum(o.correct for o in options)
    if n_correct != 1:
        raise ValueError(f"{where}: exactly one option must be correct, found {n_correct}")
    if len({o.text for o in options}) != len(options):
        raise ValueError(f"{where}: option texts must be distinct")
    return Question(qid, prompt, tuple(options))


def load_quiz(path: str | Path) -> QuizFile:
    """Read and validate a chapter's question file (ValueError names file, question, problem).

    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "01_demo.json").write_text(json.dumps({"chapter": "01_demo", "questions": [
    ...     {"id": "q1", "prompt": "2 + 2?", "options": [
    ...         {"text": "4", "correct": True, "why": "Arithmetic."},
    ...         {"text": "5", "correct": True, "why": "Orwell."}]}]}))
    >>> load_quiz(d / "01_demo.json")
    Traceback (most recent call last):
    ...
    ValueError: 01_demo.json question 'q1': exactly one option must be correct, found 2
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"quiz file not found: {path} (relative to {Path.cwd()})")
    where = path.name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or set(data) != {"chapter", "questions"}:
        raise ValueError(f'{where}: expected an object with keys "chapter" and "questions"')
    chapter = data["chapter"]
    if not isinstance(chapter, str) or not _CHAPTER.fullmatch(chapter):
        raise ValueError(f"{where}: 'chapter' must be the notebook stem like '01_assignment_aliasing', got {chapter!r}")
    if chapter != path.stem:
        raise ValueError(f"{where}: 'chapter' is {chapter!r} but the file name says {path.stem!r}")
    raw_questions = data["questions"]
    if not isinstance(raw_questions, list) or not raw_questions:
        raise ValueError(f"{where}: 'questions' must be a non-empty list")
    questions = tuple(_question(q, where) for q in raw_questions)
    ids = [q.id for q in questions]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"{where}: duplicate question ids {dupes}")
    return QuizFile(chapter, questions)


def load_questions(path: str | Path) -> list[Question]:
    """The validated questions of a chapter file, in file order (see :func:`load_quiz`)."""
    return list(load_quiz(path).questions)


# ---------------------------------------------------------------- pure renderers


def quiz_text(question: Question) -> str:
    """Stable plain-text form: the prompt and the lettered options, never the answer."""
    _check_question(question)
    wrap = textwrap.TextWrapper(width=88, break_long_words=False, break_on_hyphens=False)
    lines = wrap.wrap(question.prompt)
    opt = textwrap.TextWrapper(width=88, subsequent_indent="     ", break_long_words=False,
                               break_on_hyphens=False)
    for letter, o in zip(LETTERS, question.options):
        lines += opt.wrap(f"  {letter}. {o.text}")
    lines.append(_HINT)
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Escape HTML, then render `code` spans as <code>."""
    parts = html.escape(text, quote=False).split("`")
    if len(parts) % 2 == 0:  # unbalanced backticks: keep them literally
        return html.escape(text, quote=False)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


QUIZ_CSS = """\
.cq{background:#fff;color:#111;border:2px solid #0072B2;border-radius:6px;padding:.8em 1em;
margin:.6em 0;max-width:52em;font:16px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
.cq code{background:#eef2f6;color:#111;padding:0 .2em;border-radius:3px;font-size:.95em}
.cq-label{font-weight:700;color:#0072B2;margin:0 0 .2em}
.cq-prompt{font-weight:600;margin:0 0 .5em}
.cq-opt{margin:.25em 0}
.cq-opt input{margin-right:.5em}
.cq-opt label{cursor:pointer}
.cq-why{display:none;margin:.2em 0 .4em 1.8em;padding:.3em .6em;border-left:4px solid}
.cq-opt input:checked~.cq-why{display:block}
.cq-right{border-color:#009E73;background:#e6f5f0}
.cq-wrong{border-color:#D55E00;border-left-style:dashed;background:#fbeee6}
.cq details{margin-top:.5em}
.cq summary{cursor:pointer;color:#0072B2}
"""


def quiz_html(question: Question, chapter: str) -> str:
    """Self-contained HTML: radio buttons whose feedback appears on choice (CSS only, no script).

    Element ids derive from ``chapter`` and the question id, so the output is identical on every
    run. Each option's feedback says "Correct" or "Not quite" in words (colour is only a cue).

    >>> q = Question("q1", "Pick `b`", (Option("a", False, "No."), Option("b", True, "Yes.")))
    >>> html_ = quiz_html(q, "01_demo")
    >>> 'id="cq-01-demo-q1-b"' in html_, "<code>b</code>" in html_, "<script" in html_
    (True, True, False)
    """
    _check_question(question)
    if not isinstance(chapter, str) or not chapter:
        raise TypeError(f"chapter must be a non-empty str (the notebook stem), got {chapter!r}")
    base = f"cq-{_slug(chapter)}-{question.id}"
    rows = []
    for letter, o in zip(LETTERS, question.options):
        oid = f"{base}-{letter.lower()}"
        verdict, cls = ("&#10004; Correct.", "cq-right") if o.correct else ("&#10008; Not quite.", "cq-wrong")
        rows.append(
            f'<div class="cq-opt"><input type="radio" name="{base}" id="{oid}" value="{letter}">'
            f'<label for="{oid}"><b>{letter}.</b> {_inline(o.text)}</label>'
            f'<div class="cq-why {cls}" data-verdict="{"correct" if o.correct else "wrong"}">'
            f"<b>{verdict}</b> {_inline(o.why)}</div></div>"
        )
    right = question.options[question.answer]
    letter = LETTERS[question.answer]
    return (
        f'<div class="cq" id="{base}"><style>{QUIZ_CSS}</style>'
        f'<p class="cq-label">Predict, then check</p>'
        f'<p class="cq-prompt">{_inline(question.prompt)}</p>'
        f'<div class="cq-form" role="radiogroup">{"".join(rows)}</div>'
        f"<details><summary>Show the answer</summary><p><b>{letter}.</b> {_inline(right.text)} "
        f"&mdash; {_inline(right.why)}</p></details></div>"
    )


def quiz_page(path: str | Path, title: str | None = None) -> str:
    """A complete offline HTML document with every question of a chapter file."""
    qf = load_quiz(path)
    title = title or f"Quiz: {qf.chapter}"
    body = "\n".join(quiz_html(q, qf.chapter) for q in qf.questions)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{background:#fff;color:#111;margin:1.5em;font-family:system-ui,sans-serif}</style></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _check_question(question: object) -> None:
    if not isinstance(question, Question):
        raise TypeError(f"expected a helpers.quiz.Question, got {type(question).__name__}")


# ---------------------------------------------------------------- live form and display


def quiz_widget(question: Question) -> "ipywidgets.VBox":
    """The ipywidgets form: radio buttons, a Check button and a feedback area."""
    import ipywidgets as widgets

    _check_question(question)
    labels = [f"{letter}. {o.text}" for letter, o in zip(LETTERS, question.options)]
    prompt = widgets.HTML(f"<b>Predict, then check:</b> {_inline(question.prompt)}")
    choice = widgets.RadioButtons(options=labels, value=None, layout=widgets.Layout(width="auto"))
    check = widgets.Button(description="Check", button_style="primary", icon="check")
    feedback = widgets.HTML("")

    def on_check(_button: object) -> None:
        if choice.index is None:
            feedback.value = "<i>Choose an option first.</i>"
            return
        o = question.options[choice.index]
        verdict = "&#10004; <b>Correct.</b>" if o.correct else "&#10008; <b>Not quite.</b>"
        feedback.value = f"{verdict} {_inline(o.why)}"

    check.on_click(on_check)
    return widgets.VBox([prompt, choice, check, feedback])


def quiz_bundle(question: Question, chapter: str) -> dict[str, object]:
    """The MIME bundle of one quiz output: widget view (when available), text/html, text/plain."""
    bundle: dict[str, object] = {}
    try:
        widget_bundle = quiz_widget(question)._repr_mimebundle_() or {}
    except ImportError:  # no ipywidgets: the static forms still work
        widget_bundle = {}
    bundle.update(widget_bundle)
    bundle["text/html"] = quiz_html(question, chapter)
    bundle["text/plain"] = quiz_text(question)
    return bundle


def quiz(path: str | Path, question_id: str) -> None:
    """Display one question of a chapter file as a single output (widget + HTML + text).

    Under nbval only text/plain and text/html are compared (both byte-stable); the widget view
    (random model id) is skipped by nbval itself.
    """
    from IPython.display import display

    if not isinstance(question_id, str):
        raise TypeError(f"question_id must be a str, got {type(question_id).__name__}")
    qf = load_quiz(path)
    display(quiz_bundle(qf.get(question_id), qf.chapter), raw=True)
