"""Predict-then-run quizzes: one JSON file of questions per chapter, shown three ways.

``quiz(path, question_id)`` displays ONE output. Every form keeps the verdicts and explanations
hidden until the learner picks an option, in every state a learner can meet it:

- ``text/html`` (static site with or without JavaScript, notebook viewers, and JupyterLab, even
  in an untrusted notebook whose sanitiser strips ``<style>``, scripts and radio buttons): one
  closed ``<details>`` per option, styled inline. Opening an option shows its verdict and why.
- ``text/plain``: the prompt and the lettered options, never the answer.
- a live ipywidgets form (letters to choose; options and explanations render code as code),
  only in kernels that a Jupyter server started for a notebook (JupyterLab sets
  ``JPY_SESSION_NAME``). Batch runs (nbconvert, nbclient, nbval) store no widget view, so no
  saved notebook refers to a widget model that no longer exists ("model not found").

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
import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ipywidgets  # type: ignore[import-untyped]

__all__ = [
    "Option",
    "Question",
    "QuizFile",
    "feedback_html",
    "live_frontend",
    "load_quiz",
    "load_questions",
    "quiz",
    "quiz_bundle",
    "quiz_html",
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
        raise KeyError(
            f"no question {question_id!r} in chapter {self.chapter!r}; known ids: {known}"
        )


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
        raise ValueError(
            f"{where}: question id must be a lowercase slug like 'same-object', got {qid!r}"
        )
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
        options.append(
            Option(_text(o["text"], at, "text"), o["correct"], _text(o["why"], at, "why"))
        )
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
        raise ValueError(
            f"{where}: 'chapter' must be the notebook stem like '01_assignment_aliasing', "
            f"got {chapter!r}"
        )
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
    opt = textwrap.TextWrapper(
        width=88, subsequent_indent="     ", break_long_words=False, break_on_hyphens=False
    )
    for letter, o in zip(LETTERS, question.options):
        lines += opt.wrap(f"  {letter}. {o.text}")
    lines.append(_HINT)
    return "\n".join(lines)


_CODE_STYLE = "background:#eef2f6;color:#111;padding:0 .2em;border-radius:3px"


def _inline(text: str, code_style: str = _CODE_STYLE) -> str:
    """Escape HTML, then render `code` spans as <code> (styled inline: the card stays light)."""
    parts = html.escape(text, quote=False).split("`")
    if len(parts) % 2 == 0:  # unbalanced backticks: keep them literally
        return html.escape(text, quote=False)
    style = f' style="{code_style}"' if code_style else ""
    return "".join(f"<code{style}>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# Inline styles only: JupyterLab keeps style attributes of an untrusted output (filtered to safe
# properties) but drops <style> elements, so the card looks the same in every state.
_CARD = (
    "background:#fff;color:#111;border:2px solid #0072B2;border-radius:6px;"
    "padding:.7em 1em;margin:.6em 0;max-width:52em"
)
_LABEL = "font-weight:700;color:#0072B2;margin:0 0 .2em"
_PROMPT = "font-weight:600;margin:0 0 .3em"
_HOW = "margin:0 0 .4em;font-size:.9em;color:#444"
_OPTION = (
    "margin:.3em 0;padding:.2em .5em;border:1px solid #c9d4df;border-radius:4px;background:#fff"
)
_SUMMARY = "cursor:pointer"
_WHY = {
    True: "margin:.35em 0 .2em;padding:.3em .6em;border-left:4px solid #009E73;background:#e6f5f0",
    False: (
        "margin:.35em 0 .2em;padding:.3em .6em;border-left:4px dashed #D55E00;background:#fbeee6"
    ),
}
_VERDICT = {True: "&#10004; Correct.", False: "&#10008; Not quite."}
_HOW_TEXT = (
    "Decide on your answer first, then click it: only the option you open shows "
    "whether it holds, and why."
)


def quiz_html(question: Question, chapter: str) -> str:
    """Self-contained HTML: one closed ``<details>`` per option; opening it shows verdict and why.

    Nothing but the prompt and the options is visible until an option is opened: no script, no
    ``<style>``, no form controls, so it works the same in an untrusted notebook, on the site
    with or without JavaScript, and in any viewer. Element ids derive from ``chapter`` and the
    question id, so the output is identical on every run. Each verdict says "Correct" or "Not
    quite" in words (colour is only a cue).

    >>> q = Question("q1", "Pick `b`", (Option("a", False, "No."), Option("b", True, "Yes.")))
    >>> html_ = quiz_html(q, "01_demo")
    >>> 'id="cq-01-demo-q1"' in html_, html_.count("<details"), "<script" in html_
    (True, 2, False)
    """
    _check_question(question)
    if not isinstance(chapter, str) or not chapter:
        raise TypeError(f"chapter must be a non-empty str (the notebook stem), got {chapter!r}")
    base = f"cq-{_slug(chapter)}-{question.id}"
    rows = []
    for letter, o in zip(LETTERS, question.options):
        verdict = "correct" if o.correct else "wrong"
        rows.append(
            f'<details class="cq-opt" style="{_OPTION}">'
            f'<summary style="{_SUMMARY}"><b>{letter}.</b> {_inline(o.text)}</summary>'
            f'<div class="cq-why cq-{verdict}" data-verdict="{verdict}" style="{_WHY[o.correct]}">'
            f"<b>{_VERDICT[o.correct]}</b> {_inline(o.why)}</div></details>"
        )
    return (
        f'<div class="cq" id="{base}" style="{_CARD}">'
        f'<p class="cq-label" style="{_LABEL}">Predict, then check</p>'
        f'<p class="cq-prompt" style="{_PROMPT}">{_inline(question.prompt)}</p>'
        f'<p class="cq-how" style="{_HOW}">{_HOW_TEXT}</p>'
        f"{''.join(rows)}</div>"
    )


def _check_question(question: object) -> None:
    if not isinstance(question, Question):
        raise TypeError(f"expected a helpers.quiz.Question, got {type(question).__name__}")


# ---------------------------------------------------------------- live form and display


def feedback_html(option: Option) -> str:
    """The verdict and explanation of one chosen option, as HTML (code rendered as code).

    >>> html_ = feedback_html(Option("`a`", False, "Use `b`."))
    >>> "Not quite." in html_, ">b</code>." in html_, "`" in html_
    (True, True, False)
    """
    if not isinstance(option, Option):
        raise TypeError(f"expected a helpers.quiz.Option, got {type(option).__name__}")
    return (
        f'<div style="{_WHY[option.correct]};color:#111">'
        f"<b>{_VERDICT[option.correct]}</b> {_inline(option.why)}</div>"
    )


def quiz_widget(question: Question) -> "ipywidgets.VBox":
    """The live ipywidgets form: the prompt and options as HTML (code shows as code), one button
    per letter, and a feedback area that shows the chosen option's verdict and why."""
    import ipywidgets as widgets

    _check_question(question)
    letters = list(LETTERS[: len(question.options)])
    prompt = widgets.HTML(f"<b>Predict, then check:</b> {_inline(question.prompt)}")
    options = widgets.HTML(
        "".join(
            f'<div style="margin:.15em 0"><b>{letter}.</b> {_inline(o.text)}</div>'
            for letter, o in zip(letters, question.options)
        )
    )
    choice = widgets.ToggleButtons(
        options=letters,
        value=None,
        description="Your prediction:",
        tooltips=[f"Option {letter}" for letter in letters],
        style={"description_width": "initial", "button_width": "3em"},
    )
    feedback = widgets.HTML("")

    def on_choice(change: dict[str, object]) -> None:
        letter = change["new"]
        feedback.value = (
            feedback_html(question.options[letters.index(letter)])
            if isinstance(letter, str)
            else ""
        )

    choice.observe(on_choice, names="value")
    return widgets.VBox([prompt, options, choice, feedback])


def live_frontend() -> bool:
    """True in a kernel that a Jupyter server started for a notebook (JupyterLab, Notebook 7):
    there a widget can be shown. False under nbconvert, nbclient and nbval."""
    return bool(os.environ.get("JPY_SESSION_NAME"))


def quiz_bundle(question: Question, chapter: str, live: bool | None = None) -> dict[str, object]:
    """The MIME bundle of one quiz output: text/html, text/plain, and, when ``live`` (default:
    :func:`live_frontend`) and ipywidgets is installed, the live widget view."""
    bundle: dict[str, object] = {}
    if live if live is not None else live_frontend():
        try:
            bundle.update(quiz_widget(question)._repr_mimebundle_() or {})
        except ImportError:  # no ipywidgets: the static forms still work
            pass
    bundle["text/html"] = quiz_html(question, chapter)
    bundle["text/plain"] = quiz_text(question)
    return bundle


def quiz(path: str | Path, question_id: str) -> None:
    """Display one question of a chapter file as a single output.

    Stored outputs carry text/html and text/plain only (both byte-stable, compared by nbval);
    the live widget is added where a Jupyter server runs the kernel (see :func:`live_frontend`).
    """
    from IPython.display import display

    if not isinstance(question_id, str):
        raise TypeError(f"question_id must be a str, got {type(question_id).__name__}")
    qf = load_quiz(path)
    display(quiz_bundle(qf.get(question_id), qf.chapter), raw=True)  # type: ignore[no-untyped-call]
