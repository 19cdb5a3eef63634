"""Who shares memory with whom: tensors, modules, state_dicts and optimizer state.

The course proves every claim about copying with these functions instead of printing raw
addresses. Two questions, two functions:

- :func:`shares_storage`: do both tensors live in the same storage (the same block of memory,
  the *untyped storage* a tensor and all its views live in), whether or not their elements
  overlap? A view, a slice with an offset, or a NumPy array wrapped with ``torch.from_numpy``
  shares storage with the tensor it came from.
- :func:`overlaps`: does some element of one occupy the same bytes as some element of the
  other, so that a write through one is visible through the other?

>>> import torch
>>> a = torch.zeros(4)
>>> shares_storage(a, a[2:]), shares_storage(a, a.clone())
(True, False)
>>> shares_storage(a[:2], a[2:]), overlaps(a[:2], a[2:])
(True, False)

For many tensors at once, :func:`group_by_storage` returns one :class:`StorageGroup` per
storage; :func:`storage_groups` and :func:`shared_groups` give just the names.

Names follow one syntax, the Python expression that reaches the tensor: ``.attribute`` for a
module's parameters and buffers (PyTorch's own dotted names, as in its state_dict), ``["key"]``
for a key of a mapping (a state_dict), ``[i]`` for a position in a list. An optimizer's
parameters are numbered in the order it holds them, as its ``state_dict()`` numbers them:
``opt.param_groups[0]["params"][1]`` is a parameter and ``opt.state[1]["exp_avg"]`` its state.

>>> lin = torch.nn.Linear(2, 1)
>>> storage_groups({"model": lin, "sd": lin.state_dict()})
[['model.weight', 'sd["weight"]'], ['model.bias', 'sd["bias"]']]
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from helpers.validate import require_tensor, require_type

__all__ = [
    "ModelComparison",
    "StorageGroup",
    "StorageMember",
    "compare_models",
    "group_by_storage",
    "named_tensors",
    "overlaps",
    "shared_groups",
    "shares_storage",
    "storage_groups",
]

# Values inside a state_dict-like mapping or an optimizer's param_groups that hold no tensor
# (a step count, a learning rate, a flag, a name): skipped when collecting tensors.
_NO_TENSOR = (type(None), bool, int, float, complex, str, bytes)


# ---------------------------------------------------------------- one tensor's memory


@dataclass(frozen=True)
class _Block:
    """The bytes ``[start, stop)`` of one storage on one device (absolute addresses)."""

    device: str
    start: int
    stop: int

    def meets(self, other: _Block) -> bool:
        return self.device == other.device and self.start < other.stop and other.start < self.stop


def _block(t: torch.Tensor) -> _Block:
    storage = t.untyped_storage()
    start = storage.data_ptr()
    return _Block(str(t.device), start, start + storage.nbytes())


def _first_byte(t: torch.Tensor) -> int:
    """Absolute address of the first element of ``t`` (also for tensors without elements)."""
    return int(t.untyped_storage().data_ptr() + t.storage_offset() * t.element_size())


def _element_starts(t: torch.Tensor) -> torch.Tensor:
    """Sorted, distinct element positions of ``t``, counted in elements from its first one."""
    starts = torch.zeros((), dtype=torch.int64)
    for size, stride in zip(t.shape, t.stride()):
        if size > 1 and stride != 0:  # stride-0 (expanded) and size-1 dims add no position
            starts = (starts.unsqueeze(-1) + torch.arange(size) * stride).flatten()
    distinct: torch.Tensor = torch.unique(starts.flatten())  # sorted
    return distinct


def _span(t: torch.Tensor) -> tuple[int, bool]:
    """(elements from the first to one past the last element, whether every one is used).

    A tensor is *dense* when its elements fill that span without gaps: a contiguous tensor, its
    transpose, a row; not ``x[::2]`` nor a column of a matrix.
    """
    if t.numel() == 0:
        return 0, True
    dims = sorted((stride, size) for size, stride in zip(t.shape, t.stride()))
    dims = [(stride, size) for stride, size in dims if size > 1 and stride != 0]
    span = 1 + sum((size - 1) * stride for stride, size in dims)
    reach = 1  # the dims seen so far reach this many elements, all distinct
    for stride, size in dims:
        if stride < reach:  # dims interleave or repeat: count distinct elements one by one
            return span, _element_starts(t).numel() == span
        reach += (size - 1) * stride
    count = 1
    for _, size in dims:
        count *= size
    return span, count == span


def shares_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    """True if ``a`` and ``b`` live in the same storage (the same block of memory), whether or
    not their elements overlap.

    Views, slices, transposes and ``detach()`` keep the storage; ``clone()`` and arithmetic make a
    new one. Two disjoint slices of one tensor share storage although no element of one is an
    element of the other: ask :func:`overlaps` whether a write through one is visible through the
    other. An empty storage (no bytes) is shared with nothing. Storages wrapped around the same
    outside memory (two NumPy arrays over one buffer) count as one block where their bytes meet.

    >>> import torch
    >>> w = torch.ones(2, 3)
    >>> shares_storage(w, w.t()), shares_storage(w, w.detach()), shares_storage(w, w + 0)
    (True, True, False)
    >>> shares_storage(w[0], w[1])  # same storage, different elements
    True
    """
    a = require_tensor(a, "a")
    b = require_tensor(b, "b")
    return _block(a).meets(_block(b))


def overlaps(a: torch.Tensor, b: torch.Tensor) -> bool:
    """True if some element of ``a`` occupies the same bytes as some element of ``b``: a write
    through one is then visible through the other.

    Exact for any strides: disjoint slices, interleaved steps (``x[::2]`` and ``x[1::2]``),
    transposes and expanded (stride-0) tensors are all answered element by element, not by
    comparing byte ranges. Tensors without elements overlap nothing.

    >>> import torch
    >>> x = torch.arange(6.0)
    >>> overlaps(x[:3], x[2:]), overlaps(x[:3], x[3:]), overlaps(x[::2], x[1::2])
    (True, False, False)
    >>> shares_storage(x[:3], x[3:])  # same storage, no common element
    True
    """
    a = require_tensor(a, "a")
    b = require_tensor(b, "b")
    if a.numel() == 0 or b.numel() == 0 or not _block(a).meets(_block(b)):
        return False
    ia, ib = a.element_size(), b.element_size()
    (span_a, dense_a), (span_b, dense_b) = _span(a), _span(b)
    first_a, first_b = _first_byte(a), _first_byte(b)
    if first_a + span_a * ia <= first_b or first_b + span_b * ib <= first_a:
        return False
    if dense_a and dense_b:  # both fill their byte ranges, and the ranges meet
        return True
    xs = _element_starts(a) * ia + first_a
    ys = _element_starts(b) * ib + first_b
    # element [x, x + ia) of a meets element [y, y + ib) of b  <=>  y - ia < x < y + ib
    first = torch.searchsorted(xs, ys - ia + 1)
    inside = first < xs.numel()
    return bool((xs[first[inside]] < ys[inside] + ib).any())


# ---------------------------------------------------------------- names


def _attribute(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _key(key: object, where: str) -> str:
    """``["key"]`` or ``[3]``: how a mapping key or list position is written in a name."""
    if isinstance(key, str):
        return "[" + json.dumps(key, ensure_ascii=False) + "]"
    if isinstance(key, int) and not isinstance(key, bool):
        return f"[{key}]"
    raise TypeError(
        f"mapping keys must be str or int, got {type(key).__name__} ({key!r}) at {where or 'top'}"
    )


def _collect(obj: object, path: str, out: dict[str, torch.Tensor], *, strict: bool) -> None:
    """Add the tensors of ``obj`` to ``out``. ``strict``: ``obj`` must hold tensors (what the
    caller passed, and each value of a top-level dict of names); deeper down, values that hold
    no tensor (a step count, a flag) are skipped."""
    if isinstance(obj, torch.Tensor):
        out[path or "tensor"] = require_tensor(obj, path or "tensor")
    elif isinstance(obj, nn.Module):
        for name, p in obj.named_parameters(remove_duplicate=False):
            out[_attribute(path, name)] = require_tensor(p, _attribute(path, name))
        for name, b in obj.named_buffers(remove_duplicate=False):
            out[_attribute(path, name)] = require_tensor(b, _attribute(path, name))
    elif isinstance(obj, torch.optim.Optimizer):
        _collect_optimizer(obj, path, out)
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            if strict and not path and isinstance(key, str) and key:
                # the top level maps names to things: {"model": model, ...}
                _collect(value, key, out, strict=True)
            else:
                _collect(value, path + _key(key, path), out, strict=False)
    elif isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        for i, value in enumerate(obj):
            _collect(value, f"{path}[{i}]", out, strict=False)
    elif strict or not isinstance(obj, _NO_TENSOR):
        raise TypeError(
            "expected a Tensor, nn.Module, torch.optim.Optimizer, or a dict/list of them; "
            f"got {type(obj).__name__}" + (f" at {path!r}" if path else "")
        )


def _collect_optimizer(opt: torch.optim.Optimizer, path: str, out: dict[str, torch.Tensor]) -> None:
    number: dict[int, int] = {}  # id(parameter) -> its number, as opt.state_dict() numbers them
    for g, group in enumerate(opt.param_groups):
        for key, value in group.items():
            where = f"{_attribute(path, 'param_groups')}[{g}]{_key(key, path)}"
            _collect(value, where, out, strict=False)
        for p in group["params"]:
            number.setdefault(id(p), len(number))
    for p, state in opt.state.items():
        if id(p) not in number:
            owner = path or "the optimizer"
            raise ValueError(f"{owner} has state for a tensor that is not in its param_groups")
        _collect(state, f"{_attribute(path, 'state')}[{number[id(p)]}]", out, strict=False)


def named_tensors(obj: object, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every tensor in a tensor, module, state_dict, optimizer, or a dict/list of them, by name.

    At the top level a dict maps names to things (``{"model": model, "sd": sd}``); below it the
    names follow the module docstring's syntax: ``model.fc.weight``, ``sd["fc.weight"]``,
    ``opt.state[0]["exp_avg"]``. Tied parameters appear under every name. Plain numbers, strings
    and ``None`` inside dicts (a step count, a flag) hold no tensor and are skipped. ``prefix``
    names ``obj`` itself.

    >>> import torch
    >>> list(named_tensors({"lin": torch.nn.Linear(2, 1)}))
    ['lin.weight', 'lin.bias']
    >>> list(named_tensors(torch.nn.Linear(2, 1).state_dict(), prefix="sd"))
    ['sd["weight"]', 'sd["bias"]']
    """
    prefix = require_type(prefix, str, "prefix")
    out: dict[str, torch.Tensor] = {}
    _collect(obj, prefix, out, strict=True)
    return out


# ---------------------------------------------------------------- groups


@dataclass(frozen=True)
class StorageMember:
    """One named tensor inside a :class:`StorageGroup`.

    ``start`` and ``stop`` are the bytes from its first element to one past its last, counted
    from the start of the group's block; ``dense`` says whether its elements fill that range
    (false for ``x[::2]`` or a column of a matrix). The tensor itself is kept (not compared, not
    printed) so a caller can ask further questions about it.
    """

    name: str
    start: int
    stop: int
    dense: bool
    tensor: torch.Tensor = field(compare=False, repr=False)

    @property
    def itemsize(self) -> int:
        """Bytes per element of this tensor."""
        return self.tensor.element_size()

    def element_offsets(self) -> tuple[int, ...]:
        """Byte offset (from the block's start) of each distinct element, ascending."""
        starts = _element_starts(self.tensor) if self.tensor.numel() else torch.zeros(0)
        return tuple(self.start + int(s) * self.itemsize for s in starts)


@dataclass(frozen=True)
class StorageGroup:
    """Tensors that live in one storage: one block of ``nbytes`` bytes on ``device``.

    ``members`` keep first-seen order. ``dtype`` is the first member's, and counts the block's
    elements (``numel``). Absolute addresses are left out on purpose: they change from run to
    run, and the course never prints them.
    """

    device: str
    dtype: torch.dtype
    nbytes: int
    members: tuple[StorageMember, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The members' names, in first-seen order."""
        return tuple(m.name for m in self.members)

    @property
    def numel(self) -> int:
        """How many elements of ``dtype`` the block holds."""
        return self.nbytes // self.dtype.itemsize

    def member(self, name: str) -> StorageMember:
        """The member called ``name``."""
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(f"{name!r} is not in this storage group; its members: {list(self.names)}")


def group_by_storage(obj: object) -> list[StorageGroup]:
    """Group the named tensors of ``obj`` (see :func:`named_tensors`) by storage.

    Two names are in one group exactly when :func:`shares_storage` holds for their tensors (or
    a chain of them links them, as for NumPy arrays over one buffer). Every name appears in
    exactly one group; groups are in first-seen order.

    >>> import torch
    >>> w = torch.zeros(4)
    >>> [g] = group_by_storage({"w": w, "tail": w[2:]})
    >>> g.names, g.nbytes, g.member("tail").start, g.member("tail").stop
    (('w', 'tail'), 16, 8, 16)
    """
    tensors = named_tensors(obj)
    if not tensors:
        raise ValueError(
            "found no tensors to group; pass a tensor, module, state_dict or optimizer"
        )
    names = list(tensors)
    blocks = [_block(tensors[n]) for n in names]
    # sweep the blocks in address order: a block that meets the bytes of the current run joins it
    runs: list[list[int]] = []
    current: list[int] = []
    reach = _Block("", 0, 0)  # the bytes the current run covers
    for i in sorted(range(len(names)), key=lambda k: (blocks[k].device, blocks[k].start, k)):
        block = blocks[i]
        if block.start == block.stop:  # an empty storage shares nothing
            runs.append([i])
        elif current and block.meets(reach):
            current.append(i)
            reach = _Block(reach.device, reach.start, max(reach.stop, block.stop))
        else:
            current = [i]
            runs.append(current)
            reach = block
    groups = []
    for run in sorted(runs, key=min):
        base = min(blocks[i].start for i in run)
        members = []
        for i in sorted(run):
            t = tensors[names[i]]
            span, dense = _span(t)
            start = _first_byte(t) - base
            stop = start + span * t.element_size()
            members.append(StorageMember(names[i], start, stop, dense, t))
        first = tensors[names[min(run)]]
        nbytes = max(blocks[i].stop for i in run) - base
        groups.append(StorageGroup(str(first.device), first.dtype, nbytes, tuple(members)))
    return groups


def storage_groups(obj: object) -> list[list[str]]:
    """The names of each :func:`group_by_storage` group: one list per storage.

    >>> import torch
    >>> lin = torch.nn.Linear(2, 1)
    >>> storage_groups({"model": lin, "copy": lin.weight.clone()})
    [['model.weight'], ['model.bias'], ['copy']]
    """
    return [list(g.names) for g in group_by_storage(obj)]


def shared_groups(obj: object) -> list[list[str]]:
    """Only the groups of :func:`storage_groups` with two or more names (the shared storages).

    >>> import torch
    >>> lin = torch.nn.Linear(2, 1)
    >>> shared_groups({"model": lin, "alias": lin.weight})
    [['model.weight', 'alias']]
    """
    return [g for g in storage_groups(obj) if len(g) > 1]


# ---------------------------------------------------------------- two models


@dataclass(frozen=True)
class ModelComparison:
    """Parameter-by-parameter comparison of two modules (see :func:`compare_models`)."""

    names: tuple[str, ...]
    same_object: tuple[bool, ...]
    same_storage: tuple[bool, ...]
    equal_values: tuple[bool, ...]

    @property
    def independent(self) -> bool:
        """True if no pair of same-named parameters is one object or shares one storage."""
        return not any(self.same_object) and not any(self.same_storage)

    @property
    def all_equal(self) -> bool:
        """True if every pair of parameters holds the same values."""
        return all(self.equal_values)

    def __str__(self) -> str:
        columns = ("same object", "same storage", "equal values")
        width = max([len("parameter"), *map(len, self.names)])
        rows = [f"{'parameter':<{width}}  " + "  ".join(columns)]
        for i, name in enumerate(self.names):
            cells = (self.same_object[i], self.same_storage[i], self.equal_values[i])
            row = "  ".join(f"{c!s:<{len(h)}}" for c, h in zip(cells, columns))
            rows.append(f"{name:<{width}}  {row}".rstrip())
        return "\n".join(rows)

    __repr__ = __str__


def compare_models(a: nn.Module, b: nn.Module) -> ModelComparison:
    """Compare the parameters of two modules with the same parameter names.

    ``same_storage`` is :func:`shares_storage` for each pair of parameters.

    >>> import copy, torch
    >>> m = torch.nn.Linear(2, 1)
    >>> compare_models(m, copy.deepcopy(m)).independent
    True
    """
    require_type(a, nn.Module, "a", "a torch.nn.Module")
    require_type(b, nn.Module, "b", "a torch.nn.Module")
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    if list(pa) != list(pb):
        only_a = sorted(set(pa) - set(pb))
        only_b = sorted(set(pb) - set(pa))
        raise ValueError(
            "modules must have the same parameter names; "
            f"only in a: {only_a}, only in b: {only_b}"
        )
    names = tuple(pa)
    return ModelComparison(
        names=names,
        same_object=tuple(pa[n] is pb[n] for n in names),
        same_storage=tuple(shares_storage(pa[n], pb[n]) for n in names),
        equal_values=tuple(
            pa[n].shape == pb[n].shape and bool(torch.equal(pa[n], pb[n])) for n in names
        ),
    )
