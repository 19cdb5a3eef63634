"""Unit tests for helpers.snapshot: independence, restore in place, structure changes, bad input,
tied weights, buffers, mixed dtypes and optimizer state."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import shares_storage
from helpers.snapshot import Snapshot, StructureChanged


class Tied(nn.Module):
    """An embedding and an output layer that share one Parameter (weight tying)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(5, 3)
        self.out = nn.Linear(3, 5, bias=False)
        self.out.weight = self.embed.weight


class Mixed(nn.Module):
    """Parameters and buffers of several dtypes, a BatchNorm and a non-persistent buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.half = nn.Linear(3, 2).to(torch.float16)
        self.double = nn.Linear(2, 2).to(torch.float64)
        self.bn = nn.BatchNorm1d(2)  # float32 running stats + int64 num_batches_tracked
        self.register_buffer("mask", torch.tensor([True, False]), persistent=False)


def mlp(seed: int = 0) -> nn.Sequential:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def values(model: nn.Module) -> dict[str, torch.Tensor]:
    return copy.deepcopy({**dict(model.named_parameters()), **dict(model.named_buffers())})


def equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def scramble(model: nn.Module) -> None:
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            t.copy_(torch.ones_like(t) * 3 if t.dtype != torch.bool else ~t)


def train(model: nn.Module, opt: torch.optim.Optimizer, steps: int, start: int = 0) -> list[float]:
    losses = []
    for k in range(start, start + steps):
        g = torch.Generator().manual_seed(k)
        x, y = torch.randn(16, 4, generator=g), torch.randint(0, 2, (16,), generator=g)
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


# ------------------------------------------------------------------ independence and restore


def test_snapshot_shares_no_memory_with_the_model():
    model = mlp()
    snap = Snapshot(model)
    for name, buf in snap.tensors().items():
        live = dict(model.named_parameters())[name]
        assert torch.equal(buf, live) and buf is not live and not shares_storage(buf, live)


def test_writes_to_the_model_are_not_seen_by_the_snapshot():
    model = mlp()
    before = values(model)
    snap = Snapshot(model)
    scramble(model)
    assert equal(snap.tensors(), before)


def test_writes_to_the_snapshot_are_not_seen_by_the_model():
    model = mlp()
    before = values(model)
    snap = Snapshot(model)
    for buf in snap.tensors().values():
        buf.fill_(-5.0)
    assert equal(values(model), before)


def test_restore_writes_values_back_in_place():
    model = mlp()
    before = values(model)
    objects = {n: (t, t.data_ptr()) for n, t in model.named_parameters()}
    snap = Snapshot(model)
    scramble(model)
    snap.restore()
    assert equal(values(model), before)
    for name, t in model.named_parameters():
        assert t is objects[name][0] and t.data_ptr() == objects[name][1]
        assert t.requires_grad


def test_refresh_copies_into_the_same_buffers():
    model = mlp()
    snap = Snapshot(model)
    buffers = {n: (t, t.data_ptr()) for n, t in snap.tensors().items()}
    scramble(model)
    snap.refresh()
    assert equal(snap.tensors(), values(model))
    for name, t in snap.tensors().items():
        assert t is buffers[name][0] and t.data_ptr() == buffers[name][1]


def test_restore_after_restore_and_refresh_round_trip():
    model = mlp()
    snap = Snapshot(model)
    first = values(model)
    scramble(model)
    snap.restore()
    snap.restore()  # idempotent
    assert equal(values(model), first)
    scramble(model)
    snap.refresh()
    third = values(model)
    model[0].weight.data.zero_()
    snap.restore()
    assert equal(values(model), third)


def test_nbytes_counts_every_tensor_once():
    model = mlp()
    assert Snapshot(model).nbytes == sum(p.numel() * 4 for p in model.parameters())


# ------------------------------------------------------------------ tied weights, buffers, dtypes


def test_tied_weights_get_one_buffer_and_stay_tied():
    model = Tied()
    snap = Snapshot(model)
    assert list(snap.tensors()) == ["embed.weight"]
    assert snap.nbytes == 5 * 3 * 4
    before = values(model)
    scramble(model)
    snap.restore()
    assert model.out.weight is model.embed.weight
    assert equal(values(model), before)


def test_tensors_sharing_memory_without_being_one_object_are_restored_consistently():
    model = nn.Linear(2, 2)
    model.register_buffer("weight_view", model.weight.detach()[0])  # a buffer viewing a parameter
    snap = Snapshot(model)
    before = values(model)
    scramble(model)
    snap.restore()
    assert equal(values(model), before)
    assert shares_storage(model.weight_view, model.weight)


def test_buffers_and_mixed_dtypes():
    model = Mixed()
    model.bn.train()
    _ = model.bn(torch.randn(8, 2))  # running stats move, num_batches_tracked = 1
    snap = Snapshot(model)
    dtypes = {n: t.dtype for n, t in snap.tensors().items()}
    assert dtypes["half.weight"] == torch.float16 and dtypes["double.weight"] == torch.float64
    assert dtypes["bn.num_batches_tracked"] == torch.int64 and dtypes["mask"] == torch.bool
    before = values(model)
    _ = model.bn(torch.randn(8, 2))
    scramble(model)
    snap.restore()
    assert equal(values(model), before)
    assert model.bn.num_batches_tracked.item() == 1


def test_non_contiguous_parameters():
    model = nn.Linear(3, 2)
    model.weight = nn.Parameter(torch.randn(3, 2).t())  # strides (1, 2)
    snap = Snapshot(model)
    before = values(model)
    scramble(model)
    snap.restore()
    assert equal(values(model), before) and not model.weight.is_contiguous()


# ------------------------------------------------------------------ optimizer state


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda ps: torch.optim.Adam(ps, lr=0.01),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: torch.optim.AdamW(ps, lr=0.01, amsgrad=True),
    ],
    ids=["adam", "sgd-momentum", "adamw-amsgrad"],
)
def test_rolling_back_model_and_optimizer_resumes_bit_for_bit(make_opt):
    ref = mlp()
    ref_opt = make_opt(ref.parameters())
    ref_losses = train(ref, ref_opt, 6)

    model = mlp()
    opt = make_opt(model.parameters())
    losses = train(model, opt, 3)
    snap = Snapshot(model, opt)
    train(model, opt, 2, start=3)  # a detour that the rollback must undo
    snap.restore()
    rest = train(model, opt, 3, start=3)
    assert losses + rest == ref_losses
    assert equal(values(model), values(ref))


def test_optimizer_state_is_independent_and_restored_in_place():
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    train(model, opt, 2)
    snap = Snapshot(model, opt)
    state = opt.state[model[0].weight]
    exp_avg, before = state["exp_avg"], state["exp_avg"].clone()
    step_before = state["step"].item()
    train(model, opt, 2, start=2)
    assert not torch.equal(exp_avg, before)
    snap.restore()
    assert opt.state[model[0].weight]["exp_avg"] is exp_avg and torch.equal(exp_avg, before)
    assert opt.state[model[0].weight]["step"].item() == step_before


def test_snapshot_before_the_first_step_rolls_back_to_no_state():
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    before = values(model)
    snap = Snapshot(model, opt)  # Adam has no state yet
    train(model, opt, 2)
    snap.restore()
    assert len(opt.state) == 0 and equal(values(model), before)
    train(model, opt, 1)
    snap.refresh()  # Adam's state appears: its buffers are allocated once, here
    after_one = values(model), copy.deepcopy(opt.state_dict())
    train(model, opt, 2, start=1)
    snap.restore()
    assert equal(values(model), after_one[0])
    assert opt.state_dict()["state"][0]["exp_avg"].equal(after_one[1]["state"][0]["exp_avg"])


def test_hyperparameters_are_restored():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    snap = Snapshot(model, opt)
    opt.param_groups[0]["lr"] = 0.001  # e.g. a scheduler lowered it
    snap.restore()
    assert opt.param_groups[0]["lr"] == 0.1


# ------------------------------------------------------------------ structure changes


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.append(nn.Linear(2, 2)), "tensors added: ['3.weight', '3.bias']"),
        (lambda m: m.__delitem__(2), "removed: ['2.weight', '2.bias']"),
        (lambda m: m.__setitem__(2, nn.Linear(8, 3)), "'2.weight': shape (2, 8) -> (3, 8)"),
        (lambda m: m.double(), "'0.weight': dtype torch.float32 -> torch.float64"),
        (lambda m: m.to("meta"), "'0.weight': device cpu -> meta"),
    ],
    ids=["added", "removed", "shape", "dtype", "device"],
)
def test_a_changed_model_is_refused_with_what_changed(change, message):
    model = mlp()
    snap = Snapshot(model)
    kept = copy.deepcopy(snap.tensors())
    change(model)
    for action in (snap.refresh, snap.restore):
        with pytest.raises(StructureChanged, match="take a new Snapshot") as info:
            action()
        assert message in str(info.value)
    assert equal(snap.tensors(), kept)  # a refused refresh leaves the snapshot as it was


def test_a_replaced_layer_of_the_same_shape_is_followed_but_the_stale_optimizer_is_refused():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    snap = Snapshot(model, opt)
    model[0] = nn.Linear(4, 8)
    with pytest.raises(StructureChanged, match="parameters the model no longer has"):
        snap.refresh()
    plain = Snapshot(mlp())
    plain._model[0] = nn.Linear(4, 8)  # without an optimizer, the new layer is simply copied
    plain.refresh()
    assert torch.equal(plain.tensors()["0.weight"], plain._model[0].weight)


def test_a_changed_optimizer_is_refused():
    model = mlp()
    extra = nn.Parameter(torch.zeros(1))
    model.register_parameter("extra", extra)
    opt = torch.optim.SGD([model[0].weight], lr=0.1)
    snap = Snapshot(model, opt)
    opt.add_param_group({"params": [extra]})
    with pytest.raises(StructureChanged, match="optimizer's parameters changed"):
        snap.restore()


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (({"w": torch.zeros(2)},), TypeError, "model must be a torch.nn.Module, got dict"),
        (
            (nn.Linear(2, 2), "adam"),
            TypeError,
            "optimizer must be a torch.optim.Optimizer or None, got str",
        ),
        ((nn.ReLU(),), ValueError, "ReLU has no parameters or buffers"),
        ((nn.Linear(2, 2, device="meta"),), ValueError, "tensor 'weight' is on the meta device"),
    ],
    ids=["not-a-module", "not-an-optimizer", "empty", "meta"],
)
def test_bad_input_is_refused_clearly(args, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        Snapshot(*args)


def test_an_optimizer_of_another_model_is_refused():
    model, other = mlp(), mlp(seed=1)
    with pytest.raises(ValueError, match="4 parameter\\(s\\) that are not this model's"):
        Snapshot(model, torch.optim.SGD(other.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="not this model's"):
        Snapshot(model, torch.optim.SGD(copy.deepcopy(model).parameters(), lr=0.1))


def test_sparse_tensors_are_refused():
    model = nn.Linear(2, 2)
    model.register_buffer("sparse", torch.eye(2).to_sparse())
    with pytest.raises(ValueError, match="tensor 'sparse' must be a dense \\(strided\\) tensor"):
        Snapshot(model)


def test_without_the_private_foreach_copy_the_tensors_are_copied_one_by_one(monkeypatch):
    monkeypatch.delattr(torch, "_foreach_copy_")
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    train(model, opt, 1)
    snap = Snapshot(model, opt)
    before = values(model)
    train(model, opt, 2, start=1)
    snap.restore()
    assert equal(values(model), before)
