"""The quiz's HTML form in a real browser, offline, with and without JavaScript.

This is the fragment that ships in every stored quiz output (the website, notebook viewers, an
untrusted notebook in JupyterLab): nothing but the prompt and the options shows before a choice;
opening an option shows its verdict and why. Drives Debian's Chromium through Playwright
(fixture ``chromium_path`` in conftest.py: skipped with a reason where Chromium is missing, a
failure when CI=true).
"""
from pathlib import Path

import pytest

from conftest import CHROMIUM_ARGS
from helpers.quiz import load_quiz, quiz_html

QUIZ_FILES = sorted((Path(__file__).resolve().parents[1] / "notebooks" / "quizzes").glob("*.json"))


def _page(tmp_path: Path) -> Path:
    cards = [quiz_html(q, qf.chapter) for qf in map(load_quiz, QUIZ_FILES) for q in qf.questions]
    page = tmp_path / "quizzes.html"
    page.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>quizzes</title></head>'
        f"<body>{''.join(cards)}</body></html>",
        encoding="utf-8",
    )
    return page


@pytest.fixture(scope="module")
def browser(chromium_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def page(request, browser, tmp_path):
    page_file = _page(tmp_path)
    requests: list[str] = []
    errors: list[str] = []
    context = browser.new_context(color_scheme="dark", java_script_enabled=request.param,
                                  viewport={"width": 1000, "height": 900})
    try:
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        yield page
    finally:
        context.close()
    foreign = [u for u in requests if not u.startswith(("file://", "data:", "about:"))]
    assert foreign == [], f"the quiz page made network requests: {foreign}"
    assert errors == [], f"browser errors: {errors}"


def test_nothing_revealed_before_a_choice_then_each_option_explains_itself(page):
    files = list(map(load_quiz, QUIZ_FILES))
    questions = [q for qf in files for q in qf.questions]
    cards = page.locator(".cq")
    assert cards.count() == len(questions)
    text = page.locator("body").inner_text()
    for word in ("Correct", "Not quite", "\u2714", "\u2718"):
        assert word not in text, f"{word!r} visible before any choice"
    for q in questions:
        for o in q.options:
            assert o.why.replace("`", "")[:40] not in text, f"{q.id}: an explanation is visible before a choice"
    assert page.locator(".cq-why:visible").count() == 0
    # answer the first question of every chapter: a wrong option, then the right one
    first = 0
    for qf in files:
        q, card = qf.questions[0], cards.nth(first)
        first += len(qf.questions)
        wrong = next(k for k, o in enumerate(q.options) if not o.correct)
        for k in (wrong, q.answer):
            card.locator("summary").nth(k).click()
            shown = card.locator(".cq-opt").nth(k).locator(".cq-why")
            assert shown.is_visible(), f"{q.id}: choosing option {k} shows nothing"
            said = shown.inner_text()
            assert ("Correct." if k == q.answer else "Not quite.") in said, said
            assert q.options[k].why.split("`")[0].strip()[:30] in said
            assert "`" not in said, "raw backticks: code not rendered as code"
        assert card.locator(".cq-why:visible").count() == 2, "options not chosen stay closed"


def test_keyboard_and_light_card_in_a_dark_browser(page):
    first = page.locator(".cq").first
    first.locator("summary").first.focus()
    page.keyboard.press("Enter")
    assert first.locator(".cq-why:visible").count() == 1
    bg = first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert bg == "rgb(255, 255, 255)"
