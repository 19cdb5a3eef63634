"""The symptom page (docs/symptoms.md) stays true to the chapters it points at: every page it
links exists; every section it names is a heading of the chapter linked just before it; every
check it quotes is a line that chapter's committed outputs print after "✔" (every "printed:"
quote starts a line they print); and every audit finding it names is one that helpers.audit
reports."""
import re
from functools import cache
from pathlib import Path

import nbformat
import pytest

from helpers.audit import KINDS

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "symptoms.md").read_text(encoding="utf-8")
LINK = re.compile(r"\{doc\}`[^<`]*<notebooks/(\d\d_[a-z0-9_]+)>`")
SECTION = re.compile(r"section\s+\*([^*]+?)\*(?=[;,.)\]\s])")
QUOTES = re.compile(r'(checks?|printed):\s+("[^"]+"(?:\s+and\s+"[^"]+")*)')


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@cache
def _chapter(stem: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)


def _headings(stem: str) -> set[str]:
    return {
        line.removeprefix("## ").strip()
        for cell in _chapter(stem).cells if cell.cell_type == "markdown"
        for line in cell.source.splitlines() if line.startswith("## ")
    }


def _printed(stem: str) -> list[str]:
    return [
        line.strip()
        for cell in _chapter(stem).cells if cell.cell_type == "code"
        for out in cell.outputs if out.get("output_type") == "stream"
        for line in out.text.splitlines()
    ]


def _chapter_before(position: int) -> str:
    """The chapter of the last {doc} link before ``position`` in the page."""
    links = [m for m in LINK.finditer(PAGE) if m.start() < position]
    assert links, f"no chapter link before {PAGE[position:position + 60]!r}"
    return links[-1].group(1)


def _sections() -> list[tuple[str, str]]:
    """(chapter, section title) for every "section *Title*" on the page."""
    return [(_chapter_before(m.start()), _flat(m.group(1))) for m in SECTION.finditer(PAGE)]


def _quotes() -> list[tuple[str, str, str]]:
    """(chapter, "check" or "printed", quoted text) for every 'check(s): "..." and "..."'."""
    found = []
    for m in QUOTES.finditer(PAGE):
        kind = "printed" if m.group(1) == "printed" else "check"
        stem = _chapter_before(m.start())
        found += [(stem, kind, _flat(q)) for q in re.findall(r'"([^"]+)"', m.group(2))]
    return found


def test_every_linked_chapter_exists():
    targets = LINK.findall(PAGE)
    assert targets, "the page links no chapter"
    for stem in targets:
        assert (ROOT / "notebooks" / f"{stem}.ipynb").is_file(), f"no chapter {stem}"


def test_the_page_points_into_chapters_06_and_07():
    stems = [stem for stem, _ in _sections()]
    assert stems.count("06_checkpoints") >= 6 and stems.count("07_copies_in_the_wild") >= 8
    kinds = [kind for _, kind, _ in _quotes()]
    assert kinds.count("check") >= 20 and kinds.count("printed") >= 1


@pytest.mark.parametrize("stem,title", _sections(), ids=lambda v: v[:40])
def test_every_named_section_is_a_heading_of_its_chapter(stem, title):
    assert title in _headings(stem), f"{stem} has no section {title!r}"


@pytest.mark.parametrize("stem,kind,quote", _quotes(), ids=lambda v: v[:40])
def test_every_quote_is_printed_by_its_chapter(stem, kind, quote):
    printed = _printed(stem)
    if kind == "check":
        assert f"✔ {quote}" in printed, f"{stem} prints no check {quote!r}"
    else:
        assert any(line.startswith(quote) for line in printed), f"{stem} prints no {quote!r}"


def test_every_named_audit_finding_exists():
    named = set(re.findall(r"`([a-z]+(?:-[a-z]+){2,})`", PAGE))
    assert named, "the page names no audit finding"
    assert named <= set(KINDS), f"unknown findings: {sorted(named - set(KINDS))}"


def test_the_symptoms_are_there():
    titles = re.findall(r"(?m)^## (.+)$", PAGE)
    assert titles == [
        # the six of the course's issue on chapters 06-07
        "My best checkpoint equals the final one",
        "The copy does not train",
        "My EMA teacher tracks the student exactly",
        "A resumed run diverges",
        "The learning rate is off after resuming",
        "`strict=False` loaded nothing",
        "The loaded model gives different outputs",
        # what checkpoint files do (chapter 06)
        "The checkpoint of a small tensor is huge",
        "Two tensors loaded from one checkpoint change together",
        "`torch.load` fails: \"Weights only load failed … Unsupported global\"",
        "My checkpoint no longer loads after a crash or a full disk",
        "`torch.load` fails: \"Attempting to deserialize object on a CUDA device\"",
        "Writing into an `mmap=True` tensor did (or did not) change the file",
    ]
