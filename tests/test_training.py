"""Unit tests of helpers.training."""
import copy

import pytest
import torch

from helpers.data import article_batch
from helpers.models import ArticleNet, LogisticRegression, seeded
from helpers.training import train_step, train_steps


def _net_and_opt(seed=0):
    net = seeded(ArticleNet, seed=seed)
    return net, torch.optim.Adam(net.parameters(), lr=0.01)


def test_train_step_updates_parameters_and_returns_float():
    net, opt = _net_and_opt()
    before = copy.deepcopy(net)
    loss = train_step(net, opt, *article_batch())
    assert isinstance(loss, float) and loss > 0
    assert not torch.equal(before.layer1.weight, net.layer1.weight)


def test_two_identical_runs_are_bitwise_equal():
    """The second run starts where the first left the global generator: equal results mean
    the runs depend on their seeds only (a fresh process is nbval's check of chapter 05)."""
    a, oa = _net_and_opt()
    b, ob = _net_and_opt()
    first = train_steps(a, oa, 4)
    torch.rand(5)
    assert train_steps(b, ob, 4) == first
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_split_run_with_start_matches_uninterrupted_run():
    a, oa = _net_and_opt()
    b, ob = _net_and_opt()
    whole = train_steps(a, oa, 4)
    split = train_steps(b, ob, 2) + train_steps(b, ob, 2, start=2)
    assert whole == split
    assert torch.equal(a.layer1.weight, b.layer1.weight)


def test_custom_data_and_loss():
    net = seeded(LogisticRegression, 2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 0, 1, 0, 1])
    losses = train_steps(net, opt, 3, data=lambda k: (x, y), loss_fn=torch.nn.CrossEntropyLoss())
    assert len(losses) == 3 and losses[-1] < losses[0]


def test_zero_steps_is_a_no_op():
    net, opt = _net_and_opt()
    assert train_steps(net, opt, 0) == []


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"steps": -1}, ValueError),
        ({"steps": 1.5}, TypeError),
        ({"steps": True}, TypeError),
        ({"steps": 1, "start": -2}, ValueError),
        ({"steps": 1, "data": 3}, TypeError),
    ],
)
def test_train_steps_rejects_bad_arguments(kwargs, error):
    net, opt = _net_and_opt()
    with pytest.raises(error):
        train_steps(net, opt, **kwargs)


def test_train_step_rejects_bad_types():
    net, opt = _net_and_opt()
    x, y = article_batch()
    with pytest.raises(TypeError):
        train_step("net", opt, x, y)
    with pytest.raises(TypeError):
        train_step(net, "opt", x, y)
    with pytest.raises(TypeError):
        train_step(net, opt, x.tolist(), y)
    with pytest.raises(TypeError):
        train_step(net, opt, x, y, loss_fn=3)
