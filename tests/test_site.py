"""The course website: built from the committed outputs, then checked in a real browser.

All site tests live in this one file so that, under `pytest -n 2 --dist loadfile`, a single
worker builds the site once (`make site`) and serves it on 127.0.0.1.

- Without a browser: the build passes with warnings as errors, every chapter has a page, every
  page names the torch version, and no page loads anything from another host.
- With Chromium (Debian's, driven by Playwright): every page loads without page errors and
  without any request leaving 127.0.0.1, figures have loaded, chapters have headings and code,
  previous/next links lead through the course in order, a quiz answers a click (with and
  without JavaScript, by mouse and keyboard) and stays a light, readable card in the dark
  theme, search finds the helpers. With SCREENSHOTS=1 each page is saved (light and dark)
  under test-artifacts/site/.
"""
from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from course import chapters, torch_pin

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "_build" / "html"
CHAPTERS = [p.stem for p in chapters()]
TORCH_VERSION = torch_pin()


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def site() -> Path:
    """Build the site once, exactly as `make site` does (the venv is taken as up to date)."""
    start = time.perf_counter()
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "site"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, f"`make site` failed:\n{result.stdout}\n{result.stderr}"
    print(f"site built in {seconds:.1f} s")
    return SITE


@pytest.fixture(scope="module")
def server(site: Path):
    """Serve the built site on 127.0.0.1 from a free port; yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:
            pass  # a browser that cancels a request (navigation) is not an error of the site

    httpd = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


# Every URL but the site's own (http://127.0.0.1:<port>/...) and the browser's inline ones.
_ELSEWHERE = re.compile(r"^(?!(https?://127\.0\.0\.1[:/])|data:|blob:|about:)")


class Visit:
    """A page in a context of its own that records page errors and every request."""

    def __init__(
        self, browser, base: str, color_scheme: str = "light", javascript: bool = True
    ):
        self.base = base
        self.javascript = javascript
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.failed: list[str] = []
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 900},
            color_scheme=color_scheme,
            java_script_enabled=javascript,
        )
        # Only requests that leave 127.0.0.1 are intercepted (recorded and refused); routing
        # every request would also switch the browser's cache off for the site's own files.
        self.context.route(_ELSEWHERE, self._refuse)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", self._failed)
        self.page.on(
            "response",
            lambda r: r.status >= 400 and self.failed.append(f"{r.url} (HTTP {r.status})"),
        )

    def _failed(self, request) -> None:
        if request.resource_type == "script" and not self.javascript:
            return  # scripts switched off: the browser refuses them
        self.failed.append(f"{request.url} ({request.failure})")

    def _refuse(self, route) -> None:
        url = route.request.url
        assert urlparse(url).hostname != "127.0.0.1", f"{url} was routed as foreign"
        self.foreign.append(url)
        route.abort()

    def open(self, path: str):
        self.page.goto(f"{self.base}/{path}", wait_until="load")
        return self.page

    def forget(self) -> None:
        """Start a new record (one context serves many tests: see the `visit` fixture)."""
        self.errors.clear()
        self.foreign.clear()
        self.failed.clear()

    def assert_clean(self) -> None:
        assert not self.foreign, f"requests to hosts other than 127.0.0.1: {self.foreign}"
        assert not self.errors, f"page errors: {self.errors}"
        assert not self.failed, f"failed requests: {self.failed}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def _light(server: str, browser):
    visit = Visit(browser, server)
    yield visit
    visit.close()


@pytest.fixture
def visit(_light: Visit) -> Visit:
    """One light-theme page with JavaScript, shared by the tests of this module: a fresh
    context per page costs a new renderer process each time, about half a second of CPU, and
    proves nothing more (every request of every page is still recorded, from an empty record
    for each test)."""
    _light.forget()
    return _light


def _pages(site: Path) -> list[str]:
    """Every content page of the site, in reading order: landing, chapters, instructor pages,
    the rest."""
    chapters = [f"notebooks/{c}.html" for c in CHAPTERS]
    special = {"index.html", "search.html", "genindex.html", "py-modindex.html"}
    others = sorted(
        (
            p.relative_to(site).as_posix()
            for p in site.rglob("*.html")
            if not p.relative_to(site).as_posix().startswith(("_", "notebooks/"))
            and p.name not in special
        ),
        key=lambda page: (not page.startswith("instructor"), page),
    )
    return ["index.html", *chapters, *others]


# ------------------------------------------------------------------- build (no browser)


# <link rel=...> values that name a page to go to, not a resource the page loads.
_NAVIGATION = {"canonical", "next", "prev", "index", "search", "author", "license", "help"}


class _Resources(HTMLParser):
    """Collects the URLs a page loads by itself (scripts, stylesheets, images, frames...)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in {"script", "img", "iframe", "audio", "video", "source", "embed"} and a.get("src"):
            self.urls.append(a["src"])
        if tag == "link" and a.get("href") and not set((a.get("rel") or "").split()) <= _NAVIGATION:
            self.urls.append(a["href"])
        if tag == "object" and a.get("data"):
            self.urls.append(a["data"])


def test_site_builds_with_every_chapter_and_no_cdn(site: Path):
    assert CHAPTERS, "no notebooks found"
    for chapter in CHAPTERS:
        assert (site / "notebooks" / f"{chapter}.html").is_file(), f"no page for {chapter}"
    assert (site / "api.html").is_file() and (site / "search.html").is_file()
    api = (site / "api.html").read_text(encoding="utf-8")
    modules = sorted(p.stem for p in (ROOT / "helpers").glob("*.py") if not p.stem.startswith("_"))
    for module in modules:
        assert f'id="module-helpers.{module}"' in api, (
            f"helpers.{module} missing from the API reference"
        )
    assert api.count('<dl class="py function">') >= 5, "the API reference documents no functions"

    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= len(CHAPTERS) + 2
    remote = re.compile(r"^(https?:)?//", re.I)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        name = page.relative_to(site).as_posix()
        parser = _Resources()
        parser.feed(html)
        loaded_from_elsewhere = [u for u in parser.urls if remote.match(u)]
        assert not loaded_from_elsewhere, f"{name} loads from other hosts: {loaded_from_elsewhere}"
        if not name.startswith("_"):
            assert f"torch {TORCH_VERSION}" in html, (
                f"{name} does not say which torch version it was verified with"
            )
        assert "widget-view+json" not in html, f"{name} shows a widget view: no page can run one"


# ------------------------------------------------------------------------ in the browser


def _shot(page, folder: Path | None, name: str) -> None:
    """With SCREENSHOTS=1, save the whole page as a learner sees it: the viewport grows to the
    page's height so the sticky sidebars and header are drawn once, in place, instead of
    wherever the page was scrolled."""
    if folder is None:
        return
    (folder / "site").mkdir(exist_ok=True)
    page.evaluate(
        "() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }"
    )
    page.wait_for_timeout(250)  # let the theme's scroll-spy settle on the top of the page
    size = page.viewport_size
    height = page.evaluate("document.documentElement.scrollHeight")
    tall = max(size["height"], min(height, 20000))
    page.set_viewport_size({"width": size["width"], "height": tall})
    page.screenshot(path=str(folder / "site" / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)


def _check_figures(page, where: str) -> None:
    sizes = page.evaluate(
        """async () => {
            const imgs = [...document.querySelectorAll('article img, main img')];
            imgs.forEach(i => { i.loading = 'eager'; });
            await Promise.all(imgs.map(i => i.decode().catch(() => null)));
            return imgs.map(i => [i.getAttribute('src'), i.naturalWidth]);
        }"""
    )
    broken = [src for src, width in sizes if not width]
    assert not broken, f"{where}: figures that did not load: {broken}"


def _check_quiz(page, where: str) -> int:
    """Answer the first quiz on the page by clicking: a wrong option, then the right one.

    Before any click no verdict and no explanation is visible; opening an option shows its own.
    """
    quizzes = page.locator(".cq")
    if quizzes.count() == 0:
        return 0
    for i in range(quizzes.count()):
        text = quizzes.nth(i).inner_text()
        assert "Correct" not in text and "Not quite" not in text, (
            f"{where}: quiz {i} shows a verdict before any choice"
        )
    quiz = quizzes.first
    quiz.scroll_into_view_if_needed()
    options = quiz.locator("details.cq-opt")
    assert options.count() >= 2, f"{where}: a quiz with fewer than two options"
    assert quiz.locator(".cq-why:visible").count() == 0, (
        f"{where}: feedback visible before a choice"
    )
    verdicts = [
        options.nth(i).locator(".cq-why").get_attribute("data-verdict")
        for i in range(options.count())
    ]
    for verdict in ("wrong", "correct"):
        option = options.nth(verdicts.index(verdict))
        option.locator("summary").click()
        why = option.locator(".cq-why")
        why.wait_for(state="visible", timeout=2000)
        expected = "Correct" if verdict == "correct" else "Not quite"
        assert expected in why.inner_text(), (
            f"{where}: feedback for a {verdict} answer lacks '{expected}'"
        )
    return quizzes.count()


def _same_page(path: str | None) -> str | None:
    """A page's path with ``index.html`` dropped: ``a/`` and ``a/index.html`` are one page."""
    return None if path is None else path.removesuffix("index.html")


def _link(page, base: str, selector: str) -> str | None:
    """Where a link on the page leads, relative to the site root (None if there is none)."""
    link = page.locator(selector)
    if link.count() == 0:
        return None
    target = urljoin(page.url, link.first.get_attribute("href")).split("#")[0]
    assert target.startswith(base + "/"), f"{selector} leads off the site: {target}"
    return _same_page(target.removeprefix(base + "/"))


def _asks_quizzes(chapter: str) -> bool:
    cells = json.loads((ROOT / "notebooks" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in cells["cells"] if c["cell_type"] == "code")
    return bool(re.search(r"^\s*quiz\(", code, re.M))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_in_browser(chapter: str, server: str, browser, visit: Visit, site: Path,
                                 screenshots):
    pages = _pages(site)
    path = f"notebooks/{chapter}.html"
    position = pages.index(path)
    page = visit.open(path)
    assert page.locator("article h1").count() == 1, "a chapter has exactly one title"
    assert page.locator("article h2").count() >= 2, "a chapter has sections"
    assert page.locator("article .cell .cell_input").count() >= 1, "no code cells"
    assert page.get_by_text(f"torch {TORCH_VERSION}").first.is_visible()
    _check_figures(page, path)
    quizzes = _check_quiz(page, path)
    if _asks_quizzes(chapter):
        assert quizzes, f"{chapter} calls quiz() but its page shows no quiz"
    _shot(page, screenshots, chapter)
    # previous / next lead through the course in reading order (plain links: where their
    # href points is where a click goes; every target page is opened by its own test)
    following = pages[position + 1] if position + 1 < len(pages) else None
    assert _link(page, server, "a.right-next") == _same_page(following), f"next of {path}"
    previous = pages[position - 1]
    assert _link(page, server, "a.left-prev") == _same_page(previous), f"previous of {path}"
    visit.assert_clean()
    if screenshots:  # the dark theme itself is checked once, on a quiz page, below
        dark = Visit(browser, server, color_scheme="dark")
        try:
            _shot(dark.open(path), screenshots, f"{chapter}-dark")
            dark.assert_clean()
        finally:
            dark.close()


def _quiz_page() -> str:
    """The first chapter after the introduction that asks quizzes."""
    return next(f"notebooks/{c}.html" for c in CHAPTERS[1:] if _asks_quizzes(c))


def test_quiz_in_the_dark_theme_stays_a_light_readable_card(server: str, browser, screenshots):
    path = _quiz_page()
    dark = Visit(browser, server, color_scheme="dark")
    try:
        page = dark.open(path)
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        _check_figures(page, path + " (dark)")
        card = page.locator(".cq").first
        assert card.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
        _check_quiz(page, path + " (dark)")
        dark.assert_clean()
    finally:
        dark.close()


def test_quiz_without_javascript_by_mouse_and_keyboard(server: str, browser):
    """The cards are plain <details>: they work where scripts are off, and from the keyboard."""
    path = _quiz_page()
    visit = Visit(browser, server, javascript=False)
    try:
        page = visit.open(path)
        card = page.locator(".cq").first
        card.locator("summary").first.focus()
        page.keyboard.press("Enter")
        assert card.locator(".cq-why:visible").count() == 1, "Enter on an option opens it"
        page.keyboard.press("Enter")
        assert card.locator(".cq-why:visible").count() == 0, "Enter again closes it"
        _check_quiz(page, path + " (no JavaScript)")
        visit.assert_clean()
    finally:
        visit.close()


def test_other_pages_and_search_in_browser(visit: Visit, site: Path, screenshots):
    for path in _pages(site):
        if path.startswith("notebooks/"):
            continue
        page = visit.open(path)
        assert page.locator("article h1").count() >= 1, f"{path} has no title"
        _check_figures(page, path)
        _shot(page, screenshots, path.removesuffix(".html").replace("/", "_"))
    page = visit.open("index.html")
    for chapter in CHAPTERS:
        link = page.locator(f'article a[href="notebooks/{chapter}.html"]')
        assert link.count() >= 1, f"landing page lacks {chapter}"
    page = visit.open("search.html?q=shares_storage")
    page.locator("#search-results li").first.wait_for(timeout=10000)
    assert page.locator("#search-results li").count() >= 1
    _shot(page, screenshots, "search")
    visit.assert_clean()
