"""Learner notebooks: what `make lab` opens, generated from the committed chapters.

The committed ``notebooks/NN_*.ipynb`` keep their full outputs (the regression oracle, the
website, the instructor's copy). A learner works in copies generated into a git-ignored folder
(``learner/`` by default):

- code outputs and execution counts cleared, saved widget state dropped;
- in each cell tagged ``solution``, the lines between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` become a stub (``...`` and ``raise NotImplementedError``); the comment
  lines before the marker (task and hint) stay, the ``check`` cell after it stays;
- everything else identical. The chapters' data folders (``quizzes/``, ``data/``) are copied, so
  ``quiz(QUIZ, ...)`` and relative data paths work in kernels started in the learner folder.

A learner's work is never lost. ``learner/.manifest.json`` records what was generated. On update:
a missing copy is created; an untouched copy (same cells as generated; outputs do not count) is
refreshed when the committed chapter changed; an edited copy is kept, and the learner is told
once per new course version how to get a fresh one. ``reset`` regenerates one chapter and keeps
the old copy next to it as ``NN_name.backup-YYYYmmdd-HHMMSS.ipynb``.

Usage (the make targets call these)::

    python tools/learner.py update [--source notebooks] [--target learner]   # make lab
    python tools/learner.py reset 03 [--source notebooks] [--target learner] # make reset CHAPTER=03
    python tools/learner.py clean NOTEBOOK...   # drop saved widget state (make refresh)

``pre_save_hook`` is installed into JupyterLab by tools/lab_settings.py: a saved notebook keeps
no widget view whose widget state is not saved (it would show "Error displaying widget: model
not found" once the kernel is gone); the quiz's static HTML form in the same output remains.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from course import chapters  # tools/ is on sys.path: as a script, under pytest, in the server

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks"
TARGET = ROOT / "learner"
MANIFEST = ".manifest.json"
BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>### (?:BEGIN|END) SOLUTION)[ \t]*$")

Say = Callable[[str], None]


class LearnerError(ValueError):
    """A committed notebook cannot be turned into a learner notebook (says which notebook/cell)."""


# ------------------------------------------------------------------------- generation


def _where(name: str, index: int, cell: Any) -> str:
    first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else "(empty)"
    return f"{name} cell {index} (first line: {first!r})"


def stub_solution(source: str, exercise: int, where: str = "solution cell") -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region by a stub.

    Lines before and after a region stay as they are; the stub keeps the marker's indentation.

    >>> print(stub_solution("# Task: double x.\\n# Hint: *.\\n### BEGIN SOLUTION\\ny = 2 * x\\n"
    ...                     "### END SOLUTION\\nprint(y)", 1))
    # Task: double x.
    # Hint: *.
    ...  # your code here
    raise NotImplementedError("Exercise 1: replace ... with your code, then run the check")
    print(y)
    >>> stub_solution("x = 1", 2, "03_demo.ipynb cell 7")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    learner.LearnerError: 03_demo.ipynb cell 7: tagged 'solution' but has no ...
    """
    out: list[str] = []
    inside: str | None = None
    regions = 0
    for number, line in enumerate(source.splitlines(), start=1):
        m = _MARKER.match(line)
        if m and m["marker"] == BEGIN:
            if inside is not None:
                raise LearnerError(
                    f"{where}: line {number}: {BEGIN!r} inside another solution region"
                )
            inside = m["indent"]
            regions += 1
            out.append(f"{inside}...  # your code here")
            out.append(
                f'{inside}raise NotImplementedError("Exercise {exercise}: '
                'replace ... with your code, then run the check")'
            )
        elif m:  # END
            if inside is None:
                raise LearnerError(f"{where}: line {number}: {END!r} without a {BEGIN!r} before it")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise LearnerError(f"{where}: {BEGIN!r} is never closed by {END!r}")
    if not regions:
        raise LearnerError(
            f"{where}: tagged 'solution' but has no {BEGIN!r} line; wrap the answer in {BEGIN!r} / "
            f'{END!r} lines (README, "What a chapter looks like")'
        )
    return "\n".join(out)


def learner_notebook(nb: Any, name: str = "notebook") -> Any:
    """The learner edition of a committed notebook (a new object; ``nb`` is not changed).

    Raises :class:`LearnerError` naming the notebook and cell where a solution cell has no
    markers, or where markers sit in a cell not tagged ``solution``.
    """
    out = copy.deepcopy(nb)
    out.metadata.pop("widgets", None)
    exercise = 0
    for index, cell in enumerate(out.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        has_marker = any(_MARKER.match(line) for line in cell.source.splitlines())
        if "solution" in tags:
            if cell.cell_type != "code":
                raise LearnerError(
                    f"{_where(name, index, cell)}: tagged 'solution' but is a {cell.cell_type} cell"
                )
            exercise += 1
            cell.source = stub_solution(cell.source, exercise, _where(name, index, cell))
            jupyter = cell.metadata.get("jupyter", {})
            jupyter.pop("source_hidden", None)  # the learner writes here
            if not jupyter:
                cell.metadata.pop("jupyter", None)
        elif has_marker and cell.cell_type == "code":
            raise LearnerError(
                f"{_where(name, index, cell)}: has solution markers but is not tagged 'solution'"
            )
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    return out


def cells_fingerprint(nb: Any) -> str:
    """The learner's work: every cell's type and source (not outputs, not metadata)."""
    cells = [[c.cell_type, c.source] for c in nb.cells]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------ widget state


def drop_dead_widget_views(nb: dict) -> int:
    """Remove widget views that cannot be shown again from a notebook (a plain dict is fine).

    A widget view refers to a model in a kernel; without saved widget state in the notebook's
    metadata, reopening the notebook later shows "Error displaying widget: model not found".
    Views are dropped only from outputs that keep another representation (text/html or
    text/plain). Returns how many were dropped.
    """
    if (nb.get("metadata", {}).get("widgets") or {}).get(WIDGET_STATE, {}).get("state"):
        return 0
    dropped = 0
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = output.get("data", {})
            if WIDGET_VIEW in data and len(data) > 1:
                del data[WIDGET_VIEW]
                dropped += 1
    return dropped


def strip_widget_state(nb: dict) -> bool:
    """Drop saved widget state (churn on every refresh) and then the views that needed it."""
    changed = nb.get("metadata", {}).pop("widgets", None) is not None
    return bool(drop_dead_widget_views(nb)) or changed


def pre_save_hook(model: dict, **_: object) -> None:
    """Jupyter server pre-save hook (see tools/lab_settings.py): drop dead widget views."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        drop_dead_widget_views(model["content"])


def clean(paths: list[Path], say: Say = print) -> int:
    """Strip saved widget state from committed notebooks in place (used by `make refresh`)."""
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if strip_widget_state(nb):
            _write_text(path, nbformat.writes(nb) + "\n")
            say(f"{path}: dropped saved widget state")
    return 0


# ----------------------------------------------------------------------- the folder


@dataclass
class Report:
    """What one update did, per chapter file name."""

    created: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _write_text(path: Path, text: str) -> None:
    """Write atomically: a learner's file is either the old or the new one, never half of each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _load_manifest(target: Path) -> dict:
    try:
        data = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("chapters"), dict):
            return data
    except (OSError, ValueError):
        pass
    return {"format": 1, "chapters": {}}


def _save_manifest(target: Path, manifest: dict) -> None:
    _write_text(target / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def _generate(path: Path) -> tuple[str, Any]:
    nb = learner_notebook(nbformat.read(path, as_version=4), path.name)
    return nbformat.writes(nb) + "\n", nb


def _read(path: Path) -> Any | None:
    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - unreadable means "not what we wrote": never overwrite it
        return None


def _reset_hint(chapter: str, target: Path) -> str:
    extra = "" if target.resolve() == TARGET.resolve() else f" LEARNER={target}"
    return f"make reset CHAPTER={chapter[:2]}{extra}"


def _copy_data(source: Path, target: Path) -> None:
    """Copy the chapters' data folders (``quizzes/``, ``data/``, ...): course data, not learner
    work, so always brought up to date. Hidden folders and special files (sockets) are skipped."""
    for folder in sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name == "__pycache__":
            continue
        for data in sorted(folder.rglob("*")):
            relative = data.relative_to(source)
            if not data.is_file() or any(part.startswith(".") for part in relative.parts):
                continue
            copy_to = target / relative
            content = data.read_bytes()
            if not copy_to.is_file() or copy_to.read_bytes() != content:
                copy_to.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(data, copy_to)


def update(source: Path = SOURCE, target: Path = TARGET, say: Say = print) -> Report:
    """Create, refresh or keep every chapter's learner copy (see the module docstring)."""
    report = Report()
    target.mkdir(parents=True, exist_ok=True)
    _copy_data(source, target)
    manifest = _load_manifest(target)
    records = manifest["chapters"]
    for path in chapters(source):
        name = path.name
        try:
            text, fresh = _generate(path)
        except LearnerError as err:
            report.errors.append(str(err))
            continue
        version, cells = _sha(text), cells_fingerprint(fresh)
        copy_path = target / name
        record = records.get(name)
        if not copy_path.exists():
            _write_text(copy_path, text)
            records[name] = {"version": version, "cells": cells}
            report.created.append(name)
            continue
        current = _read(copy_path)
        current_cells = cells_fingerprint(current) if current is not None else None
        untouched = record is not None and current_cells == record.get("cells")
        if record is None and current_cells == cells:  # same as we would write: adopt it
            records[name] = {"version": version, "cells": cells}
            report.unchanged.append(name)
        elif untouched:  # the learner changed no cell (running it does not count)
            if record.get("version") != version:
                _write_text(copy_path, text)
                records[name] = {"version": version, "cells": cells}
                report.refreshed.append(name)
            else:
                report.unchanged.append(name)
        else:  # the learner's work: never overwritten
            report.kept.append(name)
            record = records.setdefault(name, {"version": None, "cells": None})
            if record.get("version") != version and record.get("notified") != version:
                record["notified"] = version
                say(
                    f"\n*** {copy_path}: the course's version of this chapter changed,\n"
                    "    but this copy has your edits, so it was left exactly as it is.\n"
                    "    For a fresh copy (yours is kept next to it as a backup), run:\n"
                    f"        {_reset_hint(name, target)}\n"
                )
    _save_manifest(target, manifest)
    for name in report.created:
        say(f"created   {target / name}")
    for name in report.refreshed:
        say(f"refreshed {target / name} (the course changed; you had not edited it)")
    total = len(report.created) + len(report.refreshed) + len(report.unchanged) + len(report.kept)
    kept = f", {len(report.kept)} with your edits kept" if report.kept else ""
    say(f"learner notebooks: {total} in {target}{kept}")
    for err in report.errors:
        say(f"ERROR: {err}")
    return report


def _chapter_path(chapter: str, source: Path) -> Path:
    paths = chapters(source)
    wanted = chapter.strip().removesuffix(".ipynb")
    if re.fullmatch(r"\d{1,2}", wanted):
        wanted = f"{int(wanted):02d}"
    matches = [p for p in paths if p.stem == wanted or p.stem.split("_", 1)[0] == wanted]
    if len(matches) != 1:
        known = ", ".join(p.stem for p in paths)
        raise LearnerError(
            f"no chapter {chapter!r}; give its number (e.g. 03) or name; chapters: {known}"
        )
    return matches[0]


def reset(
    chapter: str, source: Path = SOURCE, target: Path = TARGET, say: Say = print
) -> Path | None:
    """Regenerate one chapter's learner copy; the old copy stays next to it (returned)."""
    path = _chapter_path(chapter, source)
    text, fresh = _generate(path)  # fails before anything is moved
    target.mkdir(parents=True, exist_ok=True)
    _copy_data(source, target)
    copy_path = target / path.name
    backup = None
    if copy_path.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = target / f"{path.stem}.backup-{stamp}.ipynb"
        n = 1
        while backup.exists():
            n += 1
            backup = target / f"{path.stem}.backup-{stamp}-{n}.ipynb"
        os.replace(copy_path, backup)
    _write_text(copy_path, text)
    manifest = _load_manifest(target)
    manifest["chapters"][path.name] = {"version": _sha(text), "cells": cells_fingerprint(fresh)}
    _save_manifest(target, manifest)
    kept = f"; your previous copy is {backup}" if backup else ""
    say(f"fresh copy of {copy_path}{kept}")
    return backup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("update", "reset"):
        p = sub.add_parser(name)
        if name == "reset":
            p.add_argument("chapter", help="chapter number (03) or name (03_tensor_copies)")
        p.add_argument("--source", type=Path, default=SOURCE)
        p.add_argument("--target", type=Path, default=TARGET)
    p = sub.add_parser("clean")
    p.add_argument("notebooks", type=Path, nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.command == "update":
            return 1 if update(args.source, args.target).errors else 0
        if args.command == "reset":
            reset(args.chapter, args.source, args.target)
            return 0
        return clean(args.notebooks)
    except LearnerError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
