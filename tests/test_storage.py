"""Unit tests for helpers.storage: each claim the notebooks rely on, and each bad input."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

from helpers import (
    ArticleNet,
    compare_models,
    named_tensors,
    seeded,
    shared_groups,
    shares_storage,
    storage_groups,
)
from helpers.storage import overlaps


def test_views_and_offsets_share_storage():
    t = torch.arange(12.0).reshape(3, 4)
    assert shares_storage(t, t)
    assert shares_storage(t, t[1:, 2:])  # view with an offset
    assert shares_storage(t, t.t())
    assert shares_storage(t[:1], t[2:])  # disjoint slices, same storage
    assert not overlaps(t[:1], t[2:])  # ... but no common element
    assert shares_storage(t, t.detach())


def test_overlaps_is_exact_element_overlap():
    x = torch.arange(12.0)
    assert overlaps(x, x) and overlaps(x, x[5:6]) and overlaps(x[:4], x[3:])
    assert not overlaps(x[:4], x[4:])  # touching ranges, no common element
    assert not overlaps(x[::2], x[1::2])  # interleaved: ranges cross, elements do not
    assert overlaps(x[::2], x[2::4]) and not overlaps(x[::4], x[2::4])
    g = x.view(3, 4)
    assert overlaps(g, g.t()) and overlaps(g[:, 1], g[1])  # column and row meet at g[1, 1]
    assert not overlaps(g[:, 0], g[:, 1])
    e = x[3:4].expand(5, 2)  # stride 0: ten elements, one address
    assert e.stride() == (0, 0) and overlaps(e, x[3]) and not overlaps(e, x[4:])
    assert not overlaps(x, x.clone()) and not overlaps(x[:0], x)


def test_overlaps_across_dtypes_counts_bytes():
    x = torch.zeros(4, dtype=torch.float64)
    as_ints = x.view(torch.int32)  # 8 int32 over the same 32 bytes
    assert overlaps(x[1], as_ints[3]) and not overlaps(x[1], as_ints[4])
    c = torch.zeros(3, dtype=torch.complex64)
    assert overlaps(c[1], torch.view_as_real(c)[1, 1]) and not overlaps(c[1], torch.view_as_real(c)[2])


def test_overlaps_rejects_what_shares_storage_rejects():
    with pytest.raises(TypeError, match="b must be a torch.Tensor"):
        overlaps(torch.zeros(1), [0.0])
    with pytest.raises(ValueError, match="meta device"):
        overlaps(torch.zeros(1, device="meta"), torch.zeros(1))


def test_copies_do_not_share_storage():
    t = torch.arange(6.0)
    assert not shares_storage(t, t.clone())
    assert not shares_storage(t, t + 0)
    assert not shares_storage(t, copy.deepcopy(t))


def test_numpy_bridge_counts_as_sharing():
    t = torch.arange(6.0)
    assert shares_storage(t, torch.from_numpy(t.numpy()))
    arr = np.arange(8.0)
    assert shares_storage(torch.from_numpy(arr), torch.from_numpy(arr[3:]))


def test_empty_tensors_share_nothing():
    assert not shares_storage(torch.empty(0), torch.empty(0))


@pytest.mark.parametrize("bad", [1.0, [1.0], np.zeros(2), None])
def test_shares_storage_rejects_non_tensors(bad):
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        shares_storage(bad, torch.zeros(1))
    with pytest.raises(TypeError, match="b must be a torch.Tensor"):
        shares_storage(torch.zeros(1), bad)


def test_shares_storage_rejects_sparse():
    with pytest.raises(ValueError, match="dense"):
        shares_storage(torch.zeros(2).to_sparse(), torch.zeros(1))


def test_named_tensors_of_module_state_dict_and_optimizer():
    model = seeded(ArticleNet)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 10)).sum().backward()
    opt.step()
    names = named_tensors({"m": model, "sd": model.state_dict(), "opt": opt})
    assert list(names)[:4] == ["m.layer1.weight", "m.layer1.bias", "sd.layer1.weight", "sd.layer1.bias"]
    assert "opt.param_groups[0][1]" in names
    assert {"opt.state[0].exp_avg", "opt.state[0].exp_avg_sq", "opt.state[1].step"} <= set(names)


def test_named_tensors_rejects_other_things():
    with pytest.raises(TypeError, match=r"expected a Tensor, nn.Module.*got str at 'x'"):
        named_tensors({"x": "not a tensor"})
    with pytest.raises(TypeError, match="got object"):
        named_tensors(object())
    with pytest.raises(TypeError, match="mapping keys"):
        named_tensors({(1, 2): torch.zeros(1)})


def test_storage_groups_state_dict_shares_with_model():
    model = seeded(ArticleNet)
    groups = storage_groups({"model": model, "sd": model.state_dict()})
    assert groups == [["model.layer1.weight", "sd.layer1.weight"], ["model.layer1.bias", "sd.layer1.bias"]]


def test_storage_groups_deepcopy_is_separate_and_tied_weights_group():
    model = seeded(ArticleNet)
    groups = storage_groups({"a": model, "b": copy.deepcopy(model)})
    assert all(len(g) == 1 for g in groups) and len(groups) == 4
    tied = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    tied[1].weight = tied[0].weight
    assert shared_groups(tied) == [["0.weight", "1.weight"]]


def test_storage_groups_optimizer_params_are_the_model_params():
    model = seeded(ArticleNet)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    assert shared_groups({"m": model, "opt": opt}) == [
        ["m.layer1.weight", "opt.param_groups[0][0]"],
        ["m.layer1.bias", "opt.param_groups[0][1]"],
    ]


def test_storage_groups_needs_tensors():
    with pytest.raises(ValueError, match="no tensors"):
        storage_groups({})


def test_compare_models_assignment_deepcopy_and_load():
    a = seeded(ArticleNet, seed=1)
    same = compare_models(a, a)
    assert all(same.same_object) and all(same.same_storage) and same.all_equal
    deep = compare_models(a, copy.deepcopy(a))
    assert deep.independent and deep.all_equal
    b = seeded(ArticleNet, seed=2)
    assert not compare_models(a, b).all_equal
    b.load_state_dict(a.state_dict())
    assert compare_models(a, b).independent and compare_models(a, b).all_equal


def test_compare_models_table_text():
    a = seeded(ArticleNet)
    text = str(compare_models(a, a))
    assert text.splitlines()[0].split() == ["parameter", "same", "object", "same", "storage", "equal", "values"]
    assert text.splitlines()[1].split() == ["layer1.weight", "True", "True", "True"]


def test_compare_models_bad_input():
    with pytest.raises(TypeError, match="b must be a torch.nn.Module"):
        compare_models(nn.Linear(1, 1), {"weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"only in a: \['layer1.bias'"):
        compare_models(seeded(ArticleNet), nn.Linear(10, 4))
