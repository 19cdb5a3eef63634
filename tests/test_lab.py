"""The README's open-course command: `make lab` serves JupyterLab on 127.0.0.1 at chapter 00."""
import json
import os
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
def lab_server():
    port = _free_port()
    args = f"--no-browser --IdentityProvider.token={TOKEN}"
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_PORT={port}", f"LAB_ARGS={args}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so teardown can stop make and jupyter together
    )
    yield proc, port
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_make_lab_serves_the_course(lab_server):
    proc, port = lab_server
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
    assert status == 200 and urlsplit(final_url).path == "/lab/tree/notebooks/00_start_here.ipynb", final_url
    status, _ = _get(f"{base}/api/contents/notebooks/00_start_here.ipynb?token={TOKEN}&content=0")
    assert status == 200
    os.killpg(proc.pid, signal.SIGTERM)
    output = proc.communicate(timeout=20)[0]
    assert f"http://127.0.0.1:{port}/lab" in output, "the command must print the course URL"


def test_news_popup_is_switched_off():
    overrides = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    settings = json.loads(overrides.read_text())
    notification = settings["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
