"""Loud checks: every rule the course states is proven by a call that raises when it is false.

A printed ``True`` only fails under nbval's output comparison; a learner on another PyTorch
version (Colab, an older lab machine) would read a different printout and carry on. ``check``
prints the claim it proved, and raises :class:`CheckFailed` (an ``AssertionError``) naming the
claim when it does not hold, so the cell stops with a red error on any version.

>>> check(1 + 1 == 2, "one plus one is two")
✔ one plus one is two
>>> check(1 + 1 == 3, "one plus one is three")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
helpers.checks.CheckFailed: ✘ does not hold here: one plus one is three (torch ...)
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["CheckFailed", "check", "expect_error"]


class CheckFailed(AssertionError):
    """A claim the course makes does not hold on this machine (this PyTorch version)."""


def _as_bool(condition: object) -> bool:
    if isinstance(condition, bool):
        return condition
    if isinstance(condition, torch.Tensor) and condition.dtype == torch.bool:
        if condition.numel() == 1:
            return bool(condition.item())
    raise TypeError(
        "check() needs a bool (or a one-element bool tensor) as its condition, got "
        f"{type(condition).__name__}; compare explicitly, e.g. torch.equal(a, b) or x is y"
    )


def check(condition: object, claim: str) -> None:
    """Print ``✔ claim`` if ``condition`` is true; raise :class:`CheckFailed` otherwise.

    ``condition`` must be a real ``bool`` (``a is b``, ``torch.equal(a, b)``,
    ``shares_storage(a, b)``) or a one-element bool tensor: a truthy list or a
    multi-element tensor is refused with a ``TypeError`` instead of being guessed at.

    >>> import torch
    >>> a = torch.zeros(3)
    >>> check(a.view(3) is not a, "view() returns a new tensor object")
    ✔ view() returns a new tensor object
    >>> check(a == 0, "all zeros")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: check() needs a bool (or a one-element bool tensor) as its condition, got Tensor; ...
    """
    if not isinstance(claim, str) or not claim.strip():
        raise TypeError(f"claim must be a non-empty str saying what is checked, got {claim!r}")
    if not _as_bool(condition):
        raise CheckFailed(f"✘ does not hold here: {claim} (torch {torch.__version__})")
    print(f"✔ {claim}")


@contextmanager
def expect_error(error: type[BaseException], match: str = "") -> Iterator[None]:
    """Run a block that must raise ``error`` (with ``match`` in its message); print what it said.

    Shows an intended failure without stopping the notebook, and fails loudly
    (:class:`CheckFailed`) if the block runs through or raises something else.

    >>> with expect_error(ZeroDivisionError, "division by zero"):
    ...     1 / 0
    ✔ raises ZeroDivisionError: division by zero
    >>> with expect_error(KeyError):
    ...     {}.get("x")
    Traceback (most recent call last):
    ...
    helpers.checks.CheckFailed: ✘ expected KeyError, but the block ran without an error
    """
    if not (isinstance(error, type) and issubclass(error, BaseException)):
        raise TypeError(f"error must be an exception class such as RuntimeError, got {error!r}")
    if not isinstance(match, str):
        raise TypeError(f"match must be a str (a piece of the expected message), got {match!r}")
    try:
        yield
    except error as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if match and not re.search(re.escape(match), str(exc)):
            raise CheckFailed(
                f"✘ {error.__name__} was raised, but its message does not contain {match!r}: "
                f"{message} (torch {torch.__version__})"
            ) from exc
        print(f"✔ raises {type(exc).__name__}: {message}")
        return
    raise CheckFailed(f"✘ expected {error.__name__}, but the block ran without an error")
