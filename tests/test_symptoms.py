"""The symptom page (docs/symptoms.md) stays true to the chapters it points at: every page it
links exists, every chapter 07 section it names is a heading there, every check it quotes is a
line that chapter's committed outputs print, and every audit finding it names is one that
helpers.audit reports."""
import re
from pathlib import Path

import nbformat

from helpers.audit import KINDS

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "symptoms.md").read_text(encoding="utf-8")
CHAPTER = nbformat.read(ROOT / "notebooks" / "07_copies_in_the_wild.ipynb", as_version=4)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_every_linked_chapter_exists():
    targets = re.findall(r"notebooks/(\d\d_[a-z0-9_]+)", PAGE)
    assert targets, "the page links no chapter"
    for stem in targets:
        assert (ROOT / "notebooks" / f"{stem}.ipynb").is_file(), f"no chapter {stem}"


def test_every_named_section_is_a_heading_of_chapter_07():
    headings = {
        line.removeprefix("## ").strip()
        for cell in CHAPTER.cells if cell.cell_type == "markdown"
        for line in cell.source.splitlines() if line.startswith("## ")
    }
    named = re.findall(r"section \*(.+?)\*(?=[;,.)\]\s])", _flat(PAGE))
    assert len(named) >= 6
    for title in named:
        assert title in headings, f"chapter 07 has no section {title!r}"


def test_every_quoted_check_is_printed_by_chapter_07():
    printed = {
        line.removeprefix("✔ ").strip()
        for cell in CHAPTER.cells if cell.cell_type == "code"
        for out in cell.outputs if out.get("output_type") == "stream"
        for line in out.text.splitlines() if line.startswith("✔ ")
    }
    quoted = [
        q
        for block in re.findall(r"checks?:\s+(.+?)(?:\n- |\n\n|$)", PAGE, re.S)
        for q in re.findall(r'"([^"]+)"', _flat(block))
    ]
    assert len(quoted) >= 10
    for claim in quoted:
        assert claim in printed, f"chapter 07 prints no check {claim!r}"


def test_every_named_audit_finding_exists():
    named = set(re.findall(r"`([a-z]+(?:-[a-z]+){2,})`", PAGE))
    assert named, "the page names no audit finding"
    assert named <= set(KINDS), f"unknown findings: {sorted(named - set(KINDS))}"


def test_the_six_symptoms_are_there():
    titles = re.findall(r"(?m)^## (.+)$", PAGE)
    assert titles == [
        "My best checkpoint equals the final one",
        "The copy does not train",
        "My EMA teacher tracks the student exactly",
        "A resumed run diverges",
        "`strict=False` loaded nothing",
        "The loaded model gives different outputs",
    ]
