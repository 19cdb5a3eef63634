"""A snapshot of a model (and its optimizer) in memory allocated once, refreshed by copying.

``copy.deepcopy(model.state_dict())`` allocates fresh memory on every call, and fresh memory
costs page faults before it can hold a single value. A :class:`Snapshot` allocates its buffers
once, when it is created; :meth:`Snapshot.refresh` then copies the live values into them in
place (one ``torch._foreach_copy_``), and :meth:`Snapshot.restore` copies them back into the
live Parameters, buffers and optimizer state, in place: every object keeps its identity, so an
optimizer built on the model stays valid.

The snapshot shares no memory with the live objects: writes on either side are never seen by
the other. Tied weights (one Parameter under two names) get one buffer and stay tied. A model
whose tensors changed since the snapshot was taken (names, shapes, dtypes, devices) is refused
with an error that says what changed.

>>> import torch
>>> from torch import nn
>>> model = nn.Linear(2, 1)
>>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
>>> snap = Snapshot(model, opt)  # allocates and copies once
>>> with torch.no_grad():
...     _ = model.weight.fill_(7.0)  # training goes on...
...     snap.refresh()  # ...and the snapshot follows only when asked
...     _ = model.weight.fill_(-1.0)
>>> weight = model.weight
>>> snap.restore()
>>> model.weight is weight, model.weight.tolist()
(True, [[7.0, 7.0]])
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from helpers.validate import require_tensor, require_type

__all__ = ["Snapshot", "StructureChanged"]

_Signature = tuple[tuple[str, tuple[int, ...], torch.dtype, torch.device], ...]


class StructureChanged(ValueError):
    """The live model or optimizer no longer has the tensors the snapshot was taken from."""


def _live_tensors(model: nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    """Parameters, then buffers, each object once (a tied Parameter under its first name)."""
    yield from model.named_parameters()
    yield from model.named_buffers()


def _signature(named: list[tuple[str, torch.Tensor]]) -> _Signature:
    return tuple((n, tuple(t.shape), t.dtype, t.device) for n, t in named)


def _describe_change(old: _Signature, new: _Signature) -> str:
    old_names, new_names = [s[0] for s in old], [s[0] for s in new]
    if old_names != new_names:
        added = [n for n in new_names if n not in old_names]
        removed = [n for n in old_names if n not in new_names]
        if added or removed:
            return f"tensors added: {added}, removed: {removed}"
        return "the same tensors in a different order"
    for (name, *was), (_, *now) in zip(old, new):
        if was != now:
            fields = ("shape", "dtype", "device")
            diffs = [f"{f} {a} -> {b}" for f, a, b in zip(fields, was, now) if a != b]
            return f"{name!r}: " + ", ".join(diffs)
    return "nothing"  # unreachable: callers compare first


def _copy_all(dst: list[torch.Tensor], src: list[torch.Tensor]) -> None:
    """``dst[i].copy_(src[i])`` for all i, outside autograd: one ``torch._foreach_copy_`` call.

    ``torch._foreach_copy_`` is private (present in PyTorch 2.13); where it is missing, the
    tensors are copied one by one, which gives the same result.
    """
    with torch.no_grad():
        foreach_copy = getattr(torch, "_foreach_copy_", None)
        if foreach_copy is not None:
            foreach_copy(dst, src)
        else:  # a PyTorch without the private function
            for d, s in zip(dst, src):
                d.copy_(s)


class Snapshot:
    """Copies of a model's parameters and buffers (and optionally an optimizer's state).

    Creating it allocates the buffers and fills them; :meth:`refresh` overwrites them with the
    live values, :meth:`restore` writes them back into the live objects. Neither allocates
    tensor memory (except for optimizer state that appears for the first time, e.g. Adam's
    after its first ``step()``: its buffers are allocated on the first refresh that sees it,
    once; hyperparameters and non-tensor state values are small Python objects, copied).

    ``optimizer`` must be built on ``model``'s own Parameters. Its per-parameter state and its
    hyperparameters (``lr``, ...) are snapshotted and restored with the model, so rolling back
    resumes training exactly where the snapshot was taken.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> None:
        require_type(model, nn.Module, "model", "a torch.nn.Module")
        if optimizer is not None:
            require_type(
                optimizer, torch.optim.Optimizer, "optimizer", "a torch.optim.Optimizer or None"
            )
        self._model = model
        self._optimizer = optimizer
        named = list(_live_tensors(model))
        if not named:
            raise ValueError(
                f"{type(model).__name__} has no parameters or buffers: nothing to snapshot"
            )
        for name, t in named:
            require_tensor(t, f"tensor {name!r}")  # dense, with memory (not sparse, not meta)
        self._signature = _signature(named)
        self._buffers: dict[str, torch.Tensor] = {n: t.detach().clone() for n, t in named}
        # Optimizer: per parameter (in param_groups order) the state tensors' buffers, the
        # non-tensor state values and the keys present at the last refresh (None: no state).
        self._params = self._optimizer_params()
        self._opt_buffers: list[dict[str, torch.Tensor]] = [{} for _ in self._params]
        self._opt_values: list[dict[str, Any]] = [{} for _ in self._params]
        self._opt_present: list[tuple[str, ...] | None] = [None for _ in self._params]
        self._groups: list[dict[str, Any]] = []
        self.refresh()

    # ------------------------------------------------------------------ public

    @property
    def nbytes(self) -> int:
        """Bytes held by the snapshot's tensors (model and optimizer state)."""
        tensors = list(self._buffers.values())
        tensors += [t for d in self._opt_buffers for t in d.values()]
        return sum(t.numel() * t.element_size() for t in tensors)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The snapshot's copies of the model's tensors, by name (parameters, then buffers).

        These are the snapshot's own buffers (no copy is made): a write into them changes the
        snapshot, never the model. Tied Parameters appear once, under their first name.
        """
        return dict(self._buffers)

    def refresh(self) -> None:
        """Copy the live values into the snapshot's buffers, in place.

        Everything is checked before anything is written: a refused refresh leaves the
        snapshot as it was.
        """
        live = self._check_model()
        dst, src = list(self._buffers.values()), [t for _, t in live]
        groups: list[dict[str, Any]] = []
        present: list[tuple[str, ...] | None] = [None for _ in self._params]
        values: list[dict[str, Any]] = [{} for _ in self._params]
        new_buffers: list[tuple[int, str, torch.Tensor]] = []
        if self._optimizer is not None:
            self._check_optimizer()
            groups = [
                {k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
                for g in self._optimizer.param_groups
            ]
            for i, p in enumerate(self._params):
                state = self._optimizer.state.get(p)
                if not state:
                    continue
                present[i] = tuple(state)
                for key, value in state.items():
                    if not isinstance(value, torch.Tensor):
                        values[i][key] = copy.deepcopy(value)
                        continue
                    buf = self._opt_buffers[i].get(key)
                    if buf is None:  # first sight of this state tensor: allocate its buffer once
                        new_buffers.append((i, key, value))
                        continue
                    if (buf.shape, buf.dtype, buf.device) != (
                        value.shape,
                        value.dtype,
                        value.device,
                    ):
                        raise StructureChanged(
                            f"optimizer state {key!r} of parameter {i} changed from "
                            f"{tuple(buf.shape)} {buf.dtype} {buf.device} to "
                            f"{tuple(value.shape)} {value.dtype} {value.device}; "
                            "take a new Snapshot"
                        )
                    dst.append(buf)
                    src.append(value)
        _copy_all(dst, src)
        for i, key, value in new_buffers:
            self._opt_buffers[i][key] = value.detach().clone()
        self._groups, self._opt_present, self._opt_values = groups, present, values

    def restore(self) -> None:
        """Copy the snapshot back into the live model (and optimizer), in place.

        The Parameters, buffers and optimizer state tensors keep their identity and memory;
        optimizer state that did not exist when the snapshot was taken is removed.
        """
        live = self._check_model()
        dst, src = [t for _, t in live], list(self._buffers.values())
        if self._optimizer is not None:
            self._check_optimizer()
            for group, saved in zip(self._optimizer.param_groups, self._groups):
                for key, value in saved.items():
                    if isinstance(group.get(key), torch.Tensor) and isinstance(value, torch.Tensor):
                        dst.append(group[key])
                        src.append(value)
                    else:
                        group[key] = copy.deepcopy(value)
            for i, p in enumerate(self._params):
                present = self._opt_present[i]
                if present is None:
                    self._optimizer.state.pop(p, None)
                    continue
                state = self._optimizer.state[p]
                for key in [k for k in state if k not in present]:
                    del state[key]
                for key in present:
                    if key in self._opt_values[i]:
                        state[key] = copy.deepcopy(self._opt_values[i][key])
                        continue
                    buf, now = self._opt_buffers[i][key], state.get(key)
                    if isinstance(now, torch.Tensor) and (now.shape, now.dtype, now.device) == (
                        buf.shape,
                        buf.dtype,
                        buf.device,
                    ):
                        dst.append(now)
                        src.append(buf)
                    else:
                        state[key] = buf.clone()  # the live state lost this tensor: recreate it
        _copy_all(dst, src)

    # ------------------------------------------------------------------ checks

    def _check_model(self) -> list[tuple[str, torch.Tensor]]:
        live = list(_live_tensors(self._model))
        signature = _signature(live)
        if signature != self._signature:
            raise StructureChanged(
                f"the model's tensors changed since the snapshot was taken "
                f"({_describe_change(self._signature, signature)}); take a new Snapshot"
            )
        return live

    def _optimizer_params(self) -> list[nn.Parameter]:
        if self._optimizer is None:
            return []
        params = [p for g in self._optimizer.param_groups for p in g["params"]]
        own = {id(p) for p in self._model.parameters()}
        foreign = sum(id(p) not in own for p in params)
        if foreign:
            raise ValueError(
                f"the optimizer holds {foreign} parameter(s) that are not this model's "
                "(was it built for another model, or for a copy?)"
            )
        return params

    def _check_optimizer(self) -> None:
        assert self._optimizer is not None
        params = [p for g in self._optimizer.param_groups for p in g["params"]]
        if len(params) != len(self._params) or any(
            a is not b for a, b in zip(params, self._params)
        ):
            raise StructureChanged(
                "the optimizer's parameters changed since the snapshot was taken "
                "(a param group was added, or parameters were replaced); take a new Snapshot"
            )
        own = {id(p) for p in self._model.parameters()}
        if any(id(p) not in own for p in params):
            raise StructureChanged(
                "the optimizer holds parameters the model no longer has (was a layer replaced?); "
                "rebuild the optimizer and take a new Snapshot"
            )
        keys = [sorted(k for k in g if k != "params") for g in self._optimizer.param_groups]
        if self._groups and keys != [sorted(g) for g in self._groups]:
            raise StructureChanged(
                "the optimizer's hyperparameter names changed; take a new Snapshot"
            )
