"""Audit your own training objects for the copy bugs this course teaches.

Hand :func:`audit_copies` the model you train and, by name, the objects around it: its
optimizers, the weight snapshots you keep (a "best" state_dict, an in-memory checkpoint, a
module copy) and the averaged models (EMA teacher, target network, ``AveragedModel``). It
reports, in plain words:

- a snapshot that shares memory with the live model, an averaged model or an optimizer's
  state (it changes with every training step, so it is not a snapshot);
- an optimizer that holds none of the model's Parameters, trainable Parameters that no
  optimizer holds, and optimizer entries that are no longer Parameters of the model;
- two optimizers that share state tensors (momentum, Adam moments, step counts);
- an averaged model that shares memory with the online model (it tracks it exactly).

Memory is compared element by element (:func:`helpers.storage.overlaps`): two tensors are
reported only if a write through one is visible through the other. The audit only reads:
it never changes values, ``requires_grad``, gradients, version counters, modes or optimizer
state. It returns the findings as frozen :class:`Finding` objects and, unless ``show=False``,
prints a readable report.

Pass as ``model`` everything your optimizers are meant to train. Where that is more than one
network (a GAN, a loss with its own Parameters, two runs side by side), put them in one
``torch.nn.ModuleDict({"gen": gen, "disc": disc})``; otherwise an optimizer of the other
network is reported as holding tensors that are not the model's.

>>> import copy, torch
>>> model = torch.nn.Linear(2, 1)
>>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
>>> found = audit_copies(model, optimizers=opt,
...                      snapshots={"best": model.state_dict(),
...                                 "safe": copy.deepcopy(model.state_dict())})
Audit of Linear (2 tensors) with 1 optimizer, 2 snapshots, 0 averages: 1 problem.
<BLANKLINE>
1. Snapshot 'best' is not a copy: 2 of its 2 tensors share memory with the live objects
   (weight ↔ model.weight, bias ↔ model.bias). Every training step changes it.
   Fix: copy the tensors: copy.deepcopy(model.state_dict()), or {k: v.detach().clone()
   for k, v in model.state_dict().items()}.
>>> [f.kind for f in found]
['snapshot-shares-memory']
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import enum
import os
import textwrap
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.optim import Optimizer

from helpers.storage import overlaps

__all__ = ["KINDS", "Finding", "audit_copies", "format_findings"]

#: Every kind of finding, with what it means.
KINDS: dict[str, str] = {
    "snapshot-shares-memory": "a snapshot shares memory with the live model, an average or "
    "optimizer state",
    "optimizer-holds-no-parameters": "an optimizer holds none of the model's Parameters",
    "optimizer-holds-stale-tensors": "an optimizer holds tensors that are not model Parameters",
    "parameters-not-in-any-optimizer": "trainable Parameters that no optimizer holds",
    "optimizers-share-state": "two optimizers share state tensors",
    "average-aliases-online": "an averaged (EMA/target) model shares memory with the online one",
}

_PLAIN_LEAVES = (str, bytes, bytearray, int, float, complex, bool, type(None), range, slice,
                 torch.dtype, torch.device, torch.layout, torch.memory_format, os.PathLike,
                 enum.Enum, datetime.date, datetime.time, datetime.timedelta)
_WIDTH = 88  # JupyterLab shows about 88 columns without wrapping
_byte_bounds = getattr(getattr(np.lib, "array_utils", np), "byte_bounds", None)


@dataclass(frozen=True)
class Finding:
    """One problem the audit found.

    ``kind`` is one of :data:`KINDS`; ``subject`` names the object it is about (``"snapshot
    'best'"``); ``message`` says what is wrong and what it does to training, ``fix`` what to
    do; ``tensors`` lists the entries involved, named as the subject names them.
    """

    kind: str
    subject: str
    message: str
    fix: str
    tensors: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.message}\nFix: {self.fix}"


# ------------------------------------------------------------------ the memory of one entry


@dataclass(frozen=True)
class _Entry:
    owner: str  # "model", "snapshot 'best'", "optimizer 'opt'", "average 'ema'"
    name: str
    device: str
    lo: int  # first byte of the first element
    hi: int  # one past the last byte of the last element
    tensor: torch.Tensor | None  # None for a NumPy array (compared by its byte range)


def _tensor_entry(owner: str, name: str, t: torch.Tensor) -> _Entry | None:
    if t.layout != torch.strided:
        raise ValueError(
            f"{owner}: {name!r} is a {t.layout} tensor; the audit compares dense (strided) "
            "tensors only"
        )
    if t.device.type == "meta":
        raise ValueError(
            f"{owner}: {name!r} is on the meta device and has no memory to compare; load real "
            "weights first (e.g. load_state_dict(sd, assign=True)), then audit"
        )
    if t.numel() == 0:
        return None
    span = sum((size - 1) * stride for size, stride in zip(t.shape, t.stride(), strict=True))
    lo = t.data_ptr()
    return _Entry(owner, name, str(t.device), lo, lo + (span + 1) * t.element_size(), t)


def _array_entry(owner: str, name: str, a: np.ndarray) -> _Entry | None:
    if a.size == 0 or _byte_bounds is None:
        return None
    lo, hi = _byte_bounds(a)
    return _Entry(owner, name, "cpu", int(lo), int(hi), None)


def _share(a: _Entry, b: _Entry) -> bool:
    """True if a write through one entry is visible through the other."""
    if a.device != b.device or not (a.lo < b.hi and b.lo < a.hi):
        return False
    if a.tensor is None or b.tensor is None or a.lo == b.lo:
        return True  # a NumPy array's byte range meets, or both start at the same byte
    if a.tensor.is_contiguous() and b.tensor.is_contiguous():
        return True  # both fill their byte ranges, and the ranges meet
    return overlaps(a.tensor, b.tensor)  # strided: element by element


def _pairs(left: Sequence[_Entry], right: Sequence[_Entry]) -> Iterator[tuple[_Entry, _Entry]]:
    """Every ``(l, r)`` whose memories meet, in the order of ``left``, then ``right``.

    A sweep over byte ranges: only entries whose ranges are open at the same address are
    compared (a model with 3000 Parameters and their Adam state takes about a second).
    """
    sides = (left, right)
    events = sorted(
        (e.device, e.lo, side, i) for side, seq in enumerate(sides) for i, e in enumerate(seq)
    )
    active: tuple[list[int], list[int]] = ([], [])
    device = None
    found: set[tuple[int, int]] = set()
    for dev, lo, side, i in events:
        if dev != device:
            device, active = dev, ([], [])
        for s in (0, 1):
            active[s][:] = [k for k in active[s] if sides[s][k].hi > lo]
        for k in active[1 - side]:
            pair = (i, k) if side == 0 else (k, i)
            if _share(left[pair[0]], right[pair[1]]):
                found.add(pair)
        active[side].append(i)
    for i, j in sorted(found):
        yield left[i], right[j]


# ------------------------------------------------------------------ flattening the inputs


def _flatten(owner: str, obj: object, prefix: str = "",
             _inside: frozenset[int] = frozenset()) -> list[_Entry]:
    """An entry for every tensor (or NumPy array) inside ``obj``; plain values are skipped.

    Looks inside modules, optimizers, mappings, lists, tuples, dataclass instances and
    ``argparse.Namespace`` / ``types.SimpleNamespace`` objects (a checkpoint's config).
    """
    dot = f"{prefix}." if prefix else ""
    found: list[_Entry | None] = []
    if id(obj) in _inside:  # a container that holds itself: its tensors are already listed
        return []
    inside = _inside | {id(obj)}
    if isinstance(obj, torch.Tensor):
        found.append(_tensor_entry(owner, prefix or "tensor", obj))
    elif isinstance(obj, np.ndarray):
        if obj.dtype != object:
            found.append(_array_entry(owner, prefix or "array", obj))
    elif isinstance(obj, nn.Module):
        found += [_tensor_entry(owner, dot + n, t) for n, t in _module_tensors(obj)]
    elif isinstance(obj, Optimizer):
        found += _optimizer_state(owner, obj, prefix)
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            name = f"{dot}{key}" if isinstance(key, str) else f"{prefix}[{key!r}]"
            found += _flatten(owner, value, name, inside)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            found += _flatten(owner, value, f"{prefix}[{i}]", inside)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for field in dataclasses.fields(obj):
            found += _flatten(owner, getattr(obj, field.name), dot + field.name, inside)
    elif isinstance(obj, (argparse.Namespace, types.SimpleNamespace)):
        found += _flatten(owner, vars(obj), prefix, inside)
    elif not isinstance(obj, _PLAIN_LEAVES):
        where = f" at {prefix!r}" if prefix else ""
        raise TypeError(
            f"{owner}: cannot look inside a {type(obj).__name__}{where}; a snapshot must be "
            "a state_dict, a module, a tensor, a NumPy array, or a dict/list/tuple/dataclass "
            "of them (numbers, strings, paths and enums inside are skipped)"
        )
    return [e for e in found if e is not None]


def _module_tensors(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    named: list[tuple[str, torch.Tensor]] = list(module.named_parameters(remove_duplicate=False))
    return named + list(module.named_buffers(remove_duplicate=False))


def _optimizer_params(opt: Optimizer) -> list[torch.Tensor]:
    """The tensors ``opt`` updates, each once, in the order its param_groups hold them."""
    seen: dict[int, torch.Tensor] = {}
    for group in opt.param_groups:
        for p in group["params"]:
            seen.setdefault(id(p), p)
    return list(seen.values())


def _optimizer_state(owner: str, opt: Optimizer, prefix: str = "") -> list[_Entry]:
    index = {id(p): i for i, p in enumerate(_optimizer_params(opt))}
    dot = f"{prefix}." if prefix else ""
    found = []
    for p, state in opt.state.items():  # never opt.state[p]: it is a defaultdict
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                name = f"{dot}state[{index.get(id(p), '?')}].{key}"
                found.append(_tensor_entry(owner, name, value))
    return [e for e in found if e is not None]


# ------------------------------------------------------------------ checking the arguments


def _named_objects(arg: object, kind: type, what: str, example: str) -> dict[str, object]:
    """``{name: object}`` from a dict of ``kind`` objects, or from one (named after ``what``)."""
    if arg is None:
        return {}
    if isinstance(arg, kind):
        return {what.removesuffix("s"): arg}
    if not isinstance(arg, Mapping):
        raise TypeError(
            f"{what} must be one {kind.__name__} or a dict that names each one, e.g. "
            f"{example}; got {type(arg).__name__}"
        )
    _check_names(arg, what)
    for key, value in arg.items():
        if not isinstance(value, kind):
            raise TypeError(
                f"{what}: {key!r} must be a {kind.__module__}.{kind.__qualname__}, got "
                f"{type(value).__name__}"
            )
    return dict(arg)


def _named_snapshots(arg: object) -> dict[str, object]:
    if arg is None:
        return {}
    if not isinstance(arg, Mapping):
        raise TypeError(
            "snapshots must be a dict that names each one, e.g. snapshots={'best': best}; got "
            f"{type(arg).__name__}"
        )
    if hasattr(arg, "_metadata") or (arg and all(isinstance(v, torch.Tensor)
                                                 for v in arg.values())):
        return {"snapshot": arg}  # one state_dict passed without a name
    _check_names(arg, "snapshots")
    return dict(arg)


def _check_names(arg: Mapping[object, object], what: str) -> None:
    for key in arg:
        if not isinstance(key, str) or not key:
            raise TypeError(f"{what}: names must be non-empty strings, got {key!r}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _listing(items: Sequence[str], limit: int = 6) -> str:
    shown = list(dict.fromkeys(items))
    more = len(shown) - limit
    return ", ".join(shown[:limit]) + (f" and {more} more" if more > 0 else "")


def _label(entry: _Entry) -> str:
    return f"model.{entry.name}" if entry.owner == "model" else f"{entry.owner} {entry.name}"


# ------------------------------------------------------------------ the audit


def audit_copies(
    model: nn.Module,
    *,
    optimizers: Optimizer | Mapping[str, Optimizer] | None = None,
    snapshots: Mapping[str, object] | None = None,
    averages: nn.Module | Mapping[str, nn.Module] | None = None,
    show: bool = True,
) -> list[Finding]:
    """Check a model and the objects around it for the copy bugs of this course.

    ``model`` is everything the optimizers are meant to train (several networks: one
    ``nn.ModuleDict``). ``optimizers`` is one optimizer or a dict ``{name: optimizer}``;
    ``snapshots`` a dict ``{name: snapshot}``, where a snapshot is a state_dict, a checkpoint
    dict (nested dicts, lists and dataclasses of tensors and plain values), a module, a tensor
    or a NumPy array (a single state_dict passed directly is taken as one snapshot);
    ``averages`` one averaged model (EMA teacher, target network,
    ``AveragedModel``) or a dict of them. Returns the findings (an empty list when all is
    well) and prints a report unless ``show=False``. Nothing is modified.

    >>> import copy, torch
    >>> student = torch.nn.Linear(2, 1)
    >>> found = audit_copies(student, averages={"teacher": copy.copy(student)}, show=False)
    >>> [(f.kind, f.tensors) for f in found]
    [('average-aliases-online', ('weight', 'bias'))]
    >>> audit_copies(student, averages={"ema": copy.deepcopy(student)})
    Audit of Linear (2 tensors) with 0 optimizers, 0 snapshots, 1 average: no copy problems found.
    []
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be the torch.nn.Module you train, got {type(model).__name__}")
    if not isinstance(show, bool):
        raise TypeError(f"show must be True or False, got {show!r}")
    opts = {n: o for n, o in _named_objects(optimizers, Optimizer, "optimizers",
                                           "optimizers={'opt': opt}").items()
            if isinstance(o, Optimizer)}
    avgs = {n: a for n, a in _named_objects(averages, nn.Module, "averages",
                                           "averages={'ema': ema}").items()
            if isinstance(a, nn.Module)}
    snaps = _named_snapshots(snapshots)
    model_entries = _flatten("model", model)
    if not model_entries:
        raise ValueError("model has no parameters or buffers with memory to compare")

    findings = [
        *_check_snapshots(model, model_entries, opts, avgs, snaps),
        *_check_optimizers(model, opts),
        *_check_shared_state(opts),
        *_check_averages(model, model_entries, avgs),
    ]
    if show:
        print(
            f"Audit of {type(model).__name__} ({_plural(len(model_entries), 'tensor')}) with "
            f"{_plural(len(opts), 'optimizer')}, {_plural(len(snaps), 'snapshot')}, "
            f"{_plural(len(avgs), 'average')}: "
            + (f"{_plural(len(findings), 'problem')}." if findings else "no copy problems found.")
        )
        if findings:
            print()
            print(format_findings(findings))
    return findings


def _check_snapshots(model: nn.Module, model_entries: list[_Entry], opts: dict[str, Optimizer],
                     avgs: dict[str, nn.Module], snaps: dict[str, object]) -> list[Finding]:
    live = list(model_entries)  # the model first: a tensor it shares with an average is its own
    for name, avg in avgs.items():
        live += _flatten(f"average '{name}'", avg)
    for name, opt in opts.items():
        live += _optimizer_state(f"optimizer '{name}'", opt)
    findings = []
    for name, snap in snaps.items():
        entries = _flatten(f"snapshot '{name}'", snap)
        first: dict[str, _Entry] = {}  # each snapshot entry with the first live one it meets
        for e, o in _pairs(entries, live):
            first.setdefault(e.name, o)
        if not first:
            continue
        where = _listing([f"{e} ↔ {_label(o)}" for e, o in first.items()], limit=3)
        itself = " (it is the model itself)" if snap is model else ""
        owners = list(dict.fromkeys(o.owner for o in first.values()))
        copies = [_copy_hint(owner) for owner in owners]
        findings.append(Finding(
            kind="snapshot-shares-memory",
            subject=f"snapshot '{name}'",
            message=(f"Snapshot '{name}' is not a copy{itself}: {len(first)} of its "
                     f"{len(entries)} tensors share memory with the live objects ({where}). "
                     "Every training step changes it."),
            fix=("copy the tensors: " + " and ".join(copies)
                 + ", or {k: v.detach().clone() for k, v in model.state_dict().items()}."),
            tensors=tuple(first),
        ))
    return findings


def _var(name: str, default: str) -> str:
    """``name`` if it can be a Python variable name (the user's own), else ``default``."""
    return name if name.isidentifier() else default


def _copy_hint(owner: str) -> str:
    """How to copy what ``owner`` ("model", "average 'ema'", "optimizer 'opt'") holds."""
    if owner == "model":
        return "copy.deepcopy(model.state_dict())"
    kind, _, quoted = owner.partition(" ")
    name = _var(quoted.strip("'"), "opt" if kind == "optimizer" else "ema")
    return f"copy.deepcopy({name}.state_dict())"


def _check_optimizers(model: nn.Module, opts: dict[str, Optimizer]) -> list[Finding]:
    params = dict(model.named_parameters())  # one name per Parameter (tied ones once)
    ids = {id(p) for p in params.values()}
    findings = []
    held: set[int] = set()
    for name, opt in opts.items():
        tensors = _optimizer_params(opt)
        stale = [f"param {i}" for i, t in enumerate(tensors) if id(t) not in ids]
        shapes = [f"param {i} {list(t.shape)}" for i, t in enumerate(tensors) if id(t) not in ids]
        held |= {id(t) for t in tensors if id(t) in ids}
        if len(stale) == len(tensors):
            findings.append(Finding(
                kind="optimizer-holds-no-parameters",
                subject=f"optimizer '{name}'",
                message=(f"Optimizer '{name}' holds none of the model's Parameters (it holds "
                         f"{_plural(len(stale), 'other tensor')}): its step() cannot train "
                         "this model. Was it built before a copy, a load with assign=True, "
                         "or a layer replacement?"),
                fix=("build the optimizer from the model you train, after any copy or "
                     "replacement: torch.optim.X(model.parameters(), ...). If it trains another "
                     "network on purpose, audit both together: model=nn.ModuleDict({...})."),
                tensors=tuple(stale),
            ))
        elif stale:
            are = "is" if len(stale) == 1 else "are"
            findings.append(Finding(
                kind="optimizer-holds-stale-tensors",
                subject=f"optimizer '{name}'",
                message=(f"Optimizer '{name}' holds {_plural(len(stale), 'tensor')} that {are} "
                         f"not Parameters of the model ({_listing(shapes)}), left over from a "
                         "replaced layer or a copy: nothing it does to them reaches the "
                         "model."),
                fix=("rebuild the optimizer from model.parameters() after changing the "
                     "model. If they belong to something it trains on purpose (a loss with "
                     "Parameters), audit both together: model=nn.ModuleDict({...})."),
                tensors=tuple(stale),
            ))
    missing = [n for n, p in params.items() if p.requires_grad and id(p) not in held]
    if opts and missing:
        one = len(missing) == 1
        findings.append(Finding(
            kind="parameters-not-in-any-optimizer",
            subject="model",
            message=(f"{_plural(len(missing), 'trainable Parameter')} of the model "
                     f"{'is' if one else 'are'} in no optimizer ({_listing(missing)}): "
                     f"{'it gets' if one else 'they get'} gradients but never change."),
            fix=("add them to an optimizer (rebuild it after replacing a layer), or freeze "
                 "them with requires_grad_(False) if that is what you meant."),
            tensors=tuple(missing),
        ))
    return findings


def _check_shared_state(opts: dict[str, Optimizer]) -> list[Finding]:
    states = {name: _optimizer_state(f"optimizer '{name}'", opt) for name, opt in opts.items()}
    names = list(states)
    findings = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            shared = list(dict.fromkeys(e.name for e, _ in _pairs(states[a], states[b])))
            if not shared:
                continue
            same = " (they are the same object)" if opts[a] is opts[b] else ""
            findings.append(Finding(
                kind="optimizers-share-state",
                subject=f"optimizers '{a}' and '{b}'",
                message=(f"Optimizers '{a}' and '{b}' share "
                         f"{_plural(len(shared), 'state tensor')}{same} ({_listing(shared)}): "
                         "each step() of one changes the other's momentum or moments, so "
                         "neither follows its own history."),
                fix=(("these are two names for one optimizer: if you meant two, build the "
                      "second one as a new optimizer with its own state.") if same else
                     ("give the second optimizer its own copy of the state: "
                      f"{_var(b, 'opt_b')}.load_state_dict("
                      f"copy.deepcopy({_var(a, 'opt_a')}.state_dict())).")),
                tensors=tuple(shared),
            ))
    return findings


def _check_averages(model: nn.Module, model_entries: list[_Entry],
                    avgs: dict[str, nn.Module]) -> list[Finding]:
    findings = []
    for name, avg in avgs.items():
        entries = _flatten(f"average '{name}'", avg)
        if avg is model:
            shared = [e.name for e in entries]
            detail = "it is the online model itself (the same object)"
        else:
            shared = list(dict.fromkeys(e.name for e, _ in _pairs(entries, model_entries)))
            if not shared:
                continue
            detail = (f"{len(shared)} of its {len(entries)} tensors share memory with it "
                      f"({_listing(shared)})")
        findings.append(Finding(
            kind="average-aliases-online",
            subject=f"average '{name}'",
            message=(f"Average '{name}' is not a copy of the online model: {detail}. It "
                     "follows every training step exactly instead of averaging."),
            fix=("make it with copy.deepcopy(model).requires_grad_(False) (or "
                 "torch.optim.swa_utils.AveragedModel(model)) and update it in place under "
                 "torch.no_grad()."),
            tensors=tuple(shared),
        ))
    return findings


def format_findings(findings: Sequence[Finding]) -> str:
    """A numbered plain-text report of ``findings``, wrapped to 88 columns (``""`` for none).

    >>> f = Finding("optimizers-share-state", "optimizers 'a' and 'b'", "They share state.",
    ...             "deep-copy the state.", ("state[0].exp_avg",))
    >>> print(format_findings([f]))
    1. They share state.
       Fix: deep-copy the state.
    """
    if isinstance(findings, (Finding, str, bytes)) or not isinstance(findings, Sequence):
        raise TypeError(f"findings must be a list of Finding, got {type(findings).__name__}")
    blocks = []
    for i, f in enumerate(findings, 1):
        if not isinstance(f, Finding):
            raise TypeError(f"findings[{i - 1}] must be a Finding, got {type(f).__name__}")
        number = f"{i}. "
        indent = " " * len(number)
        fix = _fill("Fix: " + f.fix, indent, indent)
        blocks.append(f"{_fill(f.message, number, indent)}\n{fix}")
    return "\n".join(blocks)


def _fill(text: str, first: str, rest: str) -> str:
    return textwrap.fill(text, width=_WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False, break_long_words=False)
