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
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "shares_storage",
    "overlaps",
    "named_tensors",
    "storage_groups",
    "shared_groups",
    "compare_models",
    "ModelComparison",
]


def _check_tensor(x: object, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.layout != torch.strided:
        raise ValueError(f"{name} must be a dense (strided) tensor, got layout {x.layout}")
    if x.device.type == "meta":
        raise ValueError(f"{name} is on the meta device: it has no memory to compare")
    return x


def _memory_range(t: torch.Tensor) -> tuple[str, int, int]:
    """(device, first byte, one past the last byte) of the storage behind ``t``."""
    storage = t.untyped_storage()
    start = storage.data_ptr()
    return str(t.device), start, start + storage.nbytes()


def _overlap(r1: tuple[str, int, int], r2: tuple[str, int, int]) -> bool:
    return r1[0] == r2[0] and r1[1] < r2[2] and r2[1] < r1[2]


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
    a = _check_tensor(a, "a")
    b = _check_tensor(b, "b")
    return _overlap(_memory_range(a), _memory_range(b))


def _element_starts(t: torch.Tensor) -> torch.Tensor:
    """Sorted, distinct byte addresses at which the elements of ``t`` start."""
    item = t.element_size()
    base = t.untyped_storage().data_ptr() + t.storage_offset() * item
    starts = torch.zeros((), dtype=torch.int64)
    for size, stride in zip(t.shape, t.stride()):
        if size > 1 and stride != 0:  # stride-0 (expanded) and size-1 dims add no address
            starts = (starts.unsqueeze(-1) + torch.arange(size) * (stride * item)).flatten()
    return torch.unique(starts.flatten()) + base


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
    a = _check_tensor(a, "a")
    b = _check_tensor(b, "b")
    if a.numel() == 0 or b.numel() == 0 or not shares_storage(a, b):
        return False
    ia, ib = a.element_size(), b.element_size()
    sa, sb = _element_starts(a), _element_starts(b)
    # element [x, x + ia) of a meets element [y, y + ib) of b  <=>  y - ia < x < y + ib
    first = torch.searchsorted(sa, sb - ia + 1)
    inside = first < sa.numel()
    hits = sa[first[inside]] < sb[inside] + ib
    return bool(hits.any())


def _optimizer_tensors(opt: torch.optim.Optimizer, prefix: str) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    index: dict[int, int] = {}
    for g, group in enumerate(opt.param_groups):
        for p in group["params"]:
            index.setdefault(id(p), len(index))
            out[f"{prefix}param_groups[{g}][{index[id(p)]}]"] = p
    for p, state in opt.state.items():
        i = index.get(id(p), "?")
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                out[f"{prefix}state[{i}].{key}"] = value
    return out


def named_tensors(obj: object, prefix: str = "") -> dict[str, torch.Tensor]:
    """Flatten a tensor, module, state_dict, optimizer, or a dict/list of them into names.

    Modules give ``prefix + parameter/buffer name`` (tied parameters appear under every name);
    optimizers give ``param_groups[g][i]`` and ``state[i].<key>`` (``i`` numbers parameters in
    the order the optimizer holds them); mappings and sequences nest with ``.`` and ``[i]``.

    >>> import torch
    >>> sorted(named_tensors({"lin": torch.nn.Linear(2, 1)}))
    ['lin.bias', 'lin.weight']
    """
    if isinstance(obj, torch.Tensor):
        return {prefix or "tensor": _check_tensor(obj, prefix or "tensor")}
    dot = f"{prefix}." if prefix else ""
    if isinstance(obj, nn.Module):
        out = {dot + n: p for n, p in obj.named_parameters(remove_duplicate=False)}
        out.update({dot + n: b for n, b in obj.named_buffers(remove_duplicate=False)})
        return out
    if isinstance(obj, torch.optim.Optimizer):
        return _optimizer_tensors(obj, dot)
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"mapping keys must be str or int, got {type(key).__name__}")
            name = f"{dot}{key}" if isinstance(key, str) else f"{prefix}[{key}]"
            out.update(_named_or_fail(value, name))
        return out
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        out = {}
        for i, value in enumerate(obj):
            out.update(_named_or_fail(value, f"{prefix}[{i}]"))
        return out
    raise TypeError(
        "expected a Tensor, nn.Module, torch.optim.Optimizer, or a dict/list of them; "
        f"got {type(obj).__name__}" + (f" at {prefix!r}" if prefix else "")
    )


def _named_or_fail(value: object, name: str) -> dict[str, torch.Tensor]:
    # Plain numbers inside optimizer-like dicts (e.g. a step count) are not tensors: skip them.
    if isinstance(value, (int, float, bool)) or value is None:
        return {}
    return named_tensors(value, name)


def storage_groups(obj: object) -> list[list[str]]:
    """Group the named tensors of ``obj`` (see :func:`named_tensors`) by shared memory.

    Every tensor appears in exactly one group; groups and names keep first-seen order.

    >>> import torch
    >>> lin = torch.nn.Linear(2, 1)
    >>> storage_groups({"model": lin, "sd": lin.state_dict()})
    [['model.weight', 'sd.weight'], ['model.bias', 'sd.bias']]
    """
    tensors = named_tensors(obj)
    if not tensors:
        raise ValueError("found no tensors to group; pass a tensor, module, state_dict or optimizer")
    names = list(tensors)
    ranges = [_memory_range(tensors[n]) for n in names]
    parent = list(range(len(names)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(names)):
        for j in range(i):
            if _overlap(ranges[i], ranges[j]):
                parent[find(i)] = find(j)
    groups: dict[int, list[str]] = {}
    for i, name in enumerate(names):
        groups.setdefault(find(i), []).append(name)
    return list(groups.values())


def shared_groups(obj: object) -> list[list[str]]:
    """Only the groups of :func:`storage_groups` with two or more names (the aliases)."""
    return [g for g in storage_groups(obj) if len(g) > 1]


@dataclass(frozen=True)
class ModelComparison:
    """Parameter-by-parameter comparison of two modules (see :func:`compare_models`)."""

    names: tuple[str, ...]
    same_object: tuple[bool, ...]
    same_storage: tuple[bool, ...]
    equal_values: tuple[bool, ...]

    @property
    def independent(self) -> bool:
        """True if no parameter is shared, as an object or as memory."""
        return not any(self.same_object) and not any(self.same_storage)

    @property
    def all_equal(self) -> bool:
        """True if every pair of parameters holds the same values."""
        return all(self.equal_values)

    def __str__(self) -> str:
        width = max([len("parameter"), *map(len, self.names)])
        head = f"{'parameter':<{width}}  same object  same storage  equal values"
        rows = [
            f"{n:<{width}}  {str(o):<11}  {str(s):<12}  {e}"
            for n, o, s, e in zip(self.names, self.same_object, self.same_storage, self.equal_values)
        ]
        return "\n".join([head, *rows])

    __repr__ = __str__


def compare_models(a: nn.Module, b: nn.Module) -> ModelComparison:
    """Compare the parameters of two modules with the same parameter names.

    >>> import copy, torch
    >>> m = torch.nn.Linear(2, 1)
    >>> compare_models(m, copy.deepcopy(m)).independent
    True
    """
    for name, m in (("a", a), ("b", b)):
        if not isinstance(m, nn.Module):
            raise TypeError(f"{name} must be a torch.nn.Module, got {type(m).__name__}")
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
