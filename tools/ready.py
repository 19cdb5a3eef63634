"""Pre-workshop check: is this machine ready for the course? Prints "ready" or what to fix.

Usage: make check                  (sets up .venv first if needed)
       python tools/ready.py       (in any environment made from requirements.lock or
                                    environment.yml, e.g. a conda env on Windows)

It checks, in order, and stops at the first problem with the exact thing to do:
1. Python 3.11 and every package of requirements.lock at its pinned version (torch CPU-only);
2. the course's helpers import;
3. a Jupyter kernel starts, and it is this environment's Python (not another install's);
4. one notebook cell runs in it with a predict-then-run quiz and a matplotlib figure, from the
   notebooks folder as JupyterLab runs it, and both show up (a live quiz form, a PNG image).
Exit status 0 means ready.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pins as P  # noqa: E402

NOTEBOOKS = P.ROOT / "notebooks"
SETUP_FIX = ("rebuild the environment: `make setup` (Linux/macOS; delete .venv first), or "
             "`conda env create -f environment.yml --force` (conda/Windows), "
             "or `python tools/install.py` inside the environment")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class NotReady(Exception):
    """One problem, with what to do about it."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


def check_versions() -> str:
    """Python and the pinned packages; returns a one-line summary."""
    if sys.version_info[:2] != (3, 11):
        raise NotReady(f"Python {sys.version.split()[0]} runs this check; the course needs 3.11",
                       "install Python 3.11 and rebuild the environment with it "
                       "(`make setup PYTHON=python3.11`, or `conda env create -f environment.yml`)")
    try:
        import packaging  # noqa: F401
    except ImportError:
        raise NotReady("this Python has not got the course's packages (no `packaging`)",
                       SETUP_FIX + "; and run this check with that environment's Python "
                       "(`.venv/bin/python tools/ready.py`)") from None
    import install

    _options, pins = P.read_lock()
    target = P.this_target()
    errors, warnings = install.compare_installed(P.pins_for(target, pins),
                                                 install.installed_versions())
    if errors:
        raise NotReady("the installed packages differ from requirements.lock:\n    "
                       + "\n    ".join(errors), SETUP_FIX)
    import torch

    if torch.version.cuda is not None:
        raise NotReady(f"torch {torch.__version__} is a CUDA build", SETUP_FIX)
    extra = f" ({len(warnings)} extra packages not in the lock)" if warnings else ""
    return (f"Python {sys.version.split()[0]}, torch {torch.__version__} (CPU), "
            f"{len(P.pins_for(target, pins))} packages as pinned for {target}{extra}")


def check_helpers() -> str:
    try:
        import helpers  # noqa: F401
        from helpers.quiz import load_quiz  # noqa: F401
    except ImportError as exc:
        raise NotReady(f"`import helpers` fails: {exc}",
                       "install the course's helpers into the environment: "
                       "`pip install --no-deps -e .` in the repository folder") from None
    return "helpers import"


def _first_quiz() -> tuple[str, str]:
    files = sorted((NOTEBOOKS / "quizzes").glob("*.json"))
    if not files:
        raise NotReady("notebooks/quizzes/ holds no quiz file",
                       "run this from a complete copy of the course repository")
    from helpers.quiz import load_quiz

    quiz_file = load_quiz(files[0])
    return f"quizzes/{files[0].name}", quiz_file.questions[0].id


def cell_source(quiz_path: str, question_id: str) -> str:
    """The cell the check runs: the way every chapter starts, one quiz, one figure."""
    return "\n".join([
        "import sys",
        "from helpers import init_course",
        "from helpers.quiz import quiz",
        "import matplotlib.pyplot as plt",
        "init_course()",
        f"quiz({quiz_path!r}, {question_id!r})",
        "fig, ax = plt.subplots(figsize=(3, 2))",
        "ax.plot([0, 1, 2], [0, 1, 0])",
        "plt.show()",
        "print('kernel python:', sys.prefix)",
    ])


def check_kernel(timeout: int = 120) -> str:
    """Start a kernel the way JupyterLab does and run the quiz-and-figure cell in it."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        raise NotReady("Jupyter finds no `python3` kernel",
                       "`python -m ipykernel install --sys-prefix` in the course environment"
                       ) from None
    quiz_path, question_id = _first_quiz()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cell_source(quiz_path, question_id))]
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    # As JupyterLab starts it: the quiz shows its live form only where this is set.
    env = {**os.environ, "JPY_SESSION_NAME": str(NOTEBOOKS / "ready-check.ipynb")}
    start = time.monotonic()
    # The kernel's own stderr (a TCP-without-encryption notice, every time) is kept aside and
    # shown only when the kernel does not start.
    with tempfile.TemporaryFile("w+") as kernel_stderr:
        try:
            client.execute(stderr=kernel_stderr, env=env)
        except CellExecutionError as exc:
            raise NotReady(f"the check cell failed in the kernel:\n{str(exc)[-1500:]}",
                           SETUP_FIX) from None
        except Exception as exc:  # a kernel that does not start raises many kinds of errors
            kernel_stderr.seek(0)
            said = kernel_stderr.read()[-1500:]
            raise NotReady(f"a Jupyter kernel did not start: {type(exc).__name__}: {exc}\n{said}",
                           f"check the kernel spec at {spec.resource_dir} "
                           f"({' '.join(spec.argv)}); " + SETUP_FIX) from None
    seconds = time.monotonic() - start
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    prefix = next((line.split(": ", 1)[1] for line in text.splitlines()
                   if line.startswith("kernel python: ")), "?")
    if Path(prefix).resolve() != Path(sys.prefix).resolve():
        raise NotReady(f"the `python3` kernel runs another Python ({prefix}), not this "
                       f"environment ({sys.prefix})",
                       f"remove or fix the kernel spec at {spec.resource_dir}, or run "
                       "`python -m ipykernel install --sys-prefix` in the course environment")
    data = [o.get("data", {}) for o in outputs if o.output_type == "display_data"]
    if not any(WIDGET_VIEW in d for d in data):
        raise NotReady("the quiz showed no live form (no ipywidgets view in its output)",
                       SETUP_FIX)
    if not any("image/png" in d for d in data):
        raise NotReady("the figure was not drawn as an image (no image/png output)", SETUP_FIX)
    return f"a kernel started and ran a quiz and a figure ({seconds:.1f} s)"


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    steps = [("versions", check_versions), ("helpers", check_helpers), ("kernel", check_kernel)]
    for name, step in steps:
        try:
            print(f"  ok  {name}: {step()}", flush=True)
        except NotReady as exc:
            print(f"  NOT READY  {name}: {exc.problem}\n  to fix: {exc.fix}")
            print("not ready")
            return 1
    print("ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
