"""The course's layout rules, in one place: the Makefile, tools, tests and site read them here.

>>> CHAPTER_GLOB
'notebooks/[0-9][0-9]_*.ipynb'
>>> [p.name for p in chapters()][:1]
['00_start_here.ipynb']
>>> min_questions("00_start_here"), min_questions("03_tensor_copies")
(1, 3)
>>> quiz_setting("03_tensor_copies")
'QUIZ = "quizzes/03_tensor_copies.json"'
>>> QUIZ_CALL.findall('quiz(QUIZ, "same-object")')
['same-object']

Command line (for the Makefile): ``python tools/course.py chapters`` prints the chapter paths.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NOTEBOOKS = ROOT / "notebooks"
#: A chapter's file name: two digits, an underscore, a name (scratch notebooks stay out).
CHAPTER_PATTERN = "[0-9][0-9]_*.ipynb"
#: The numbered chapters, relative to the repository root.
CHAPTER_GLOB = f"notebooks/{CHAPTER_PATTERN}"
#: A chapter's question file: ``notebooks/quizzes/<chapter stem>.json``.
QUIZ_DIR = NOTEBOOKS / "quizzes"
#: Predict-then-run questions per chapter: chapter 00 practises the mechanism with one.
MIN_QUESTIONS = {"00": 1}
MIN_QUESTIONS_DEFAULT = 3
#: How a chapter asks a question: ``quiz(QUIZ, "<id>")`` on a line of its own, with ``QUIZ`` set
#: once in the first code cell (:func:`quiz_setting`). Group 1 is the question id.
QUIZ_CALL = re.compile(r"""^quiz\(QUIZ, "([a-z0-9]+(?:-[a-z0-9]+)*)"\)$""", re.M)
#: Chromium (Debian's, driven by Playwright) as root in a closed network: no sandbox, no GPU,
#: and none of the background connections that this machine's network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chapters(folder: Path = NOTEBOOKS) -> list[Path]:
    """The chapter notebooks in ``folder`` (the course's by default), in course order."""
    return sorted(folder.glob(CHAPTER_PATTERN))


def min_questions(chapter: str) -> int:
    """How many quiz questions a chapter (its stem, e.g. ``03_tensor_copies``) asks at least."""
    return MIN_QUESTIONS.get(chapter[:2], MIN_QUESTIONS_DEFAULT)


def quiz_setting(chapter: str) -> str:
    """The line of a chapter's first code cell that names its question file."""
    return f'QUIZ = "quizzes/{chapter}.json"'


def torch_pin(lock: Path = ROOT / "requirements.lock") -> str:
    """The torch version pinned in the lock: the one every committed output was recorded with.

    A local label such as ``+cpu`` is dropped: it names the build, not the version.
    """
    match = re.search(r"(?m)^torch==([^\s;#+]+)", lock.read_text(encoding="utf-8"))
    if not match:
        raise RuntimeError(f"{lock.name} has no `torch==` pin")
    return match.group(1)


if __name__ == "__main__":
    if sys.argv[1:] == ["chapters"]:
        print(" ".join(p.relative_to(ROOT).as_posix() for p in chapters()))
    else:
        sys.exit("usage: python tools/course.py chapters")
