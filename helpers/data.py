"""Seeded toy data: the course makes its own, tiny and identical on every run.

>>> x, y = article_batch()
>>> tuple(x.shape), tuple(y.shape), bool(((y >= 0) & (y <= 1)).all())
((8, 10), (8, 4), True)
"""
from __future__ import annotations

import torch

from helpers.validate import require_int

__all__ = ["article_batch", "article_batch_as_written"]


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(require_int(seed, "seed"))


def article_batch_as_written(seed: int = 0, batch: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """The first article's data exactly as written: ``randn`` inputs *and* ``randn`` targets.

    The targets include negative values, which ``nn.BCELoss`` rejects (it needs [0, 1]).
    """
    require_int(batch, "batch", positive=True)
    g = _generator(seed)
    return torch.randn(batch, 10, generator=g), torch.randn(batch, 4, generator=g)


def article_batch(seed: int = 0, batch: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """The first article's data, fixed: ``randn`` inputs and targets in [0, 1] that BCELoss accepts.

    >>> x, _ = article_batch(seed=3)
    >>> torch.equal(x, article_batch(seed=3)[0])
    True
    """
    require_int(batch, "batch", positive=True)
    g = _generator(seed)
    return torch.randn(batch, 10, generator=g), torch.rand(batch, 4, generator=g)
