"""The source articles' models, built the same way every time.

>>> net = ArticleNet()
>>> [tuple(p.shape) for p in net.parameters()]
[(4, 10), (4,)]
"""
from __future__ import annotations

from typing import Any, TypeVar

import torch
from torch import nn

from helpers.validate import require_int

__all__ = ["ArticleNet", "LogisticRegression", "seeded"]


class ArticleNet(nn.Module):
    """The first article's network (copying modelA's weights into modelB): ``Linear(10, 4)``
    followed by a sigmoid (outputs in (0, 1))."""

    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Linear(10, 4)
        self.act1 = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.act1(self.layer1(x))
        return out


class LogisticRegression(nn.Module):
    """The model of "Several PyTorch-related mistakes": one ``Linear(in_features, num_classes)``
    layer named ``fc``.

    >>> LogisticRegression(2, 2).fc
    Linear(in_features=2, out_features=2, bias=True)
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        require_int(in_features, "in_features", positive=True)
        require_int(num_classes, "num_classes", positive=True)
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fc(x)
        return out


M = TypeVar("M", bound=nn.Module)


def seeded(factory: type[M], *args: Any, seed: int = 0, **kwargs: Any) -> M:
    """Build ``factory(*args, **kwargs)`` with its initial weights drawn from ``seed``.

    The global random state is restored afterwards, so building a model does not shift the
    random numbers a notebook draws next. The result has the type of the class given
    (``seeded(ArticleNet)`` is an ``ArticleNet``).

    >>> a, b = seeded(ArticleNet, seed=1), seeded(ArticleNet, seed=1)
    >>> torch.equal(a.layer1.weight, b.layer1.weight)
    True
    """
    if not (isinstance(factory, type) and issubclass(factory, nn.Module)):
        raise TypeError(f"factory must be an nn.Module subclass, got {factory!r}")
    require_int(seed, "seed")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory(*args, **kwargs)
