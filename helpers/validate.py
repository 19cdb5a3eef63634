"""Checks at the boundary: what a learner passes to a public helper, refused with a clear error.

Every public helper validates its arguments with these few functions, so the same mistake gets
the same message everywhere: what was expected, and what arrived instead.

>>> require_int(3, "seed")
3
>>> require_int(True, "seed")
Traceback (most recent call last):
...
TypeError: seed must be an int, got bool
>>> require_int(0, "batch", positive=True)
Traceback (most recent call last):
...
ValueError: batch must be a positive int, got 0
"""
from __future__ import annotations

from typing import TypeVar

import torch

__all__ = ["require_int", "require_str", "require_tensor", "require_type"]

T = TypeVar("T")


def require_type(value: object, kind: type[T], name: str, expected: str = "") -> T:
    """Return ``value`` if it is a ``kind``; raise ``TypeError`` naming ``expected`` otherwise.

    >>> require_type([1], list, "items")
    [1]
    >>> require_type(3, str, "title", "a str or None")
    Traceback (most recent call last):
    ...
    TypeError: title must be a str or None, got int
    """
    if not isinstance(value, kind):
        what = expected or f"a {kind.__name__}"
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def require_int(
    value: object, name: str, *, positive: bool = False, minimum: int | None = None
) -> int:
    """Return ``value`` if it is an int (``bool`` is refused: ``True`` is not a count or a seed).

    With ``positive=True`` it must also be at least 1, with ``minimum`` at least that
    (``ValueError`` otherwise).

    >>> require_int(-1, "steps", minimum=0)
    Traceback (most recent call last):
    ...
    ValueError: steps must be an int >= 0, got -1
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if positive and value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def require_str(value: object, name: str) -> str:
    """Return ``value`` if it is a non-empty, non-blank str.

    >>> require_str(" ", "name")
    Traceback (most recent call last):
    ...
    ValueError: name must be a non-empty str, got ' '
    """
    text = require_type(value, str, name, "a non-empty str")
    if not text.strip():
        raise ValueError(f"{name} must be a non-empty str, got {value!r}")
    return text


def require_tensor(value: object, name: str) -> torch.Tensor:
    """Return ``value`` if it is a dense tensor with real memory behind it.

    Sparse and other non-strided layouts, and tensors on the ``meta`` device (shape only, no
    memory), are refused with ``ValueError``: their memory cannot be compared.
    """
    t = require_type(value, torch.Tensor, name, "a torch.Tensor")
    if t.layout != torch.strided:
        raise ValueError(f"{name} must be a dense (strided) tensor, got layout {t.layout}")
    if t.device.type == "meta":
        raise ValueError(f"{name} is on the meta device: it has no memory to compare")
    return t
