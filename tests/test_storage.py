"""Unit tests for helpers.storage: each claim the notebooks rely on, and each bad input."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

from helpers.models import ArticleNet, seeded
from helpers.storage import (
    StorageGroup,
    compare_models,
    group_by_storage,
    named_tensors,
    overlaps,
    shared_groups,
    shares_storage,
    storage_groups,
)

# ---------------------------------------------------------------- shares_storage and overlaps


def test_views_and_offsets_share_storage():
    t = torch.arange(12.0).reshape(3, 4)
    assert shares_storage(t, t)
    assert shares_storage(t, t[1:, 2:])  # view with an offset
    assert shares_storage(t, t.t())
    assert shares_storage(t[:1], t[2:])  # disjoint slices, same storage
    assert not overlaps(t[:1], t[2:])  # ... but no common element
    assert shares_storage(t, t.detach())
    assert shares_storage(t, t[1:1])  # no elements, still a view of the same storage


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
    as_real = torch.view_as_real(c)
    assert overlaps(c[1], as_real[1, 1]) and not overlaps(c[1], as_real[2])


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
    assert overlaps(torch.from_numpy(arr), torch.from_numpy(arr[3:]))
    assert not overlaps(torch.from_numpy(arr[:3]), torch.from_numpy(arr[3:]))
    # two storages side by side in one NumPy buffer: their bytes touch but do not meet
    assert not shares_storage(torch.from_numpy(arr[:4]), torch.from_numpy(arr[4:]))


def test_empty_storages_share_nothing():
    assert not shares_storage(torch.empty(0), torch.empty(0))
    assert not overlaps(torch.empty(0), torch.empty(0))


@pytest.mark.parametrize("fn", [shares_storage, overlaps])
@pytest.mark.parametrize("bad", [1.0, [1.0], np.zeros(2), None])
def test_rejects_non_tensors(fn, bad):
    with pytest.raises(TypeError, match="a must be a torch.Tensor, got"):
        fn(bad, torch.zeros(1))
    with pytest.raises(TypeError, match="b must be a torch.Tensor, got"):
        fn(torch.zeros(1), bad)


@pytest.mark.parametrize("fn", [shares_storage, overlaps])
def test_rejects_sparse_and_meta(fn):
    with pytest.raises(ValueError, match="dense"):
        fn(torch.zeros(2).to_sparse(), torch.zeros(1))
    with pytest.raises(ValueError, match="meta device: it has no memory"):
        fn(torch.zeros(1), torch.zeros(1, device="meta"))


# ---------------------------------------------------------------- names


def test_one_naming_syntax_for_modules_state_dicts_and_optimizers():
    model = seeded(ArticleNet)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 10)).sum().backward()
    opt.step()
    names = list(named_tensors({"m": model, "sd": model.state_dict(), "opt": opt}))
    assert names[:4] == ["m.layer1.weight", "m.layer1.bias", 'sd["layer1.weight"]',
                         'sd["layer1.bias"]']
    assert names[4:6] == ['opt.param_groups[0]["params"][0]', 'opt.param_groups[0]["params"][1]']
    assert names[6:9] == ['opt.state[0]["step"]', 'opt.state[0]["exp_avg"]',
                          'opt.state[0]["exp_avg_sq"]']
    # the optimizer's own state_dict nests the same way
    osd = list(named_tensors({"osd": opt.state_dict()}))
    assert osd[:2] == ['osd["state"][0]["step"]', 'osd["state"][0]["exp_avg"]']


def test_names_are_python_expressions_that_reach_the_tensor():
    model = seeded(ArticleNet)
    sd = model.state_dict()
    where = {"model": model, "sd": sd, "pair": [sd["layer1.bias"], {"w": sd["layer1.weight"]}]}
    for name, tensor in named_tensors(where).items():
        assert eval(name, {}, where) is tensor  # our own names, over our own objects


def test_names_of_keys_and_positions():
    t = torch.zeros(1)
    assert list(named_tensors(t)) == ["tensor"]
    assert list(named_tensors(t, prefix="x")) == ["x"]
    assert list(named_tensors([t, (t,)])) == ["[0]", "[1][0]"]
    assert list(named_tensors({"d": {0: t, 'say "hi"': t}})) == ["d[0]", 'd["say \\"hi\\""]']
    assert list(named_tensors({"n": nn.Linear(1, 1).state_dict()}, prefix="")) == [
        'n["weight"]', 'n["bias"]',
    ]


def test_tied_parameters_appear_under_every_name():
    tied = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    tied[1].weight = tied[0].weight
    assert shared_groups(tied) == [["0.weight", "1.weight"]]


def test_values_that_hold_no_tensor_are_skipped_below_the_top():
    sd = {"w": torch.zeros(1), "step": 3, "lr": 0.1, "name": "x", "flag": None}
    assert list(named_tensors({"sd": sd})) == ['sd["w"]']


def test_named_tensors_rejects_other_things():
    with pytest.raises(TypeError, match=r"expected a Tensor, nn.Module.*got str at 'x'"):
        named_tensors({"x": "not a tensor"})
    with pytest.raises(TypeError, match="got object"):
        named_tensors(object())
    with pytest.raises(TypeError, match=r"mapping keys must be str or int, got tuple"):
        named_tensors({"d": {(1, 2): torch.zeros(1)}})
    with pytest.raises(TypeError, match=r"got set at 'sd\[\"s\"\]'"):
        named_tensors({"sd": {"s": {1}}})
    with pytest.raises(TypeError, match="prefix must be a str"):
        named_tensors(torch.zeros(1), prefix=3)


# ---------------------------------------------------------------- groups


def test_group_by_storage_returns_typed_groups():
    w = torch.arange(8.0)
    groups = group_by_storage({"w": w, "mid": w[2:6], "odd": w[1::2], "c": w.clone()})
    assert [g.names for g in groups] == [("w", "mid", "odd"), ("c",)]
    g = groups[0]
    assert isinstance(g, StorageGroup)
    assert (g.device, g.dtype, g.nbytes, g.numel) == ("cpu", torch.float32, 32, 8)
    mid, odd = g.member("mid"), g.member("odd")
    assert (mid.start, mid.stop, mid.dense) == (8, 24, True)
    assert (odd.start, odd.stop, odd.dense) == (4, 32, False)
    assert odd.element_offsets() == (4, 12, 20, 28)
    assert g.member("w").tensor is w
    with pytest.raises(KeyError, match="its members"):
        g.member("nope")


def test_group_repr_has_no_addresses():
    text = repr(group_by_storage({"w": torch.zeros(2)}))
    assert "0x" not in text and "tensor" not in text
    assert "StorageGroup(device='cpu', dtype=torch.float32, nbytes=8" in text


def test_group_byte_range_spans_outside_memory_joined_by_numpy():
    arr = np.arange(8.0)
    a, b = torch.from_numpy(arr[:5]), torch.from_numpy(arr[3:])
    [g] = group_by_storage({"a": a, "b": b})  # two storages, overlapping bytes: one block
    assert g.nbytes == 64 and g.member("b").start == 24


def test_storage_groups_state_dict_shares_with_model():
    model = seeded(ArticleNet)
    groups = storage_groups({"model": model, "sd": model.state_dict()})
    assert groups == [
        ["model.layer1.weight", 'sd["layer1.weight"]'],
        ["model.layer1.bias", 'sd["layer1.bias"]'],
    ]


def test_storage_groups_deepcopy_is_separate():
    model = seeded(ArticleNet)
    groups = storage_groups({"a": model, "b": copy.deepcopy(model)})
    assert all(len(g) == 1 for g in groups) and len(groups) == 4


def test_disjoint_slices_are_one_group():
    """A group is one storage (shares_storage), even where elements do not overlap."""
    x = torch.arange(4.0)
    assert storage_groups({"head": x[:2], "tail": x[2:]}) == [["head", "tail"]]


def test_empty_storages_are_groups_of_their_own():
    assert storage_groups({"a": torch.empty(0), "b": torch.empty(0)}) == [["a"], ["b"]]


def test_storage_groups_optimizer_params_are_the_model_params():
    model = seeded(ArticleNet)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    assert shared_groups({"m": model, "opt": opt}) == [
        ["m.layer1.weight", 'opt.param_groups[0]["params"][0]'],
        ["m.layer1.bias", 'opt.param_groups[0]["params"][1]'],
    ]


def test_storage_groups_needs_tensors():
    with pytest.raises(ValueError, match="no tensors"):
        storage_groups({})


# ---------------------------------------------------------------- compare_models


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
    assert str(compare_models(a, a)).splitlines() == [
        "parameter      same object  same storage  equal values",
        "layer1.weight  True         True          True",
        "layer1.bias    True         True          True",
    ]


def test_compare_models_bad_input():
    with pytest.raises(TypeError, match="b must be a torch.nn.Module, got dict"):
        compare_models(nn.Linear(1, 1), {"weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"only in a: \['layer1.bias'"):
        compare_models(seeded(ArticleNet), nn.Linear(10, 4))
