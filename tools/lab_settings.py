"""Write JupyterLab's app-level overrides into the venv: no news pop-up, no update check.

Run by `make` after installing; JupyterLab reads `<sys.prefix>/share/jupyter/lab/settings/`.
"""
import json
import sys
from pathlib import Path

OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}
}

target = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
target.parent.mkdir(parents=True, exist_ok=True)
target.write_text(json.dumps(OVERRIDES, indent=2) + "\n")
print(f"wrote {target}")
