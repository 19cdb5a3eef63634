"""Configure JupyterLab inside the venv: no news pop-up, no update or build check, no dead widgets.

Run by `make` after installing and by every `make lab` (cheap, idempotent). Writes:

- ``<sys.prefix>/share/jupyter/lab/settings/overrides.json``: JupyterLab's app-level overrides;
- ``<sys.prefix>/etc/jupyter/labconfig/page_config.json``: no build check. Learners never
  build extensions, and each page load would otherwise run Node.js three times on the server
  (``node-version-check.js``, ``yarn config``), where Node.js is installed at all;
- ``<sys.prefix>/etc/jupyter/jupyter_server_config.py``: the Jupyter server's pre-save hook
  ``tools/learner.py:pre_save_hook``, which drops widget views without saved state from saved
  notebooks (reopened later, they would show "Error displaying widget: model not found"; the
  quiz's static HTML in the same output remains).
"""

import json
import os
import sys
from pathlib import Path

OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}
}
PAGE_CONFIG = {"buildCheck": False, "buildAvailable": False}
TOOLS = Path(__file__).resolve().parent
MARK = "# Written by tools/lab_settings.py of the course 'Copy semantics in PyTorch'."
SERVER_CONFIG = f"""{MARK}
# Saved notebooks keep no widget view whose state is not saved (see tools/learner.py).
import importlib.util as _util
import sys as _sys
import warnings as _warnings

if {str(TOOLS)!r} not in _sys.path:  # learner.py reads the course's rules from course.py
    _sys.path.insert(0, {str(TOOLS)!r})
_spec = _util.spec_from_file_location("course_learner", {str(TOOLS / "learner.py")!r})
_learner = _sys.modules["course_learner"] = _util.module_from_spec(_spec)
_spec.loader.exec_module(_learner)
c.FileContentsManager.pre_save_hook = _learner.pre_save_hook  # noqa: F821 - c: the config
# JupyterLab applies the server config twice; the second time traitlets warns about "overriding"
# the hook with itself.
_warnings.filterwarnings("ignore", message="Overriding existing pre_save_hook")
"""


def _put(path: Path, text: str) -> list[Path]:
    """Write ``text`` unless it is there already; atomically (a server may be reading it)."""
    if path.is_file() and path.read_text() == text:
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return [path]


def write(prefix: Path = Path(sys.prefix)) -> list[Path]:
    """Write the three files under ``prefix`` where they differ; returns the files written. A server
    config that the course did not write is left alone (with a warning)."""
    overrides = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    written = _put(overrides, json.dumps(OVERRIDES, indent=2) + "\n")
    page = prefix / "etc" / "jupyter" / "labconfig" / "page_config.json"
    config = json.loads(page.read_text()) if page.is_file() else {}  # keep what others set
    written += _put(page, json.dumps({**config, **PAGE_CONFIG}, indent=2) + "\n")
    server = prefix / "etc" / "jupyter" / "jupyter_server_config.py"
    if server.exists() and not server.read_text().startswith(MARK):
        print(
            f"left {server} alone (not written by the course): "
            "saved notebooks may keep dead widget views"
        )
        return written
    return written + _put(server, SERVER_CONFIG)


if __name__ == "__main__":
    for path in write():
        print(f"wrote {path}")
