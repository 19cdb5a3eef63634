"""The instructor guide's schedules add up: every row's parts make its total, the rows make the
stated length, and every question the guide names exists in a chapter's quiz file."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "instructor_guide.md").read_text()


def _table(heading: str) -> list[list[str]]:
    block = GUIDE.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]


def _minutes(cell: str) -> int:
    """'4', '[fill: 4]', '6 × 2', '[fill: 2 × 2]', '**180** (...)' -> minutes; '' -> 0."""
    cell = cell.replace("[fill:", "").replace("]", "").replace("*", "").split("(")[0].strip()
    if not cell:
        return 0
    if "×" in cell:
        count, each = cell.split("×")
        return int(count) * int(each)
    return int(cell)


@pytest.mark.parametrize("heading, length, parts", [("Three hours", 180, 3),
                                                    ("Ninety minutes", 90, 2)])
def test_schedule_adds_up(heading, length, parts):
    """Columns: block, `parts` columns of minutes (teach, questions[, exercises]), total."""
    *body, total_row = _table(heading)
    assert _minutes(total_row[parts + 1]) == length
    for row in body:
        if row[0] != "Break":
            assert sum(_minutes(c) for c in row[1:parts + 1]) == _minutes(row[parts + 1]), row
    assert sum(_minutes(row[parts + 1]) for row in body) == length


def test_every_question_named_exists():
    ids = {q["id"] for f in (ROOT / "notebooks" / "quizzes").glob("*.json")
           for q in json.loads(f.read_text())["questions"]}
    named = set(re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", GUIDE))
    unknown = sorted(named - ids - {"raises-exception"})  # a cell tag, not a question
    assert not unknown, f"the guide names questions no chapter asks: {unknown}"
