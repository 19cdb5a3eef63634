"""Benchmark: the notebook suite's wall time beside its floor.

Floor = what no notebook test can avoid: per notebook, start a kernel and `import torch` (plus
the helpers). With W pytest-xdist workers each taking whole notebooks, the floor of the parallel
run is ceil(N / W) such starts, plus pytest's own start-up.

Usage: python tools/bench.py [--repeat 3]   (run by `make bench`)
"""
from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

from course import chapters
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2


FLOOR_CODE = "import torch, helpers"
# Every chapter builds an optimizer; torch.optim's constructor imports torch._dynamo (about 1.5 s)
# through the @torch._disable_dynamo decorator on add_param_group. That is PyTorch's cost, not the
# course's, so it is reported as a second, practical floor.
OPTIMIZER_CODE = FLOOR_CODE + "; torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)"


def kernel_floor(code: str = FLOOR_CODE) -> float:
    """Seconds to start one kernel in notebooks/, run ``code`` (the imports), and stop it."""
    start = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(ROOT / "notebooks"))
    try:
        kc.execute_interactive(code, timeout=120)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return time.perf_counter() - start


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    notebooks = chapters()
    pytest = [sys.executable, "-m", "pytest", "-q", "-n", str(WORKERS), "--dist", "loadfile"]

    per_kernel = statistics.median(kernel_floor() for _ in range(args.repeat))
    per_kernel_opt = statistics.median(kernel_floor(OPTIMIZER_CODE) for _ in range(args.repeat))
    startup = statistics.median(
        timed([*pytest, "--co", *map(str, notebooks)]) for _ in range(args.repeat)
    )
    floor = startup + math.ceil(len(notebooks) / WORKERS) * per_kernel
    floor_opt = startup + math.ceil(len(notebooks) / WORKERS) * per_kernel_opt
    suite = statistics.median(timed([*pytest, *map(str, notebooks)]) for _ in range(args.repeat))

    print(f"notebooks:                        {len(notebooks)}")
    print(f"kernel start + import torch:      {per_kernel:6.2f} s (median of {args.repeat})")
    print(f"pytest -n {WORKERS} start-up (collect only): {startup:6.2f} s")
    print(f"  + first optimizer (torch._dynamo): {per_kernel_opt:6.2f} s")
    print(f"floor ({WORKERS} workers):                {floor:6.2f} s")
    print(f"floor with optimizer import:      {floor_opt:6.2f} s")
    print(f"nbval suite ({WORKERS} workers):          {suite:6.2f} s")
    print(f"suite / floor:                    {suite / floor:6.2f}x (target <= 1.30x)")
    print(f"suite / floor with optimizer:     {suite / floor_opt:6.2f}x")


if __name__ == "__main__":
    main()
