"""The instructor guide agrees with the chapters: its schedules add up, its question counts
match the quiz files, every question and section it names exists in the chapter it names,
and every misconception it maps points at a wrong option of the right question."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "instructor_guide.md").read_text()
QUIZ_FILES = sorted((ROOT / "notebooks" / "quizzes").glob("*.json"))
LETTERS = "ABCD"


def _quizzes() -> dict[str, dict[str, dict]]:
    """Chapter number ('00') -> question id -> {'correct': letter, 'letters': all letters}."""
    chapters: dict[str, dict[str, dict]] = {}
    for path in QUIZ_FILES:
        questions = {}
        for q in json.loads(path.read_text())["questions"]:
            letters = LETTERS[: len(q["options"])]
            [correct] = [x for x, o in zip(letters, q["options"]) if o.get("correct")]
            questions[q["id"]] = {"correct": correct, "letters": set(letters)}
        chapters[path.name[:2]] = questions
    return chapters


QUIZZES = _quizzes()
ALL_IDS = {qid for questions in QUIZZES.values() for qid in questions}


def _headings(notebook: Path) -> list[str]:
    """The markdown headings of a notebook (outside fenced code), without '#' and 'N. '."""
    found = []
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        fenced = False
        for line in "".join(cell["source"]).splitlines():
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced and line.startswith("#"):
                found.append(_plain(line.lstrip("#")))
    return found


def _plain(title: str) -> str:
    return re.sub(r"^\d+\.\s+", "", title.strip())


HEADINGS = {nb.name[:2]: _headings(nb) for nb in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}


def _section(heading: str, level: str = "##") -> str:
    """The text under `level heading` up to the next heading of that level or higher."""
    start = GUIDE.index(f"\n{level} {heading}") + 1
    stop = len(level)
    rest = GUIDE[start:].split("\n", 1)[1]
    ends = [m.start() for m in re.finditer(r"^(#{1,%d}) " % stop, rest, flags=re.M)]
    return rest[: ends[0]] if ends else rest


def _chapter_sections() -> dict[str, str]:
    block = _section("Per chapter")
    parts = re.split(r"^### (\d\d) .*$", block, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def _table(heading: str) -> list[list[str]]:
    block = GUIDE.split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]


def _minutes(cell: str) -> int:
    """'4', '6 × 2', '**180** (...)' -> minutes; '' -> 0."""
    cell = cell.replace("*", "").split("(")[0].strip()
    if not cell:
        return 0
    if "×" in cell:
        count, each = cell.split("×")
        return int(count) * int(each)
    return int(cell)


def _ids(text: str) -> list[str]:
    return re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", text)


ITALIC = r"(?<![*\w])\*(?![*\s])([^*\n]+?)(?<!\s)\*(?![*\w])"


def _unwrap(text: str) -> str:
    """Join wrapped lines (so that emphasis broken over two lines is found), not table rows."""
    return re.sub(r"\n[ \t]*(?=[^|\s])", " ", text)


def _italics(text: str) -> list[str]:
    """Single-star emphasis (section names), also when a line break falls inside it; bold
    and `a * b` in code are not matched."""
    return re.findall(ITALIC, _unwrap(text))


def test_no_placeholders_left():
    assert "[fill" not in GUIDE


@pytest.mark.parametrize(
    "heading, length, parts", [("Three hours", 180, 3), ("Ninety minutes", 90, 2)]
)
def test_schedule_adds_up(heading, length, parts):
    """Columns: block, `parts` columns of minutes (teach, questions[, exercises]), total."""
    *body, total_row = _table(heading)
    assert _minutes(total_row[parts + 1]) == length
    for row in body:
        if row[0] != "Break":
            assert sum(_minutes(c) for c in row[1 : parts + 1]) == _minutes(row[parts + 1]), row
    assert sum(_minutes(row[parts + 1]) for row in body) == length


def test_full_length_table_adds_up():
    *body, total_row = _table("Each chapter at full length")
    assert sorted(row[0][:2] for row in body) == sorted(QUIZZES)
    assert sum(_minutes(row[1]) for row in body) == _minutes(total_row[1])


def _chapter_rows(heading: str) -> dict[str, list[str]]:
    """The rows of one chapter each ('03 Tensor copies'), not '02, 09' or 'Break'."""
    return {row[0][:2]: row for row in _table(heading) if re.match(r"\d\d ", row[0])}


def test_three_hours_asks_or_leaves_every_question():
    """Per chapter: questions asked + questions left to self-study = the chapter's questions,
    and the counts sentence under the table says the same."""
    rows = _chapter_rows("Three hours")
    assert sorted(rows) == sorted(QUIZZES)
    stated = dict(
        (ch, (int(asked), int(total)))
        for ch, asked, total in re.findall(r"(\d\d) (\d+)/(\d+)", _section("Three hours", "###"))
    )
    for chapter, row in rows.items():
        asked = _minutes(row[2]) // 2
        left = _ids(row[-1])
        assert set(left) <= set(QUIZZES[chapter]), (chapter, left)
        assert asked + len(set(left)) == len(QUIZZES[chapter]), chapter
        assert stated[chapter] == (asked, len(QUIZZES[chapter])), chapter


def test_ninety_minutes_names_the_questions_it_counts():
    for chapter, row in _chapter_rows("Ninety minutes").items():
        asked = _ids(row[-1])
        assert set(asked) <= set(QUIZZES[chapter]), (chapter, asked)
        assert len(set(asked)) * 2 == _minutes(row[2]), chapter


def test_every_question_named_exists():
    unknown = sorted(set(_ids(GUIDE)) - ALL_IDS - {"raises-exception"})  # a cell tag
    assert not unknown, f"the guide names questions no chapter asks: {unknown}"


def test_every_chapter_has_path_questions_and_misconceptions():
    sections = _chapter_sections()
    assert sorted(sections) == sorted(QUIZZES)
    for chapter, text in sections.items():
        assert "**Path.**" in text and "**Ask the room.**" in text, chapter
        [quiz_file] = [p.name for p in QUIZ_FILES if p.name.startswith(chapter)]
        assert f"`notebooks/quizzes/{quiz_file}`" in text, chapter
        foreign = sorted(set(_ids(text)) & ALL_IDS - set(QUIZZES[chapter]))
        assert not foreign, f"chapter {chapter}'s section names other chapters' ids: {foreign}"


def test_misconception_tables_match_the_quiz_files():
    """Each chapter's table: one row per question, its correct letter in brackets, and exactly
    the wrong letters of that question, each with a belief."""
    for chapter, text in _chapter_sections().items():
        rows = {}
        for line in text.splitlines():
            match = re.match(r"\| `([a-z0-9-]+)` \(([A-D])\) \| (.+) \|$", line)
            if match:
                qid, correct, beliefs = match.groups()
                assert qid not in rows, f"{chapter} {qid}: two rows"
                rows[qid] = (correct, re.findall(r"\*\*([A-D])\*\* \S", beliefs))
        assert sorted(rows) == sorted(QUIZZES[chapter]), chapter
        for qid, (correct, wrong) in rows.items():
            quiz = QUIZZES[chapter][qid]
            assert correct == quiz["correct"], f"{chapter} {qid}: the answer is {quiz['correct']}"
            assert len(wrong) == len(set(wrong)), f"{chapter} {qid}: a letter twice"
            assert set(wrong) == quiz["letters"] - {quiz["correct"]}, (
                f"{chapter} {qid}: wrong options are "
                f"{sorted(quiz['letters'] - {quiz['correct']})}, the guide maps {wrong}"
            )


def _is_heading(name: str, headings: list[str]) -> bool:
    return any(h.startswith(_plain(name)) for h in headings)


def test_sections_named_in_a_chapter_exist_there():
    for chapter, text in _chapter_sections().items():
        for name in _italics(text):
            assert _is_heading(name, HEADINGS[chapter]), f"chapter {chapter} has no *{name}*"
    for chapter, row in _chapter_rows("Three hours").items():
        for name in _italics(row[-1]):
            assert _is_heading(name, HEADINGS[chapter]), f"chapter {chapter} has no *{name}*"


def _cited(text: str) -> list[tuple[str, str]]:
    """(chapter, section) for each *section* in text, the chapter being the last 'ch. NN' or
    'chapter NN' before it."""
    cited, chapter = [], ""
    for match in re.finditer(r"\b(?:ch\.|chapter) (\d\d)\b|" + ITALIC, _unwrap(text)):
        if match.group(1):
            chapter = match.group(1)
        else:
            cited.append((chapter, match.group(2)))
    return cited


def test_sections_cited_elsewhere_exist_in_the_chapter_cited():
    for heading in ("Misconceptions that cut across chapters", "Where the articles are right"):
        cited = _cited(_section(heading))
        assert len(cited) == len(_italics(_section(heading))), heading
        for chapter, name in cited:
            assert chapter in HEADINGS, f"*{name}* is cited without a chapter before it"
            assert _is_heading(name, HEADINGS[chapter]), f"chapter {chapter} has no *{name}*"


def test_the_checks_above_can_fail():
    """The parsers find what the tests rely on, so an empty match cannot pass silently."""
    assert _italics("a *Hooks* b **bold** `w * 2` *x*") == ["Hooks", "x"]
    assert len(_chapter_sections()) == len(QUIZ_FILES) >= 10
    assert len(_italics(_section("Where the articles are right"))) >= 10
    assert not _is_heading("No such section", [h for hs in HEADINGS.values() for h in hs])
    assert _cited("(ch. 02, *Hooks* and *Tied*; chapter 07, *Tied weights*)") == [
        ("02", "Hooks"),
        ("02", "Tied"),
        ("07", "Tied weights"),
    ]
