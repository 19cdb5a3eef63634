"""Run every notebook against another PyTorch release and report what drifts (not in make test).

Usage: python tools/drift.py --torch 2.14.1 [--notebooks DIR] [--out docs/drift]
       make drift TORCH=2.14.1

1. A venv per release, cached in ~/.cache/copy-semantics-course/drift/torch-<version>/ (rebuilt
   when the lock or the request changes): the lock's packages for this platform without torch,
   then `torch==<version>` from pip's usual places, which may move torch's own dependencies
   (the report lists every package that differs from the lock). `--torch-index URL` adds an
   index for torch (PyTorch's CPU index where it is reachable: a CPU build, ~200 MB, instead of
   PyPI's CUDA build, 2-3 GB on Linux x86_64).
2. Every notebook runs there top to bottom (errors do not stop it), in its folder, with the
   helpers of the same repository on the path, as nbval runs it.
3. The report compares each code cell with its committed outputs (text, as nbval compares it,
   with tests/sanitize.cfg applied), lists the checks that failed (`CheckFailed` from
   `helpers.checks.check`/`expect_error`, `AssertionError`), other unexpected errors, and the
   **Rule:** sentences of the sections they are in: the claims that do not hold there.
Writes <out>/torch-<version>.md; prints its summary table. Exit status 0 even when cells drift.
The executed notebooks stay in the cache: `--report-only` rewrites the report from them.
"""
from __future__ import annotations

import argparse
import configparser
import datetime as dt
import difflib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pins as P  # noqa: E402

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "copy-semantics-course"
CHECK_ERRORS = {"CheckFailed", "TorchTooOld", "AssertionError"}  # helpers.checks, .versions
_RULE = re.compile(r"\*\*Rule:?\*\*:?\s*(.+?)(?:\n\n|$)|\*\*Rule:\s*(.+?)\*\*", re.S)
_HEADING = re.compile(r"^(#{1,3})\s+(.+)$", re.M)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)  # code blocks: their `#` lines are code


# ---- reading notebooks -----------------------------------------------------------------------
def sanitizer(cfg: Path) -> list[tuple[re.Pattern, str]]:
    """The (regex, replacement) pairs of an nbval sanitize file (none if the file is missing)."""
    if not cfg.is_file():
        return []
    parser = configparser.ConfigParser()
    parser.read(cfg)
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def output_text(outputs: list[dict], rules: list[tuple[re.Pattern, str]] = ()) -> str:
    """One cell's outputs as the text nbval compares: streams, text/plain, errors (name: value).

    >>> output_text([{"output_type": "stream", "name": "stdout", "text": "a 0x1f\\n"},
    ...              {"output_type": "error", "ename": "KeyError", "evalue": "'x'"}],
    ...             [(re.compile("0x[0-9a-f]+"), "0xADDRESS")])
    "a 0xADDRESS\\n[error] KeyError: 'x'\\n"
    """
    parts = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            text = out.get("text", "")
            parts.append(text if isinstance(text, str) else "".join(text))
        elif kind in {"execute_result", "display_data"}:
            text = out.get("data", {}).get("text/plain", "")
            text = text if isinstance(text, str) else "".join(text)
            parts.append(text.rstrip("\n") + "\n")
        elif kind == "error":
            parts.append(f"[error] {out.get('ename')}: {out.get('evalue')}\n")
    text = "".join(parts)
    for regex, replacement in rules:
        text = regex.sub(replacement, text)
    return text


def section_rules(cells: list[dict]) -> tuple[list[str], dict[str, list[str]]]:
    """Per cell the heading of the section it is in; per heading the **Rule:** sentences there."""
    headings, rules, current = [], {}, "(top of the notebook)"
    for cell in cells:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        source = _FENCE.sub("", source)
        if cell["cell_type"] == "markdown":
            # A cell may close one section (its rule) and open the next (a heading): read it in
            # pieces, each piece belonging to the heading above it.
            pieces = _HEADING.split(source)  # text, hashes, title, text, hashes, title, ...
            for i, text in enumerate(pieces):
                if i % 3 == 2:
                    current = text.strip()
                elif i % 3 == 0:
                    for match in _RULE.finditer(text):
                        sentence = " ".join((match.group(1) or match.group(2)).split())
                        rules.setdefault(current, []).append(sentence.strip("* "))
        headings.append(current)
    return headings, rules


# ---- comparing -------------------------------------------------------------------------------
@dataclass
class CellDrift:
    index: int  # position among the notebook's cells (0-based, markdown included)
    section: str
    changed: bool
    diff: list[str] = field(default_factory=list)
    failure: str = ""  # "check", "error" or ""
    message: str = ""


def compare(recorded: dict, executed: dict, rules: list[tuple[re.Pattern, str]]) -> list[CellDrift]:
    """Cell-by-cell differences between a committed notebook and the same one run elsewhere."""
    headings, _ = section_rules(recorded["cells"])
    drifts = []
    first_failure_seen = False
    for i, (old, new) in enumerate(zip(recorded["cells"], executed["cells"])):
        if old["cell_type"] != "code":
            continue
        before = output_text(old.get("outputs", []), rules)
        after = output_text(new.get("outputs", []), rules)
        tags = set(old.get("metadata", {}).get("tags", []))
        errors = [o for o in new.get("outputs", []) if o.get("output_type") == "error"]
        failure, message = "", ""
        if errors and "raises-exception" not in tags:
            err = errors[0]
            failure = "check" if err.get("ename") in CHECK_ERRORS else "error"
            if err.get("ename") == "NameError" and first_failure_seen:
                failure = "follow-on"
            message = f"{err.get('ename')}: {err.get('evalue')}".strip()
            if err.get("ename") == "AssertionError" and not err.get("evalue"):
                source = old["source"] if isinstance(old["source"], str) else "".join(old["source"])
                asserts = [x.strip() for x in source.splitlines() if x.strip().startswith("assert")]
                message = "AssertionError: " + (asserts[-1] if asserts else "(assert in this cell)")
            first_failure_seen = True
        if before != after or failure:
            diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                             "recorded", "this torch", lineterm="", n=1))
            drifts.append(CellDrift(i, headings[i], before != after, diff[2:], failure, message))
    return drifts


# ---- report ----------------------------------------------------------------------------------
def claims_line(rules_here: list[str]) -> str:
    if not rules_here:
        return "(no **Rule:** in this section)"
    return "; ".join(f"*{r}*" for r in rules_here)


def report(torch_version: str, results: dict[str, tuple[dict, list[CellDrift]]], meta: dict) -> str:
    """Markdown report: summary table, claims that fail, then per notebook the changed cells.

    ``torch_version`` is the release asked for (``make drift TORCH=...``); ``meta`` says what
    ran (``torch``, ``build``, ``platform``, ``differs``), when (``date``), on which notebooks
    (``commit``) and against which recorded version (``recorded_torch``).
    """
    lines = [f"# Drift report: torch {torch_version} against the recorded outputs", ""]
    lines += [f"Made by `make drift TORCH={torch_version}` (tools/drift.py) on {meta['date']}. "
              f"Notebooks from commit `{meta['commit']}`; recorded with torch "
              f"{meta['recorded_torch']}. Ran with torch {meta['torch']} "
              f"({meta['build']}) on {meta['platform']}.", ""]
    if meta["differs"]:
        lines += ["Other packages that differ from requirements.lock in that environment: "
                  + ", ".join(meta["differs"]) + ".", ""]
    lines += ["## Summary", "", "| notebook | code cells | outputs changed | checks failed | "
              "other errors |", "|---|---|---|---|---|"]
    total = [0, 0, 0, 0]
    for name, (nb, drifts) in results.items():
        code = sum(c["cell_type"] == "code" for c in nb["cells"])
        row = [code, sum(d.changed for d in drifts), sum(d.failure == "check" for d in drifts),
               sum(d.failure in {"error", "follow-on"} for d in drifts)]
        total = [a + b for a, b in zip(total, row)]
        lines.append(f"| {name} | " + " | ".join(map(str, row)) + " |")
    lines.append("| **all** | " + " | ".join(f"**{t}**" for t in total) + " |")
    lines += ["", "## Claims that do not hold (or could not be checked) on this version", ""]
    failed = [(n, d) for n, (_, ds) in results.items() for d in ds if d.failure]
    if not failed:
        lines.append("None: every check and every `raises-exception` cell behaved as recorded.")
    for name, d in failed:
        _, rules = section_rules(results[name][0]["cells"])
        lines.append(f"- **{name}**, cell {d.index}, section *{d.section}*: {d.failure} "
                     f"`{d.message[:200]}`. Claims there: {claims_line(rules.get(d.section, []))}")
    lines += ["", "## Changed outputs, cell by cell", ""]
    for name, (_, drifts) in results.items():
        changed = [d for d in drifts if d.changed]
        if not changed:
            continue
        lines += [f"### {name}", ""]
        for d in changed:
            shown = [x if len(x) <= 200 else x[:200] + " …" for x in d.diff[:24]]
            lines += [f"Cell {d.index} (section *{d.section}*):", "", "```diff", *shown]
            if len(d.diff) > 24:
                lines.append(f"... ({len(d.diff) - 24} more diff lines)")
            lines += ["```", ""]
    if not any(d.changed for _, ds in results.values() for d in ds):
        lines.append("No output changed.")
    return "\n".join(lines).rstrip() + "\n"


def summary_table(text: str) -> str:
    """The summary table of a report (for the README's development section)."""
    block = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    return block.strip() + "\n"


# ---- the environment -------------------------------------------------------------------------
def ensure_venv(torch_spec: str, torch_index: str | None, cache: Path) -> Path:
    """The cached venv for `torch_spec`; built (lock minus torch, then torch) when missing."""
    _options, pins = P.read_lock()
    rest = [f"{p.name}=={p.version}" for p in P.pins_for(P.this_target(), pins) if p.key != "torch"]
    stamp_text = json.dumps({"rest": rest, "torch": torch_spec, "index": torch_index})
    stamp_hash = hashlib.sha256(stamp_text.encode()).hexdigest()[:16]
    venv = cache / "drift" / f"torch-{torch_spec.split('==')[-1]}"
    stamp = venv / ".drift-stamp"
    if stamp.is_file() and stamp.read_text() == stamp_hash:
        return venv
    subprocess.run(["rm", "-rf", str(venv)], check=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-cache-dir"]
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "rest.txt"
        req.write_text("\n".join(rest) + "\n")
        print(f"drift: {venv}: the lock without torch ...", flush=True)
        subprocess.run([*pip, "-r", str(req)], check=True)
    print(f"drift: {torch_spec} ...", flush=True)
    extra = ["--extra-index-url", torch_index] if torch_index else []
    subprocess.run([*pip, *extra, torch_spec], check=True)
    stamp.write_text(stamp_hash)
    return venv


def environment_facts(python: str) -> dict:
    """torch version and build, and the packages that differ from the lock, in that venv."""
    code = ("import json, importlib.metadata as md, torch, platform;"
            "print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda,"
            "'platform': platform.system() + ' ' + platform.machine(),"
            "'dists': {d.metadata['Name']: d.version for d in md.distributions()}}))")
    facts = json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True,
                                      check=True).stdout)
    _options, pins = P.read_lock()
    locked = {p.key: p for p in P.pins_for(P.this_target(), pins)}
    differs = []
    for name, version in sorted(facts["dists"].items(), key=lambda kv: kv[0].lower()):
        key = P.normalise(name)
        if key in {"pip", "torch", "copy-semantics-course"}:
            continue
        pin = locked.get(key)
        if pin is None:
            differs.append(f"{name} {version} (not in the lock)")
        elif pin.version != version:
            differs.append(f"{name} {version} (lock: {pin.version})")
    build = f"CUDA {facts['cuda']} build, run on the CPU" if facts["cuda"] else "CPU build"
    cuda_pkgs = [d for d in differs if P.is_cuda_package(d.split()[0])]
    if cuda_pkgs:
        differs = [d for d in differs if d not in cuda_pkgs] + [
            f"{len(cuda_pkgs)} CUDA runtime packages (nvidia-*, cuda-*, triton)"]
    return {"torch": facts["torch"], "build": build, "platform": facts["platform"],
            "differs": differs}


# ---- executing (runs inside the drift venv) --------------------------------------------------
def execute(notebook: Path, out: Path, timeout: int = 300) -> None:
    """Run `notebook` top to bottom in this Python's kernel, errors allowed; write it to `out`."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            record_timing=False,
                            resources={"metadata": {"path": str(notebook.parent)}})
    with tempfile.TemporaryFile("w+") as kernel_stderr:  # its TCP notice; shown on failure
        try:
            client.execute(stderr=kernel_stderr)
        except Exception:
            kernel_stderr.seek(0)
            print(kernel_stderr.read()[-2000:], file=sys.stderr)
            raise
    nbformat.write(nb, out)


def run_all(python: str, notebooks: list[Path], repo: Path, workdir: Path) -> dict[str, dict]:
    """Execute every notebook with `python` (the drift venv) into `workdir`; return them by name."""
    env = {**os.environ, "PYTHONPATH": str(repo),
           "JUPYTER_PATH": str(Path(python).parents[1] / "share" / "jupyter"),
           "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    results = {}
    for nb in notebooks:
        out = workdir / nb.name
        print(f"drift: running {nb.name} ...", flush=True)
        subprocess.run([python, __file__, "--execute", str(nb), str(out)], env=env, check=True,
                       cwd=nb.parent)
        results[nb.stem] = json.loads(out.read_text())
    return results


def git_commit(folder: Path) -> str:
    done = subprocess.run(["git", "-C", str(folder), "log", "-1", "--format=%h %cs", "--",
                           "."], capture_output=True, text=True)
    return done.stdout.strip() or "(not a git checkout)"


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 4 and sys.argv[1] == "--execute":
        execute(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch", required=True, help="a release, e.g. 2.14.1")
    parser.add_argument("--torch-index", help="extra index for torch (e.g. PyTorch's CPU index)")
    parser.add_argument("--notebooks", type=Path, default=P.ROOT / "notebooks",
                        help="folder of the notebooks (its parent's helpers are used)")
    parser.add_argument("--out", type=Path, default=P.ROOT / "docs" / "drift")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--python", help="run with this Python instead of a cached venv")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from the notebooks the last run executed")
    args = parser.parse_args(argv)
    notebooks = sorted(args.notebooks.resolve().glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        parser.error(f"no numbered notebooks in {args.notebooks}")
    repo = notebooks[0].parents[1]
    if args.python:
        python = os.path.abspath(args.python)  # not resolve(): a venv's python is a symlink
    elif args.report_only:
        python = ""  # nothing runs: the report is rebuilt from the cached notebooks
    else:
        spec = args.torch if "=" in args.torch else f"torch=={args.torch}"
        python = str(ensure_venv(spec, args.torch_index, args.cache) / "bin" / "python")
    version = args.torch.split("==")[-1]
    executed_dir = args.cache / "drift" / "executed" / f"torch-{version}"
    facts_file = executed_dir / "environment.json"
    if args.report_only:
        if not facts_file.is_file():
            parser.error(f"nothing executed for torch {version} yet in {executed_dir}")
        facts = json.loads(facts_file.read_text())
        facts["differs"] = [d for d in facts["differs"]  # older caches listed the course itself
                            if not d.startswith("copy-semantics-course ")]
    else:
        facts = environment_facts(python)
    rules = sanitizer(repo / "tests" / "sanitize.cfg")
    _options, pins = P.read_lock(repo / "requirements.lock") if (
        repo / "requirements.lock").is_file() else P.read_lock()
    recorded_torch = next(p.version for p in P.pins_for(P.this_target(), pins) if p.key == "torch")
    if args.report_only:
        executed = {nb.stem: json.loads((executed_dir / nb.name).read_text()) for nb in notebooks}
    else:
        subprocess.run(["rm", "-rf", str(executed_dir)], check=True)
        executed_dir.mkdir(parents=True)
        executed = run_all(python, notebooks, repo, executed_dir)
        facts_file.write_text(json.dumps(facts))
    results = {}
    for nb in notebooks:
        recorded = json.loads(nb.read_text())
        results[nb.stem] = (recorded, compare(recorded, executed[nb.stem], rules))
    meta = {**facts, "date": dt.date.today().isoformat(), "commit": git_commit(args.notebooks),
            "recorded_torch": recorded_torch}
    text = report(version, results, meta).replace(str(repo) + "/", "")  # no machine paths
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"torch-{version}.md"
    target.write_text(text)
    print(summary_table(text))
    print(f"drift: report written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
