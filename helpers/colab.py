"""Google Colab: make a chapter opened from GitHub find the course; a no-op anywhere else.

A notebook that Colab opens from GitHub arrives alone: no ``helpers`` package, no quiz files.
The first code cell of every chapter (:func:`first_cell`) therefore clones the repository when
(and only when) it runs on Colab, from a URL the cell names, ``$COURSE_REPO_URL`` or the one the
learner pastes, and calls :func:`bootstrap`, which

- makes ``import helpers`` work in the kernel and in processes it starts (a ``.pth`` file),
- moves into the clone's ``notebooks/`` folder, so ``quizzes/NN_name.json`` is found,
- installs a package the chapters import only if Colab lacks it, at the version the course pins,
- keeps Colab's own torch by default (no download): chapter 00 prints which version the outputs
  were recorded with, and each chapter's checks say which claims hold on Colab's. With
  ``COURSE_TORCH=pinned`` in the environment (or ``torch="pinned"``) it installs the recorded
  version's CPU-only build from PyTorch's CPU index instead (about 200 MB), before torch is
  imported.

Off Colab nothing happens:

>>> bootstrap("/nonexistent/course")
[]
"""
from __future__ import annotations

import importlib.util
import os
import re
import site
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["COURSE_REPO", "CPU_INDEX", "bootstrap", "first_cell", "on_colab", "pinned_versions",
           "set_first_cell"]

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# What the chapters import at run time, by module name -> project name in the lock.
# The course's public clone URL, empty until someone publishes it. Set it here, then run
# `python -m helpers.colab notebooks/*.ipynb` to write it into every chapter's first cell.
COURSE_REPO = ""
RUNTIME = {"torch": "torch", "numpy": "numpy", "matplotlib": "matplotlib",
           "ipywidgets": "ipywidgets", "IPython": "ipython"}


_FIRST_CELL = """\
# Colab set-up: on Google Colab, fetch the course and its helpers; elsewhere, do nothing.
import sys

# The course's clone URL, if whoever published the course set it; else the cell asks for it.
COURSE_REPO = "{repo_url}"

if "google.colab" in sys.modules:
    import os
    import pathlib
    import subprocess

    COURSE = pathlib.Path("{course_dir}")
    if not COURSE.exists():
        url = COURSE_REPO or os.environ.get("COURSE_REPO_URL", "") or input(
            "This chapter needs the rest of the course. Paste the URL of the GitHub repository "
            "you opened it from (https://github.com/OWNER/REPO): "
        ).strip()
        if not url:
            raise ValueError("no repository URL: run this cell again and paste it")
        subprocess.run(["git", "clone", "-q", "--depth=1", url, str(COURSE)], check=True)
    sys.path.insert(0, str(COURSE))
    from helpers.colab import bootstrap

    bootstrap(COURSE)"""


def first_cell(
    repo_url: str = COURSE_REPO, course_dir: str = "/content/copy-semantics-pytorch"
) -> str:
    """The source of the first code cell every chapter carries for Colab (chapters hold
    ``first_cell()``, with an empty ``COURSE_REPO``).

    On Colab the cell clones the course from, in this order: ``COURSE_REPO`` in the cell
    (``repo_url`` here; a maintainer publishing the course may set it), the environment variable
    ``COURSE_REPO_URL``, or the URL the learner pastes when ``input()`` asks for it (they opened
    the chapter from GitHub, so they know it). Off Colab it does nothing and prints nothing.

    >>> print(first_cell().splitlines()[0])
    # Colab set-up: on Google Colab, fetch the course and its helpers; elsewhere, do nothing.
    >>> 'COURSE_REPO = "https://github.com/O/R"' in first_cell("https://github.com/O/R")
    True
    """
    if not isinstance(repo_url, str) or '"' in repo_url or "\\" in repo_url:
        raise TypeError(f"repo_url must be a clone URL as a str (or empty), got {repo_url!r}")
    return _FIRST_CELL.format(repo_url=repo_url, course_dir=course_dir)


def on_colab() -> bool:
    """Whether this kernel runs on Google Colab (its ``google.colab`` module is loaded).

    >>> on_colab()
    False
    """
    return "google.colab" in sys.modules


def pinned_versions(lock_text: str) -> dict[str, str]:
    """Versions the lock pins for the runtime packages on Linux (Colab runs Linux).

    >>> lock = ['numpy==2.4.6', 'torch==2.13.0+cpu ; sys_platform != "darwin"',
    ...         'torch==2.13.0 ; sys_platform == "darwin"']
    >>> pinned_versions("\\n".join(lock))
    {'numpy': '2.4.6', 'torch': '2.13.0+cpu'}
    """
    if not isinstance(lock_text, str):
        raise TypeError(f"lock_text must be the text of requirements.lock, got {type(lock_text)}")
    found: dict[str, str] = {}
    wanted = {name.lower() for name in RUNTIME.values()}
    for line in lock_text.splitlines():
        match = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;]+)\s*(?:;\s*(.*))?$", line.strip())
        if not match or match.group(1).lower() not in wanted:
            continue
        marker = match.group(3) or ""
        if "darwin" in marker and "!=" not in marker or "win32" in marker and "!=" not in marker:
            continue  # a line for macOS or Windows only
        found.setdefault(match.group(1).lower(), match.group(2))
    return found


def _pip(args: Sequence[str]) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], check=True)


def bootstrap(
    course_dir: str | Path,
    torch: str | None = None,
    *,
    colab: bool | None = None,
    pip: Callable[[Sequence[str]], None] = _pip,
) -> list[str]:
    """Set a Colab kernel up for the course at ``course_dir``; return what it did ([] off Colab).

    ``torch`` is ``"keep"`` (default, or ``$COURSE_TORCH``) or ``"pinned"``. ``colab`` and ``pip``
    exist for tests (``colab=None`` asks :func:`on_colab`).
    """
    if not (on_colab() if colab is None else colab):
        return []
    mode = torch or os.environ.get("COURSE_TORCH", "keep")
    if mode not in {"keep", "pinned"}:
        raise ValueError(f'torch must be "keep" or "pinned", got {mode!r}')
    course = Path(course_dir).resolve()
    if not (course / "helpers").is_dir() or not (course / "requirements.lock").is_file():
        raise FileNotFoundError(f"{course} is not a copy of the course (no helpers/ or lock)")
    done = []
    if str(course) not in sys.path:
        sys.path.insert(0, str(course))
    pth = Path(site.getsitepackages()[0]) / "copy_semantics_course.pth"
    if not pth.is_file() or pth.read_text().strip() != str(course):
        pth.write_text(str(course) + "\n")  # child processes (chapter 09) import helpers too
        done.append(f"helpers importable from {course}")
    os.chdir(course / "notebooks")
    pins = pinned_versions((course / "requirements.lock").read_text())
    missing = [project for module, project in RUNTIME.items()
               if module != "torch" and importlib.util.find_spec(module) is None]
    if missing:
        pip([f"{p}=={pins[p]}" for p in missing if p in pins])
        done.append("installed " + ", ".join(missing))
    have = _torch_version()
    want = pins.get("torch", "")
    if have is None or (mode == "pinned" and have != want):
        if "torch" in sys.modules:
            raise RuntimeError("torch is already imported in this kernel: restart it "
                               "(Runtime > Restart session) and run this cell first")
        pip(["--index-url", CPU_INDEX, f"torch=={want}"])
        done.append(f"installed torch {want} (CPU-only)")
        have = want
    recorded = want.split("+")[0]
    note = "" if have.split("+")[0] == recorded else (
        f"; the outputs were recorded with {recorded}, and each chapter's checks say which "
        "claims hold on this version")
    print(f"Colab: course ready in {course}, torch {have}{note}")
    return done


def _torch_version() -> str | None:
    if importlib.util.find_spec("torch") is None:
        return None
    from importlib.metadata import version

    return version("torch")


def set_first_cell(path: str | Path, source: str | None = None) -> bool:
    """Make ``source`` (default :func:`first_cell`) the first code cell of the notebook at
    ``path``: replace a Colab cell already there, else insert one before the first code cell.
    Return whether the file changed. Other cells are kept as they are: re-execute the notebook
    (``make refresh``) after an insertion so execution counts run 1, 2, ... again.
    """
    import nbformat

    text = first_cell() if source is None else source
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    first = nb.cells[index] if index < len(nb.cells) else None
    if first is not None and first.source.startswith(text.splitlines()[0]):
        if first.source == text:
            return False
        first.source = text
    else:
        cell = nbformat.v4.new_code_cell(text, id="colab-setup")  # type: ignore[no-untyped-call]
        nb.cells.insert(index, cell)
    nbformat.write(nb, path)  # type: ignore[no-untyped-call]
    return True


if __name__ == "__main__":  # python -m helpers.colab notebooks/*.ipynb
    for name in sys.argv[1:]:
        print(("updated " if set_first_cell(name) else "unchanged ") + name)
