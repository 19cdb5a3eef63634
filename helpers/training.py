"""Seeded training steps: identical batches for every run, so two runs can be compared bit for bit.

Batch ``k`` of a run is always ``article_batch(seed=k)`` (or the ``data`` function you pass), so a
run that stops after step 3 and resumes at step 3 sees exactly the batches an uninterrupted run
sees.

>>> import torch
>>> from helpers.models import ArticleNet, seeded
>>> a, b = seeded(ArticleNet), seeded(ArticleNet)
>>> oa = torch.optim.SGD(a.parameters(), lr=0.1)
>>> ob = torch.optim.SGD(b.parameters(), lr=0.1)
>>> train_steps(a, oa, 3) == train_steps(b, ob, 3)
True
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from helpers.data import article_batch
from helpers.validate import require_int, require_type

__all__ = ["train_step", "train_steps"]

Batch = tuple[torch.Tensor, torch.Tensor]


def _check_model_and_optimizer(model: object, optimizer: object) -> None:
    require_type(model, nn.Module, "model", "a torch.nn.Module")
    require_type(optimizer, torch.optim.Optimizer, "optimizer", "a torch.optim.Optimizer")


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> float:
    """One step: forward, loss (``nn.BCELoss`` by default), ``zero_grad``, backward, ``step``.

    Returns the loss before the update as a Python float.

    >>> import torch
    >>> from helpers.data import article_batch
    >>> from helpers.models import ArticleNet, seeded
    >>> net = seeded(ArticleNet)
    >>> before = net.layer1.weight.detach().clone()
    >>> loss = train_step(net, torch.optim.SGD(net.parameters(), lr=0.1), *article_batch())
    >>> isinstance(loss, float), torch.equal(before, net.layer1.weight)
    (True, False)
    """
    _check_model_and_optimizer(model, optimizer)
    require_type(x, torch.Tensor, "x", "a torch.Tensor")
    require_type(y, torch.Tensor, "y", "a torch.Tensor")
    if loss_fn is None:
        loss_fn = nn.BCELoss()
    elif not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    loss = loss_fn(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def train_steps(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    steps: int,
    start: int = 0,
    data: Callable[[int], Batch] = lambda k: article_batch(seed=k),
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> list[float]:
    """Run ``steps`` training steps; step ``k`` (counting from ``start``) uses batch ``data(k)``.

    Returns the list of losses. ``start`` lets a resumed run continue with the right batches.

    >>> import torch
    >>> from helpers.models import ArticleNet, seeded
    >>> net = seeded(ArticleNet)
    >>> len(train_steps(net, torch.optim.Adam(net.parameters()), 2, start=5))
    2
    """
    _check_model_and_optimizer(model, optimizer)
    require_int(steps, "steps", minimum=0)
    require_int(start, "start", minimum=0)
    if not callable(data):
        raise TypeError(f"data must be callable, got {type(data).__name__}")
    return [
        train_step(model, optimizer, *data(k), loss_fn=loss_fn) for k in range(start, start + steps)
    ]
