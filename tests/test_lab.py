"""The README's open-course command: `make lab` generates the learner notebooks and serves
JupyterLab on 127.0.0.1, rooted at the learner folder, on chapter 00."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "course-test-token"
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))
import lab_settings  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.geturl()
    except urllib.error.HTTPError as err:
        return err.code, url


@pytest.fixture()
def lab_server(tmp_path):
    port = _free_port()
    args = f"--no-browser --IdentityProvider.token={TOKEN}"
    learner = tmp_path / "learner"
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "lab", f"LAB_PORT={port}",
         f"LAB_ARGS={args}", f"LEARNER={learner}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so teardown can stop make and jupyter together
    )
    yield proc, port, learner
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_make_lab_serves_the_learner_notebooks(lab_server):
    proc, port, learner = lab_server
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    status = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make lab exited with {proc.returncode}:\n{proc.stdout.read()}")
        try:
            status, _ = _get(f"{base}/lab?token={TOKEN}")
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    assert status == 200, f"/lab answered {status}"
    status, final_url = _get(f"{base}/?token={TOKEN}")
    assert status == 200 and urlsplit(final_url).path == "/lab/tree/00_start_here.ipynb", final_url
    for chapter in CHAPTERS:  # rooted at the learner folder: the committed notebooks are not there
        status, _ = _get(f"{base}/api/contents/{chapter.name}?token={TOKEN}&content=0")
        assert status == 200, f"{chapter.name}: no learner copy served"
        assert (learner / chapter.name).is_file()
    assert (learner / "quizzes").is_dir()
    status, _ = _get(f"{base}/api/contents/notebooks?token={TOKEN}&content=0")
    assert status == 404
    os.killpg(proc.pid, signal.SIGTERM)
    output = proc.communicate(timeout=20)[0]
    assert f"http://127.0.0.1:{port}/lab" in output, "the command must print the course URL"


def test_news_popup_is_switched_off():
    overrides = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    settings = json.loads(overrides.read_text())
    notification = settings["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}


def test_lab_settings_are_idempotent_and_respect_a_foreign_server_config(tmp_path, capsys):
    written = lab_settings.write(tmp_path)
    server = tmp_path / "etc" / "jupyter" / "jupyter_server_config.py"
    assert server in written and "pre_save_hook" in server.read_text()
    assert lab_settings.write(tmp_path) == [], "nothing to write the second time"
    server.write_text("c.ServerApp.port = 9999\n")
    assert lab_settings.write(tmp_path) == []
    assert server.read_text() == "c.ServerApp.port = 9999\n" and "left" in capsys.readouterr().out


def test_jupyterlab_saves_notebooks_through_the_pre_save_hook(tmp_path):
    """The venv's server config (written by `make`) installs tools/learner.py's pre-save hook."""
    lab_settings.write()
    run = subprocess.run(
        [str(Path(sys.prefix) / "bin" / "jupyter"), "lab", "--show-config", "--allow-root"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert re.search(r"pre_save_hook = <function pre_save_hook", run.stdout), run.stdout[-2000:]
    assert "Overriding existing pre_save_hook" not in run.stderr
