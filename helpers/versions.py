"""Version-aware claims: say clearly that a section needs a newer PyTorch instead of failing oddly.

A few behaviours the course teaches appeared in a given release (``load_state_dict(...,
assign=True)`` in 2.1, ``torch.load``'s ``weights_only=True`` default in 2.6). On an older
PyTorch such a cell would stop with an ``AttributeError`` or ``TypeError`` that says nothing
about versions. Put ``requires_torch("2.6", "what the cell uses")`` first in the cell: on an
older release it stops with :class:`TorchTooOld` (a :class:`~helpers.checks.CheckFailed`), whose
message names the release the claim needs and the one running.

>>> torch_at_least("2.1")
True
>>> requires_torch("2.1", "load_state_dict(..., assign=True)")
>>> requires_torch("99.0", "a future feature")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
helpers.versions.TorchTooOld: ✘ needs torch 99.0 or newer (a future feature); this is torch ...
"""
from __future__ import annotations

import re

import torch

from helpers.checks import CheckFailed

__all__ = ["TorchTooOld", "requires_torch", "torch_at_least"]

_RELEASE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


class TorchTooOld(CheckFailed):
    """This PyTorch is older than the release a claim is about."""


def _release(version: str) -> tuple[int, int, int]:
    match = _RELEASE.match(version) if isinstance(version, str) else None
    if match is None:
        raise ValueError(f"expected a release such as '2.6' or '2.13.0', got {version!r}")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def torch_at_least(version: str, current: str | None = None) -> bool:
    """Whether the running torch (or ``current``) is ``version`` or newer; local labels ignored.

    >>> torch_at_least("2.6", current="2.5.1+cu124"), torch_at_least("2.6", current="2.13.0+cpu")
    (False, True)
    """
    return _release(current or torch.__version__) >= _release(version)


def requires_torch(version: str, feature: str) -> None:
    """Raise :class:`TorchTooOld` naming ``feature`` unless torch is ``version`` or newer."""
    if not isinstance(feature, str) or not feature.strip():
        raise TypeError(f"feature must say what needs the newer torch, got {feature!r}")
    if not torch_at_least(version):
        raise TorchTooOld(
            f"✘ needs torch {version} or newer ({feature}); this is torch {torch.__version__}: "
            "the recorded outputs and this section's rule are about the newer releases"
        )
