"""The source articles' models, built the same way every time.

>>> net = ArticleNet()
>>> [tuple(p.shape) for p in net.parameters()]
[(4, 10), (4,)]
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ArticleNet", "LogisticRegression", "seeded"]


class ArticleNet(nn.Module):
    """Seed 000's network: ``Linear(10, 4)`` followed by a sigmoid (outputs in (0, 1))."""

    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Linear(10, 4)
        self.act1 = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act1(self.layer1(x))


class LogisticRegression(nn.Module):
    """Seed 004's model: one ``Linear(in_features, num_classes)`` layer named ``fc``.

    >>> LogisticRegression(2, 2).fc
    Linear(in_features=2, out_features=2, bias=True)
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def seeded(factory: type[nn.Module], *args: object, seed: int = 0, **kwargs: object) -> nn.Module:
    """Build ``factory(*args, **kwargs)`` with its initial weights drawn from ``seed``.

    The global random state is restored afterwards, so building a model does not shift the
    random numbers a notebook draws next.

    >>> a, b = seeded(ArticleNet, seed=1), seeded(ArticleNet, seed=1)
    >>> torch.equal(a.layer1.weight, b.layer1.weight)
    True
    """
    if not (isinstance(factory, type) and issubclass(factory, nn.Module)):
        raise TypeError(f"factory must be an nn.Module subclass, got {factory!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory(*args, **kwargs)
