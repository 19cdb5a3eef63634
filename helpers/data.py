"""Seeded toy data: the course makes its own, tiny and identical on every run.

>>> x, y = article_batch()
>>> tuple(x.shape), tuple(y.shape), bool(((y >= 0) & (y <= 1)).all())
((8, 10), (8, 4), True)
"""
from __future__ import annotations

import torch

__all__ = ["article_batch", "article_batch_as_written", "toy_classification"]


def _generator(seed: int) -> torch.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return torch.Generator().manual_seed(seed)


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def article_batch_as_written(seed: int = 0, batch: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Seed 000's data exactly as written: ``randn`` inputs *and* ``randn`` targets.

    The targets include negative values, which ``nn.BCELoss`` rejects (it needs [0, 1]).
    """
    _check_positive(batch=batch)
    g = _generator(seed)
    return torch.randn(batch, 10, generator=g), torch.randn(batch, 4, generator=g)


def article_batch(seed: int = 0, batch: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Seed 000's data, fixed: ``randn`` inputs and targets in [0, 1] that BCELoss accepts.

    >>> x, _ = article_batch(seed=3)
    >>> torch.equal(x, article_batch(seed=3)[0])
    True
    """
    _check_positive(batch=batch)
    g = _generator(seed)
    return torch.randn(batch, 10, generator=g), torch.rand(batch, 4, generator=g)


def toy_classification(
    n: int = 64, features: int = 2, classes: int = 2, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian blobs, one per class: inputs ``(n, features)``, integer labels ``(n,)``.

    >>> x, y = toy_classification(n=6, seed=1)
    >>> tuple(x.shape), y.tolist()
    ((6, 2), [0, 1, 0, 1, 0, 1])
    """
    _check_positive(n=n, features=features, classes=classes)
    g = _generator(seed)
    labels = torch.arange(n) % classes
    centres = 3.0 * torch.randn(classes, features, generator=g)
    return centres[labels] + torch.randn(n, features, generator=g), labels
