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



# Used by no notebook. Kept only while helpers/__init__.py still imports it; delete this
# function together with that import (see issue 14: "Remove what nothing uses").
def toy_classification(
    n: int = 64, features: int = 2, classes: int = 2, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian blobs, one per class: inputs ``(n, features)``, integer labels ``(n,)``.

    >>> x, y = toy_classification(n=6, seed=1)
    >>> tuple(x.shape), y.tolist()
    ((6, 2), [0, 1, 0, 1, 0, 1])
    """
    for name, value in (("n", n), ("features", features), ("classes", classes)):
        require_int(value, name, positive=True)
    g = _generator(seed)
    labels = torch.arange(n) % classes
    centres = 3.0 * torch.randn(classes, features, generator=g)
    return centres[labels] + torch.randn(n, features, generator=g), labels
