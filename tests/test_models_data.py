"""Unit tests for helpers.models, helpers.data and helpers.reproducible.

Within one process these tests show that results depend on the seed given and on nothing else
(the global generators are disturbed between the runs compared). That a fresh process prints
the same numbers as the last one is nbval's check of every chapter against its stored outputs.
"""

import random

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from helpers.data import article_batch, article_batch_as_written
from helpers.models import ArticleNet, LogisticRegression, seeded
from helpers.reproducible import init_course


def test_article_net_shapes_and_range():
    out = seeded(ArticleNet)(torch.randn(8, 10))
    assert out.shape == (8, 4) and bool(((out > 0) & (out < 1)).all())


def test_logistic_regression_matches_seed_004():
    m = LogisticRegression(2, 2)
    assert list(m.state_dict()) == ["fc.weight", "fc.bias"]
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        LogisticRegression(0, 2)
    with pytest.raises(TypeError, match="num_classes must be an int, got float"):
        LogisticRegression(2, 2.0)
    with pytest.raises(TypeError, match="in_features must be an int, got bool"):
        LogisticRegression(True, 2)


def test_seeded_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    a, b = seeded(ArticleNet, seed=3), seeded(ArticleNet, seed=3)
    assert torch.equal(torch.rand(1), expected)
    assert torch.equal(a.layer1.weight, b.layer1.weight)
    assert not torch.equal(a.layer1.weight, seeded(ArticleNet, seed=4).layer1.weight)
    assert seeded(LogisticRegression, 2, 3).fc.out_features == 3
    assert type(seeded(LogisticRegression, 2, 3)) is LogisticRegression  # the class given


def test_seeded_bad_input():
    with pytest.raises(TypeError, match="nn.Module subclass"):
        seeded(nn.Linear(1, 1))
    with pytest.raises(TypeError, match="seed must be an int, got str"):
        seeded(ArticleNet, seed="1")
    with pytest.raises(TypeError, match="seed must be an int, got bool"):
        seeded(ArticleNet, seed=True)


def test_article_batches():
    x, y = article_batch(seed=1)
    assert x.shape == (8, 10) and y.shape == (8, 4)
    assert bool(((y >= 0) & (y <= 1)).all())
    torch.rand(5)  # the global generator moves on; the batch does not depend on it
    assert torch.equal(x, article_batch(seed=1)[0])
    assert not torch.equal(x, article_batch(seed=2)[0])
    _, y_raw = article_batch_as_written(seed=1)
    assert bool((y_raw < 0).any()), "the article's randn targets must include negatives"
    with pytest.raises(ValueError, match="batch must be a positive int"):
        article_batch(batch=0)
    with pytest.raises(TypeError, match="seed must be an int"):
        article_batch(seed=1.5)


def _draws() -> tuple[float, float, torch.Tensor]:
    return random.random(), float(np.random.rand()), torch.rand(3)


def test_init_course_seeds_every_generator():
    init_course(seed=7)
    first = _draws()
    _draws()  # every generator moves on
    init_course(seed=7)
    again = _draws()
    assert first[:2] == again[:2] and torch.equal(first[2], again[2])
    init_course(seed=8)
    assert _draws()[0] != first[0]
    assert torch.get_num_threads() == 1
    assert matplotlib.rcParams["figure.facecolor"] == "white"
    with pytest.raises(TypeError, match="seed must be an int"):
        init_course(seed=None)
