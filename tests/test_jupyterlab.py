"""JupyterLab as `make lab` starts it, and what a learner meets there.

One JupyterLab server for the module, started exactly as the README's `make lab` does it
(learner notebooks generated into a temporary LEARNER folder, served as the root, chapter 00
first), with test-only arguments: a token, its own settings and workspace folders (windowing
off, so every cell is in the page) and an in-memory trust database: nothing is trusted, so
JupyterLab sanitises the committed quiz HTML exactly as it does for a learner who opens a
chapter the first time. Copies of the committed chapters sit in its ``committed/`` folder.

Without a browser:
- `make lab` serves the learner notebooks (not the committed ones) on 127.0.0.1, opens chapter
  00 and prints the course URL;
- the running JupyterLab applies the course's settings (no news, no update check) and saves
  notebooks through the course's pre-save hook (a widget view without saved state is dropped);
- tools/lab_settings.py is idempotent and leaves a foreign server configuration alone.

In Chromium, one learner's session (two JupyterLab page loads):
- learner notebook: no outputs at all (the cell after a quiz shows nothing), stubs instead of
  solutions; the live quiz shows code as code and explains the chosen option;
- saved, then reopened in a new page beside the committed chapter: the learner's quiz shows its
  HTML form, never "Error displaying widget: model not found"; the committed notebook (never
  run, untrusted) shows no verdict or explanation before a choice, its solutions are collapsed,
  and opening an option shows its verdict and why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import lab_settings
import learner
import nbformat
import pytest
from course import QUIZ_CALL, QUIZ_DIR, chapters
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "course-test-token"
CHAPTERS = chapters()
DEAD_WIDGET = ("model not found", "Error displaying widget", "Loading widget")
VERDICTS = ("Correct", "Not quite", "\u2714", "\u2718")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quizzes(path: Path) -> list[tuple[int, str]]:
    nb = nbformat.read(path, as_version=4)
    return [
        (i, m.group(1))
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (m := QUIZ_CALL.search(c.source))
    ]


def _questions(path: Path) -> list[dict]:
    return json.loads((QUIZ_DIR / f"{path.stem}.json").read_text(encoding="utf-8"))["questions"]


def _whys(path: Path) -> list[str]:
    return [o["why"].replace("`", "")[:40] for q in _questions(path) for o in q["options"]]


def _answers(path: Path) -> list[str]:
    """The code lines between the solution markers (long enough to be telling)."""
    nb = nbformat.read(path, as_version=4)
    lines = []
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []) and learner.BEGIN in cell.source:
            region = cell.source.split(learner.BEGIN, 1)[1].split(learner.END, 1)[0]
            lines += [line.strip() for line in region.splitlines() if len(line.strip()) > 15]
    return lines


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.geturl()
    except urllib.error.HTTPError as err:
        return err.code, url


def _api(lab: Lab, method: str, path: str, body: object = None) -> object:
    request = urllib.request.Request(
        f"{lab.base}/{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


@dataclass
class Lab:
    base: str  # http://127.0.0.1:<port>
    root: Path  # the LEARNER folder it serves
    log: Path  # everything `make lab` printed


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab` on a free port with a temporary LEARNER folder (see the module docstring)."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "learner"
    settings = tmp / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port = _free_port()
    args = " ".join(
        [
            "--no-browser",
            f"--IdentityProvider.token={TOKEN}",
            f"--LabApp.user_settings_dir={tmp / 'settings'}",
            f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
            "--NotebookNotary.db_file=:memory:",
        ]
    )
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    env.update(JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    log_path = tmp / "make-lab.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed",
            "lab",
            f"LAB_PORT={port}",
            f"LAB_ARGS={args}",
            f"LEARNER={root}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so teardown can stop make and jupyter together
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    printed = log_path.read_text()[-3000:]
                    pytest.fail(f"make lab did not start JupyterLab:\n{printed}")
                time.sleep(0.3)
        (root / "committed").mkdir()
        for chapter in CHAPTERS:
            shutil.copy2(chapter, root / "committed" / chapter.name)
        yield Lab(base, root, log_path)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


# ---------------------------------------------------------------------- without a browser


def test_make_lab_serves_the_learner_notebooks(lab):
    status, _ = _get(f"{lab.base}/lab?token={TOKEN}")
    assert status == 200, f"/lab answered {status}"
    status, final_url = _get(f"{lab.base}/?token={TOKEN}")
    assert status == 200 and urlsplit(final_url).path == "/lab/tree/00_start_here.ipynb", final_url
    for chapter in CHAPTERS:  # rooted at the learner folder: the committed notebooks are not there
        status, _ = _get(f"{lab.base}/api/contents/{chapter.name}?token={TOKEN}&content=0")
        assert status == 200, f"{chapter.name}: no learner copy served"
    assert (lab.root / "quizzes").is_dir()
    status, _ = _get(f"{lab.base}/api/contents/notebooks?token={TOKEN}&content=0")
    assert status == 404
    printed = lab.log.read_text()
    assert f"http://127.0.0.1:{urlsplit(lab.base).port}/lab" in printed, (
        "the command must print the course URL"
    )
    assert "Overriding existing pre_save_hook" not in printed


def test_jupyterlab_applies_the_course_settings(lab):
    """No news pop-up, no update check and no build check: the server applies the venv's
    overrides and page configuration (written by tools/lab_settings.py) to what it sends to the
    page."""
    plugin = _api(lab, "GET", "lab/api/settings/@jupyterlab/apputils-extension:notification")
    defaults = {k: v.get("default") for k, v in plugin["schema"]["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults
    # No build check either: the page is told not to ask (the check runs Node.js on the server).
    with urllib.request.urlopen(f"{lab.base}/lab?token={TOKEN}", timeout=10) as response:
        html = response.read().decode()
    data = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                     html, re.S)
    page_config = json.loads(data.group(1))
    assert page_config["buildCheck"] is False and page_config["buildAvailable"] is False


def test_jupyterlab_saves_notebooks_through_the_pre_save_hook(lab):
    """A saved widget view whose state is not saved is dropped; the quiz's HTML stays."""
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    nb = new_notebook()
    nb.cells = [
        new_code_cell(
            'quiz(QUIZ, "an-id")',
            execution_count=1,
            outputs=[
                new_output(
                    "display_data",
                    data={learner.WIDGET_VIEW: view, "text/html": "<p>q</p>", "text/plain": "q"},
                )
            ],
        )
    ]
    _api(lab, "PUT", "api/contents/saved.ipynb", {"type": "notebook", "content": nb})
    saved = nbformat.read(lab.root / "saved.ipynb", as_version=4)
    assert saved.cells[0].outputs[0]["data"] == {"text/html": "<p>q</p>", "text/plain": "q"}


def test_lab_settings_are_idempotent_and_respect_a_foreign_server_config(tmp_path, capsys):
    written = lab_settings.write(tmp_path)
    server = tmp_path / "etc" / "jupyter" / "jupyter_server_config.py"
    assert server in written and "pre_save_hook" in server.read_text()
    page = tmp_path / "etc" / "jupyter" / "labconfig" / "page_config.json"
    assert json.loads(page.read_text()) == lab_settings.PAGE_CONFIG
    assert lab_settings.write(tmp_path) == [], "nothing to write the second time"
    server.write_text("c.ServerApp.port = 9999\n")
    assert lab_settings.write(tmp_path) == []
    assert server.read_text() == "c.ServerApp.port = 9999\n" and "left" in capsys.readouterr().out


# ---------------------------------------------------------------------------- in Chromium


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, f"page errors: {errors}"


def _open(page, base: str, path: str, cells: int):
    """Open one notebook in a workspace of its own (nothing else open), all cells rendered."""
    workspace = re.sub(r"[^a-z0-9]+", "-", path.lower())
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{path}?reset&token={TOKEN}")
    notebook = page.locator(".jp-NotebookPanel .jp-Notebook")
    notebook.wait_for(timeout=60_000)
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell').length >= n",
        arg=cells,
        timeout=30_000,
    )
    return notebook


def _open_side_by_side(page, lab: Lab, paths: list[str]) -> list:
    """Open the notebooks at `paths` side by side in one fresh JupyterLab page (a workspace
    written through the REST API, as JupyterLab itself saves them), every cell rendered.
    Returns each one's notebook, in the order of `paths`."""
    ids = [f"notebook:{path}" for path in paths]
    tabs = [{"type": "tab-area", "currentIndex": 0, "widgets": [i]} for i in ids]
    layout = {"type": "split-area", "orientation": "horizontal", "children": tabs,
              "sizes": [1 / len(paths)] * len(paths)}
    data = {i: {"data": {"path": path, "factory": "Notebook"}} for i, path in zip(ids, paths)}
    data["layout-restorer:data"] = {"main": {"dock": layout, "current": ids[0]}}
    _api(lab, "PUT", "lab/api/workspaces/side-by-side",
         {"data": data, "metadata": {"id": "side-by-side"}})
    page.goto(f"{lab.base}/lab/workspaces/side-by-side?token={TOKEN}")
    notebooks = []
    for path in paths:
        cells = len(nbformat.read(lab.root / path, as_version=4).cells)
        tab = page.locator(f'.lm-DockPanel-tabBar .lm-TabBar-tab[title*="Path: {path}"]')
        panel = page.locator(f"#{tab.get_attribute('data-id', timeout=60_000)}")
        notebook = panel.locator(".jp-Notebook")
        notebook.wait_for(timeout=60_000)
        page.wait_for_function(
            "([el, n]) => el.querySelectorAll('.jp-Cell').length >= n",
            arg=[notebook.element_handle(), cells],
            timeout=30_000,
        )
        notebooks.append(notebook)
    return notebooks


def _shot(locator, folder: Path | None, name: str) -> None:
    """With SCREENSHOTS=1, save what the learner sees (for reviewers)."""
    if folder is not None:
        (folder / "jupyterlab").mkdir(exist_ok=True)
        locator.screenshot(path=str(folder / "jupyterlab" / f"{name}.png"))


def _assert_no_dead_widgets(notebook, where: str) -> None:
    text = notebook.inner_text()
    for phrase in DEAD_WIDGET:
        assert phrase not in text, f"{where}: shows {phrase!r}"


def _assert_cards_hide_answers(notebook, path: Path, where: str) -> None:
    """Every quiz card shows its prompt and options only: no verdict, no explanation."""
    cards = notebook.locator(".cq")
    shown = "\n".join(cards.nth(i).inner_text() for i in range(cards.count()))
    for word in VERDICTS:
        assert word not in shown, f"{where}: {word!r} visible in a quiz before any choice"
    for why in _whys(path):
        assert why not in shown, f"{where}: an explanation is visible before a choice: {why!r}"
    assert notebook.locator(".cq-why:visible").count() == 0


def _check_committed(notebook, path: Path, screenshots) -> None:
    """A committed chapter opened untrusted: one card per quiz, no verdict or explanation and no
    form control before a choice, no dead widget, solutions collapsed; choosing an option
    reveals its verdict and why, on a card that keeps its light look."""
    name = path.name
    nb = nbformat.read(path, as_version=4)
    cells = notebook.locator(".jp-Cell")
    notebook.locator(".cq").first.wait_for(timeout=30_000)
    assert notebook.locator(".cq").count() == len(_quizzes(path)), "one quiz card per quiz cell"
    _assert_cards_hide_answers(notebook, path, name)
    text = notebook.inner_text()
    assert notebook.locator("input[type=radio]").count() == 0, (
        "no form controls for the sanitiser to disable"
    )
    _assert_no_dead_widgets(notebook, name)
    # Solutions are collapsed (jupyter.source_hidden): their answer lines are nowhere on screen.
    for i, cell in enumerate(nb.cells):
        if "solution" in cell.metadata.get("tags", []):
            assert not cells.nth(i).locator(".jp-Cell-inputArea").is_visible(), (
                f"cell {i}: solution shown"
            )
            assert cells.nth(i).locator(".jp-InputPlaceholder").is_visible()
    for line in _answers(path):
        assert line not in text, f"{name}: solution code visible: {line!r}"
    # Choosing an option reveals its verdict and why; the card keeps its light look untrusted.
    card = notebook.locator(".cq").first
    card.scroll_into_view_if_needed()
    assert card.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
    _shot(card, screenshots, "committed-quiz-before-choice")
    card.locator("summary").nth(1).click()
    _shot(card, screenshots, "committed-quiz-after-choice")
    shown = card.locator(".cq-why:visible")
    assert shown.count() == 1
    said = shown.inner_text()
    assert "Correct." in said or "Not quite." in said
    assert len(said) > 40 and "`" not in said


def test_learner_notebook_then_reopened_beside_the_committed_chapter(lab, page, screenshots):
    """The learner's copy: no outputs, stubs, a live quiz; saved, then reopened beside the
    committed chapter, which a learner may open straight from a clone (see _check_committed)."""
    base = lab.base
    chapter = next(p for p in CHAPTERS if _quizzes(p) and _answers(p))
    path = lab.root / chapter.name
    nb = nbformat.read(path, as_version=4)
    notebook = _open(page, base, chapter.name, len(nb.cells))
    cells = notebook.locator(".jp-Cell")
    assert notebook.locator(".jp-OutputArea-output").count() == 0, (
        "a learner notebook starts without outputs"
    )
    for index, _ in _quizzes(path):
        assert cells.nth(index + 1).locator(".jp-OutputArea-output").count() == 0
    text = notebook.inner_text()
    for line in _answers(ROOT / "notebooks" / chapter.name):
        assert line not in text, f"solution code in the learner notebook: {line!r}"
    stub = next(i for i, c in enumerate(nb.cells) if "solution" in c.metadata.get("tags", []))
    cells.nth(stub).scroll_into_view_if_needed()
    assert cells.nth(stub).locator(".jp-Cell-inputArea").is_visible(), (
        "the stub is where the learner writes"
    )
    assert "your code here" in cells.nth(stub).inner_text()
    _shot(cells.nth(stub), screenshots, "learner-stub")

    # Run the set-up cells (the Colab cell, a no-op here, and the imports) and the first quiz.
    quiz_index, quiz_id = _quizzes(path)[0]
    setup = [i for i, c in enumerate(nb.cells[:quiz_index]) if c.cell_type == "code"]
    for index in (*setup, quiz_index):
        cells.nth(index).scroll_into_view_if_needed()
        cells.nth(index).locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
    output = cells.nth(quiz_index).locator(".jp-OutputArea-output")
    output.locator(".widget-toggle-buttons").wait_for(timeout=90_000)
    _shot(output, screenshots, "learner-live-quiz-before-choice")
    live = output.inner_text()
    for word in VERDICTS:
        assert word not in live, f"live quiz: {word!r} visible before a choice"
    assert "`" not in live and output.locator("code").count() >= 1, (
        "code renders as code in the live form"
    )
    question = next(q for q in _questions(path) if q["id"] == quiz_id)
    output.locator(".widget-toggle-button", has_text="B").click()
    option = question["options"][1]
    expected = "Correct." if option["correct"] else "Not quite."
    page.wait_for_function(
        "([el, t]) => el.innerText.includes(t)", arg=[output.element_handle(), expected]
    )
    said = output.inner_text()
    _shot(output, screenshots, "learner-live-quiz-after-choice")
    assert option["why"].replace("`", "")[:40] in said and "`" not in said

    # Saved and reopened: the file keeps no widget view (pre-save hook), the page shows the quiz's
    # HTML form, never a dead widget.
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 20
    while True:
        try:  # the server rewrites the file in place: it may be half written when read
            saved = nbformat.read(path, as_version=4)
            if saved.cells[quiz_index].outputs:
                break
        except (ValueError, nbformat.reader.NotJSONError):
            pass
        assert time.monotonic() < deadline, "the notebook was not saved"
        time.sleep(0.3)
    data = saved.cells[quiz_index].outputs[0]["data"]
    assert learner.WIDGET_VIEW not in data and "text/html" in data, sorted(data)
    assert "widgets" not in saved.metadata
    # Reopened (a new page load), beside the committed chapter (never run, so untrusted): one
    # JupyterLab load shows both.
    reopened, committed = _open_side_by_side(page, lab, [chapter.name, f"committed/{chapter.name}"])
    reopened.locator(".cq").first.wait_for(timeout=30_000)
    _assert_no_dead_widgets(reopened, f"learner/{chapter.name} reopened")
    _assert_cards_hide_answers(reopened, path, f"learner/{chapter.name} reopened")
    _shot(reopened.locator(".cq").first, screenshots, "learner-quiz-reopened")
    _check_committed(committed, lab.root / "committed" / chapter.name, screenshots)
