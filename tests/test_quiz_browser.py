"""The static quiz page works as a plain file in a real browser, offline: choose, see why, reveal.

Drives Debian's Chromium through Playwright (fixture ``chromium_path`` in conftest.py: skipped
with a reason where Chromium is missing, a failure when CI=true).
"""
from pathlib import Path

import pytest

from helpers.quiz import LETTERS, load_quiz, quiz_page

CH01 = Path(__file__).resolve().parents[1] / "notebooks" / "quizzes" / "01_assignment_aliasing.json"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser_page(chromium_path, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    page_file = tmp_path / "quiz.html"
    page_file.write_text(quiz_page(CH01), encoding="utf-8")
    requests: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
        try:
            context = browser.new_context(color_scheme="dark", viewport={"width": 1000, "height": 900})
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(page_file.as_uri())
            yield page
        finally:
            browser.close()
    foreign = [u for u in requests if not u.startswith(("file://", "data:", "about:"))]
    assert foreign == [], f"the quiz page made network requests: {foreign}"
    assert errors == [], f"browser errors: {errors}"


def test_choose_wrong_then_right_offline(browser_page):
    page = browser_page
    qf = load_quiz(CH01)
    quizzes = page.locator(".cq")
    assert quizzes.count() == len(qf.questions)
    for q, box in zip(qf.questions, (quizzes.nth(i) for i in range(len(qf.questions)))):
        assert box.locator(".cq-why:visible").count() == 0, f"{q.id}: feedback shown before a choice"
        wrong = next(i for i, o in enumerate(q.options) if not o.correct)
        box.locator(".cq-opt label").nth(wrong).click()
        shown = box.locator(".cq-why:visible")
        assert shown.count() == 1
        text = shown.inner_text()
        assert "Not quite." in text and q.options[wrong].why.split("`")[0].strip() in text, text
        box.locator(".cq-opt label").nth(q.answer).click()
        shown = box.locator(".cq-why:visible")
        assert shown.count() == 1 and "Correct." in shown.inner_text()
        assert box.locator("input[type=radio]:checked").get_attribute("value") == LETTERS[q.answer]
        # "Show the answer" reveals the right option and its explanation
        details = box.locator("details")
        assert not details.locator("p").is_visible()
        details.locator("summary").click()
        assert details.locator("p").is_visible()
        assert f"{LETTERS[q.answer]}." in details.locator("p").inner_text()


def test_keyboard_and_dark_theme(browser_page):
    page = browser_page
    first = page.locator(".cq").first
    first.locator("input[type=radio]").first.focus()
    page.keyboard.press("Space")
    assert first.locator(".cq-why:visible").count() == 1
    page.keyboard.press("ArrowDown")
    assert first.locator("input[type=radio]:checked").get_attribute("value") == "B"
    # opaque light card even when the browser prefers a dark theme
    bg = first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert bg == "rgb(255, 255, 255)"
