"""Benchmark: what each way of copying a model costs, against the memory-copy floor.

Chapter 08 plots the data this writes. For models of 1 to 50 layers ``Linear(1000, 1000)``
(about 1M to 50M float32 parameters) it times every method of
``helpers.copy_cost.copy_methods`` against the floor (one preallocated flat ``copy_`` of the
same bytes), interleaved, on one thread, with ``torch.utils.benchmark.Timer``, and counts page
faults. It also records single calls of some methods, each with its own fault count, to show
what the faults cost. About 1 minute of CPU time; 4 minutes of wall time on a busy
2-core machine.

Usage:
    python tools/bench_copies.py                   # full sweep -> notebooks/data/08_cost_sweep.json
    python tools/bench_copies.py --snapshot-only   # Snapshot.refresh() vs the floor at 50M params
    python tools/bench_copies.py --layers 1 2 --rounds 3 --out /tmp/sweep.json   # a quick run
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the helpers

from helpers.copy_cost import (  # noqa: E402 (after the sys.path line above)
    compare_to_floor,
    copy_methods,
    flat_floor,
    linear_stack,
    model_nbytes,
    per_call,
)

DEFAULT_OUT = ROOT / "notebooks" / "data" / "08_cost_sweep.json"
LAYERS = [1, 2, 5, 10, 20, 50]
SAMPLED = ["copy.deepcopy(model)", "clone each tensor", "Snapshot.refresh()"]
TARGET = 1.2  # Snapshot.refresh() at 50M parameters, as a multiple of the floor


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return "unknown"


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    cpu = "unknown"
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu if cpu != "unknown" else platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "libc": " ".join(platform.libc_ver()) or "unknown",
        "page_bytes": resource.getpagesize(),
        "transparent_hugepages": _read("/sys/kernel/mm/transparent_hugepage/enabled"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def load() -> float:
    return os.getloadavg()[0]


def sweep(layers: list[int], rounds: int, min_run_time: float, calls: int) -> list[dict]:
    sizes = []
    for n in layers:
        start = time.perf_counter()
        model = linear_stack(n)
        nbytes = model_nbytes(model)
        floor = flat_floor(nbytes)
        methods = copy_methods(model)
        # Single calls first, from a cold start (the model was just built, nothing has been
        # copied yet): the first copies are where an allocator is most likely to fault.
        samples = {
            name: [
                [round(r, 3), round(f, 3)]
                for r, f in per_call(methods[name], floor, nbytes=nbytes, calls=calls)
            ]
            for name in SAMPLED
        }
        costs = compare_to_floor(methods, floor, rounds=rounds, min_run_time=min_run_time)
        pages = nbytes / resource.getpagesize()
        floor_seconds = statistics.median(c.floor_seconds for c in costs.values())
        sizes.append(
            {
                "layers": n,
                "params": sum(p.numel() for p in model.parameters()),
                "nbytes": nbytes,
                "floor_seconds": floor_seconds,
                "methods": {
                    c.name: {
                        "seconds": c.seconds,
                        "ratio": round(c.ratio, 3),
                        "ratios": [round(r, 3) for r in c.ratios],
                        "faults_per_page": round(c.faults / pages, 3),
                    }
                    for c in costs.values()
                },
                "single_calls": samples,
            }
        )
        refresh = costs["Snapshot.refresh()"].ratio
        deep = costs["copy.deepcopy(model)"].ratio
        print(
            f"{n:3d} layers ({nbytes / 1e6:6.1f} MB): floor {floor_seconds * 1e3:7.2f} ms "
            f"({nbytes / floor_seconds / 1e9:5.1f} GB/s) | Snapshot.refresh() {refresh:5.2f}x "
            f"| deepcopy(model) {deep:5.2f}x | took {time.perf_counter() - start:5.1f} s",
            flush=True,
        )
        del model, floor, methods
    return sizes


def snapshot_only(layers: int, rounds: int, min_run_time: float) -> int:
    model = linear_stack(layers)
    nbytes = model_nbytes(model)
    methods = copy_methods(model)
    cases = {
        k: methods[k]
        for k in ("Snapshot.refresh()", "torch._foreach_copy_", "copy.deepcopy(model)")
    }
    costs = compare_to_floor(cases, flat_floor(nbytes), rounds=rounds, min_run_time=min_run_time)
    params = sum(p.numel() for p in model.parameters())
    print(
        f"{params / 1e6:.0f}M float32 parameters ({nbytes / 1e6:.0f} MB), one thread, CPU time, "
        f"{rounds} rounds; torch {torch.__version__}; load average {load():.1f}"
    )
    print(f"floor (one flat copy_): {costs['Snapshot.refresh()'].floor_seconds * 1e3:.1f} ms")
    for c in costs.values():
        rounds_text = ", ".join(f"{r:.2f}" for r in c.ratios)
        print(f"{c.name:<24} {c.ratio:5.2f}x the floor (rounds: {rounds_text})")
    refresh = round(costs["Snapshot.refresh()"].ratio, 2)
    verdict = "meets" if refresh <= TARGET else "misses"
    print(f"Snapshot.refresh(): {refresh:.2f}x the floor, {verdict} the target (<= {TARGET:.2f}x)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot-only", action="store_true", help="time Snapshot.refresh() only")
    parser.add_argument("--layers", type=int, nargs="+", default=None, help="model sizes in layers")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-run-time", type=float, default=0.05)
    parser.add_argument("--calls", type=int, default=12, help="single calls sampled per method")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--note", default="", help="anything worth knowing about this run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if args.snapshot_only:
        return snapshot_only((args.layers or [50])[-1], max(args.rounds, 7), args.min_run_time)

    layers = args.layers or LAYERS
    started, load_before = datetime.datetime.now(datetime.UTC), load()
    sizes = sweep(layers, args.rounds, args.min_run_time, args.calls)
    data = {
        "what": "Time of each way to copy an MLP of Linear(1000, 1000) layers, as a ratio to the "
        "floor (one preallocated flat copy_ of the same bytes) timed in the same round; minor "
        "page faults per page of the copy. Written by tools/bench_copies.py.",
        "date": started.date().isoformat(),
        "machine": machine(),
        "method": {
            "timer": "torch.utils.benchmark.Timer.blocked_autorange, num_threads=1, "
            "timer=time.process_time (CPU time of this process: page faults included, time "
            "given to other processes excluded)",
            "rounds": args.rounds,
            "min_run_time": args.min_run_time,
            "interleaving": "each round times the floor, then the case, for every case; the order "
            "of the cases rotates from round to round",
            "ratio": "median over rounds of case time / floor time of the same round",
            "single_calls": "[time / floor time, faults per page] for single calls in a row, "
            "made right after the model was built (before the timing); time is CPU time",
        },
        "load_average": {"before": round(load_before, 2), "after": round(load(), 2)},
        "note": args.note,
        "sizes": sizes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
