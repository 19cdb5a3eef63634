"""What a copy costs: its time against the memory-copy floor, and the page faults it takes.

The floor is the cheapest way to move the same number of bytes: one ``copy_`` from a flat
tensor into a flat tensor allocated beforehand. Every way of copying a model is timed with
``torch.utils.benchmark.Timer`` (one thread, warm-up, medians) right after the floor, in the
same round, and reported as a ratio to it; rounds rotate the order of the cases, so a
neighbour's job that slows the machine for a while hits every case alike. Ratios move much
less than raw times on a shared machine.

Fresh memory is handed out by the operating system page by page: the first write to each page
is a *minor page fault*. :func:`faults_during` counts them around one call.

>>> import torch
>>> src, dst = torch.ones(1000), torch.empty(1000)
>>> costs = compare_to_floor({"clone": src.clone}, lambda: dst.copy_(src), rounds=1,
...                          min_run_time=0.001)
>>> costs["clone"].ratio > 0, costs["clone"].name
(True, 'clone')
"""

from __future__ import annotations

import copy
import io
import resource
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.benchmark import Timer

from helpers.snapshot import Snapshot
from helpers.validate import require_int, require_type

__all__ = [
    "Cost",
    "compare_to_floor",
    "copy_methods",
    "faults_during",
    "flat_floor",
    "linear_stack",
    "minor_faults",
    "model_nbytes",
    "per_call",
]


def minor_faults() -> int:
    """Minor page faults this process has taken so far (``getrusage``: Linux, macOS).

    >>> minor_faults() >= 0
    True
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def faults_during(fn: Callable[[], object], repeat: int = 3) -> int:
    """Median number of minor page faults taken by one call of ``fn`` (``repeat`` calls).

    >>> import torch
    >>> x = torch.zeros(1000)
    >>> faults_during(lambda: x.fill_(1.0))  # memory that exists already: no fault
    0
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable taking no arguments, got {type(fn).__name__}")
    require_int(repeat, "repeat", positive=True)
    counts = []
    for _ in range(repeat):
        before = minor_faults()
        fn()
        counts.append(minor_faults() - before)
    return int(statistics.median(counts))


def linear_stack(layers: int, width: int = 1000) -> nn.Sequential:
    """``layers`` layers ``Linear(width, width)``: about ``layers`` million float32 parameters.

    >>> sum(p.numel() for p in linear_stack(2).parameters())
    2002000
    """
    require_int(layers, "layers", positive=True)
    require_int(width, "width", positive=True)
    return nn.Sequential(*(nn.Linear(width, width) for _ in range(layers)))


def model_nbytes(model: nn.Module) -> int:
    """Bytes in ``model``'s state_dict (what every copy method has to move).

    >>> model_nbytes(torch.nn.Linear(10, 10))
    440
    """
    require_type(model, nn.Module, "model", "a torch.nn.Module")
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def flat_floor(nbytes: int) -> Callable[[], object]:
    """One ``copy_`` of ``nbytes`` bytes between two flat tensors allocated (and touched) now.

    >>> copy_once = flat_floor(4096)
    >>> faults_during(copy_once)
    0
    """
    if require_int(nbytes, "nbytes") < 4:
        raise ValueError(f"nbytes must be an int of at least 4, got {nbytes!r}")
    src = torch.ones(nbytes // 4)
    dst = torch.zeros(nbytes // 4)  # zeros: every page is written (faulted in) here, not later

    def floor() -> object:
        return dst.copy_(src)

    return floor


def copy_methods(model: nn.Module) -> dict[str, Callable[[], object]]:
    """The chapter's ways to keep a copy of ``model``'s weights, each a no-argument callable.

    Each call replaces the copy the previous call made, as a "keep the best weights" loop
    does (the old copy is freed only after the new one exists). The last three copy into
    memory allocated here, once: a loaded model, a list of buffers, a :class:`Snapshot`.

    >>> import torch
    >>> list(copy_methods(torch.nn.Linear(2, 2)))[-3:]
    ['copy_ per tensor', 'torch._foreach_copy_', 'Snapshot.refresh()']
    """
    require_type(model, nn.Module, "model", "a torch.nn.Module")
    kept: list[object] = [None]
    target = copy.deepcopy(model)
    buffers = [t.detach().clone() for t in model.state_dict().values()]
    snapshot = Snapshot(model)

    def deepcopy_model() -> None:
        kept[0] = copy.deepcopy(model)

    def deepcopy_state_dict() -> None:
        kept[0] = copy.deepcopy(model.state_dict())

    def clone_each() -> None:
        kept[0] = {k: v.clone() for k, v in model.state_dict().items()}

    def save_load() -> None:
        stream = io.BytesIO()
        torch.save(model.state_dict(), stream)
        stream.seek(0)
        kept[0] = torch.load(stream, weights_only=True)  # tensors only, on every release

    def load_into_existing() -> None:
        target.load_state_dict(model.state_dict())

    def copy_per_tensor() -> None:
        with torch.no_grad():
            for buf, t in zip(buffers, model.state_dict().values()):
                buf.copy_(t)

    def foreach_copy() -> None:
        with torch.no_grad():
            torch._foreach_copy_(buffers, list(model.state_dict().values()))

    return {
        "copy.deepcopy(model)": deepcopy_model,
        "copy.deepcopy(state_dict)": deepcopy_state_dict,
        "clone each tensor": clone_each,
        "torch.save + torch.load": save_load,
        "load_state_dict": load_into_existing,
        "copy_ per tensor": copy_per_tensor,
        "torch._foreach_copy_": foreach_copy,
        "Snapshot.refresh()": snapshot.refresh,
    }


@dataclass(frozen=True)
class Cost:
    """One case against the floor: medians over rounds, and the faults of one call."""

    name: str
    seconds: float  # median time of one call
    floor_seconds: float  # median time of the floor, in the same rounds
    ratio: float  # median over rounds of (this case / the floor timed just before it)
    ratios: tuple[float, ...]  # one per round
    faults: int  # minor page faults of one call (median of 3, after the timing)


def compare_to_floor(
    cases: Mapping[str, Callable[[], object]],
    floor: Callable[[], object],
    *,
    rounds: int = 5,
    min_run_time: float = 0.05,
    clock: Callable[[], float] = time.process_time,
) -> dict[str, Cost]:
    """Time each case against ``floor``, interleaved; return a :class:`Cost` per case.

    Every round times, for each case in turn (the order rotates from round to round), the
    floor and then the case, each with ``Timer.blocked_autorange(min_run_time=...)`` on one
    thread (its first calls are the warm-up). Afterwards each case is called 3 more times to
    count its page faults.
    """
    if not cases or not all(callable(f) for f in cases.values()):
        raise ValueError("cases must be a non-empty mapping of names to callables")
    if not callable(floor):
        raise TypeError(f"floor must be a callable taking no arguments, got {type(floor).__name__}")
    require_int(rounds, "rounds", positive=True)

    def timer(fn: Callable[[], object]) -> Timer:
        return Timer("fn()", globals={"fn": fn}, num_threads=1, timer=clock)

    names = list(cases)
    timers = {name: timer(fn) for name, fn in cases.items()}
    floor_timer = timer(floor)
    times: dict[str, list[float]] = {name: [] for name in names}
    floors: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            floors[name].append(floor_timer.blocked_autorange(min_run_time=min_run_time).median)
            times[name].append(timers[name].blocked_autorange(min_run_time=min_run_time).median)
    result = {}
    for name in names:
        ratios = tuple(t / f for t, f in zip(times[name], floors[name]))
        result[name] = Cost(
            name=name,
            seconds=statistics.median(times[name]),
            floor_seconds=statistics.median(floors[name]),
            ratio=statistics.median(ratios),
            ratios=ratios,
            faults=faults_during(cases[name]),
        )
    return result


def per_call(
    fn: Callable[[], object],
    floor: Callable[[], object],
    *,
    nbytes: int,
    calls: int = 10,
    clock: Callable[[], float] = time.process_time,
) -> list[tuple[float, float]]:
    """``(time / floor, faults per page)`` for each of ``calls`` single calls of ``fn``.

    A Timer reports statistics over many calls; this looks at calls one by one, each timed
    with ``clock`` next to one call of the floor, to see which calls took page faults and what
    those cost. A page is ``resource.getpagesize()`` bytes (4 KiB on most Linux machines).

    >>> import torch
    >>> src, dst = torch.ones(1024), torch.empty(1024)
    >>> rows = per_call(lambda: dst.copy_(src), lambda: dst.copy_(src), nbytes=4096, calls=2)
    >>> [faults for _, faults in rows]
    [0.0, 0.0]
    """
    if not callable(fn) or not callable(floor):
        raise TypeError("fn and floor must be callables taking no arguments")
    require_int(nbytes, "nbytes", positive=True)
    require_int(calls, "calls", positive=True)
    pages = nbytes / resource.getpagesize()
    rows = []
    for _ in range(calls):
        faults, start = minor_faults(), clock()
        fn()
        took, faults = clock() - start, minor_faults() - faults
        start = clock()
        floor()
        rows.append((took / max(clock() - start, 1e-9), faults / pages))
    return rows
