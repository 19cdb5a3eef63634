"""Unit tests for helpers.audit: each bug it must find, each correct pattern it must pass,
each bad input it must refuse clearly, and the rule that it never changes what it inspects."""

import argparse
import copy
import dataclasses
import enum
import pathlib
import re

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from helpers import seeded
from helpers.audit import KINDS, Finding, audit_copies, format_findings


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.body(x)))


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(5, 3)
        self.out = nn.Linear(3, 5, bias=False)
        self.out.weight = self.emb.weight


def trained(opt_cls=torch.optim.Adam, steps: int = 2):
    model = seeded(Net, seed=0)
    opt = opt_cls(model.parameters(), lr=0.01)
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    for _ in range(steps):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    return model, opt


def kinds(findings):
    return [f.kind for f in findings]


def audit(*args, **kwargs):
    return audit_copies(*args, show=False, **kwargs)


# ------------------------------------------------------------------ clean set-ups pass


def test_correct_setup_has_no_findings(capsys):
    model, opt = trained()
    ema = copy.deepcopy(model).requires_grad_(False)
    found = audit_copies(
        model,
        optimizers={"opt": opt},
        snapshots={
            "deepcopy": copy.deepcopy(model.state_dict()),
            "clone": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "to-copy": {k: v.to("cpu", copy=True) for k, v in model.state_dict().items()},
            "ckpt": copy.deepcopy(
                {"model": model.state_dict(), "opt": opt.state_dict(), "step": 2}
            ),
            "numpy-copy": {k: v.numpy().copy() for k, v in model.state_dict().items()},
            "module": copy.deepcopy(model),
        },
        averages={"ema": ema, "swa": AveragedModel(model)},
    )
    assert found == []
    out = capsys.readouterr().out
    assert out == (
        "Audit of Net (9 tensors) with 1 optimizer, 6 snapshots, 2 averages: "
        "no copy problems found.\n"
    )


def test_correct_training_loop_has_no_findings():
    """A learner's correct loop, after real steps: EMA by deepcopy + lerp_ under no_grad,
    AveragedModel, clone and to(copy=True) snapshots, a forked run with its own optimizer state."""
    model, opt = trained()
    ema = copy.deepcopy(model).requires_grad_(False)
    swa = AveragedModel(model)
    fork = copy.deepcopy(model)
    opt_fork = torch.optim.Adam(fork.parameters(), lr=0.01)
    opt_fork.load_state_dict(copy.deepcopy(opt.state_dict()))
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(3))
    best = {}
    for step in range(3):
        for m, o in ((model, opt), (fork, opt_fork)):
            o.zero_grad()
            m(x).pow(2).mean().backward()
            o.step()
        with torch.no_grad():
            for e, p in zip(ema.parameters(), model.parameters(), strict=True):
                e.lerp_(p, 0.1)
        swa.update_parameters(model)
        if step == 1:
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ema_best = {k: v.to("cpu", copy=True) for k, v in ema.state_dict().items()}
    both = nn.ModuleDict({"run": model, "fork": fork})
    assert (
        audit(
            both,
            optimizers={"opt": opt, "fork": opt_fork},
            snapshots={"best": best, "ema_best": ema_best},
            averages={"ema": ema, "swa": swa},
        )
        == []
    )


def test_show_false_prints_nothing(capsys):
    model, opt = trained()
    assert kinds(audit(model, snapshots={"best": model.state_dict()})) == ["snapshot-shares-memory"]
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------------ snapshots


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.state_dict(),
        lambda m: dict(m.state_dict()),
        lambda m: {k: v.cpu() for k, v in m.state_dict().items()},  # on CPU: the same tensor
        lambda m: {k: v.detach() for k, v in m.state_dict().items()},
        lambda m: {k: v.numpy() for k, v in m.state_dict().items()},  # NumPy view
        lambda m: m,
        lambda m: copy.copy(m),
    ],
    ids=["state_dict", "dict", "cpu", "detach", "numpy", "same-module", "copy.copy"],
)
def test_snapshots_that_are_not_copies_are_found(make):
    model, _ = trained()
    found = audit(model, snapshots={"best": make(model)})
    assert kinds(found) == ["snapshot-shares-memory"]
    f = found[0]
    assert f.subject == "snapshot 'best'"
    assert "Snapshot 'best' is not a copy" in f.message
    assert {"body.weight", "head.bias"} <= set(f.tensors)


def test_a_bare_state_dict_is_taken_as_one_snapshot():
    model, _ = trained()
    found = audit(model, snapshots=model.state_dict())
    assert [f.subject for f in found] == ["snapshot 'snapshot'"]
    assert len(found[0].tensors) == 9  # 6 parameters + 3 BatchNorm buffers


def test_partial_aliasing_names_only_the_shared_entries():
    model, _ = trained()
    snap = copy.deepcopy(model.state_dict())
    snap["head.weight"] = model.head.weight.detach()[:1]  # a view of one row
    found = audit(model, snapshots={"best": snap})
    assert found[0].tensors == ("head.weight",)
    assert "1 of its 9 tensors" in found[0].message


def test_in_memory_checkpoint_sharing_optimizer_state_is_found():
    model, opt = trained()
    ckpt = {"model": copy.deepcopy(model.state_dict()), "opt": opt.state_dict(), "step": 2}
    found = audit(model, optimizers={"opt": opt}, snapshots={"ckpt": ckpt})
    assert kinds(found) == ["snapshot-shares-memory"]
    assert all(name.startswith("opt.state[") for name in found[0].tensors)
    assert "optimizer 'opt'" in found[0].message
    assert "copy.deepcopy(opt.state_dict())" in found[0].fix


def test_snapshot_of_an_average_that_aliases_it_is_found():
    model, _ = trained()
    ema = copy.deepcopy(model).requires_grad_(False)
    found = audit(model, snapshots={"best_ema": ema.state_dict()}, averages={"ema": ema})
    assert kinds(found) == ["snapshot-shares-memory"]
    assert "body.weight ↔ average 'ema' body.weight" in found[0].message
    assert "copy.deepcopy(ema.state_dict())" in found[0].fix
    assert "copy.deepcopy(model.state_dict())" not in found[0].fix


def test_a_shared_entry_is_named_once_with_the_model_first():
    model, _ = trained()
    found = audit(
        model, snapshots={"best": model.state_dict()}, averages={"teacher": copy.copy(model)}
    )
    assert kinds(found) == ["snapshot-shares-memory", "average-aliases-online"]
    assert "9 of its 9 tensors" in found[0].message
    assert "body.weight ↔ model.body.weight" in found[0].message
    assert "average 'teacher'" not in found[0].message


class Mode(enum.Enum):
    FAST = 1


@dataclasses.dataclass
class Saved:
    weights: dict
    note: str = "run 1"


def test_checkpoint_with_config_objects_is_looked_into():
    model, _ = trained()
    config = argparse.Namespace(lr=0.01, out=pathlib.Path("runs/1"), mode=Mode.FAST)
    clean = {
        "model": copy.deepcopy(model.state_dict()),
        "args": config,
        "saved": Saved(copy.deepcopy(model.state_dict())),
    }
    assert audit(model, snapshots={"ckpt": clean}) == []
    leaky = dict(clean, saved=Saved(model.state_dict()))
    found = audit(model, snapshots={"ckpt": leaky})
    assert kinds(found) == ["snapshot-shares-memory"]
    assert "saved.weights.head.bias" in found[0].tensors


def test_a_container_that_holds_itself_is_walked_once():
    model, _ = trained()
    ckpt: dict = {"model": model.state_dict()}
    ckpt["self"] = ckpt
    found = audit(model, snapshots={"ckpt": ckpt})
    assert len(found[0].tensors) == 9


def test_a_bare_state_dict_with_extra_state_is_one_snapshot():
    class WithExtra(nn.Linear):
        def get_extra_state(self):
            return {"note": "not a tensor"}

        def set_extra_state(self, state):
            pass

    model = WithExtra(2, 2)
    found = audit(model, snapshots=model.state_dict())
    assert [f.subject for f in found] == ["snapshot 'snapshot'"]


def test_same_storage_but_no_common_element_is_not_reported():
    flat = torch.zeros(20)
    model = nn.Linear(2, 2)
    with torch.no_grad():  # parameters live in the first 6 elements of one flat buffer
        model.weight = nn.Parameter(flat[:4].view(2, 2))
        model.bias = nn.Parameter(flat[4:6])
    snapshot = {"spare": flat[10:]}  # same storage, elements the model never uses
    assert audit(model, snapshots={"s": snapshot}) == []
    assert kinds(audit(model, snapshots={"s": {"w": flat[3:5]}})) == ["snapshot-shares-memory"]


def test_interleaved_views_are_compared_element_by_element():
    base = torch.zeros(4, 4)
    model = nn.Module()
    model.register_buffer("even", base[:, ::2])
    assert audit(model, snapshots={"s": {"odd": base[:, 1::2]}}) == []
    assert kinds(audit(model, snapshots={"s": {"col": base[:, 2]}})) == ["snapshot-shares-memory"]


# ------------------------------------------------------------------ optimizers and the model


def test_optimizer_built_before_deepcopy_holds_none_of_the_copy():
    model, opt = trained()
    twin = copy.deepcopy(model)
    found = audit(twin, optimizers={"opt": opt})
    assert kinds(found) == ["optimizer-holds-no-parameters", "parameters-not-in-any-optimizer"]
    assert "holds none of the model's Parameters" in found[0].message
    assert found[1].tensors == (
        "body.weight",
        "body.bias",
        "norm.weight",
        "norm.bias",
        "head.weight",
        "head.bias",
    )


def test_replaced_layer_is_in_no_optimizer_and_old_one_is_stale():
    model, opt = trained()
    model.head = nn.Linear(4, 2)
    found = audit(model, optimizers={"opt": opt})
    assert kinds(found) == ["optimizer-holds-stale-tensors", "parameters-not-in-any-optimizer"]
    assert "holds 2 tensors that are not Parameters of the model" in found[0].message
    assert found[1].tensors == ("head.weight", "head.bias")


def test_stale_tensors_are_named_with_their_shapes():
    model, opt = trained()
    model.head = nn.Linear(4, 2)
    found = audit(model, optimizers={"opt": opt})
    assert "(param 4 [2, 4], param 5 [2])" in found[0].message
    assert found[0].tensors == ("param 4", "param 5")


def test_a_second_network_is_audited_together_with_the_first():
    gen, disc = seeded(Net, seed=0), seeded(Net, seed=1)
    opt_g = torch.optim.Adam(gen.parameters())
    opt_d = torch.optim.Adam(disc.parameters())
    found = audit(gen, optimizers={"g": opt_g, "d": opt_d})
    assert kinds(found) == ["optimizer-holds-no-parameters"]
    assert "model=nn.ModuleDict" in found[0].fix
    both = nn.ModuleDict({"gen": gen, "disc": disc})
    assert audit(both, optimizers={"g": opt_g, "d": opt_d}) == []


def test_frozen_parameters_need_no_optimizer():
    model = seeded(Net, seed=0)
    model.body.requires_grad_(False)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    assert audit(model, optimizers={"opt": opt}) == []


def test_parameters_split_over_two_optimizers_are_covered():
    model = seeded(Net, seed=0)
    opt_body = torch.optim.SGD(model.body.parameters(), lr=0.1)
    opt_rest = torch.optim.Adam([*model.norm.parameters(), *model.head.parameters()])
    assert audit(model, optimizers={"body": opt_body, "rest": opt_rest}) == []


def test_tied_weights_are_one_parameter():
    model = Tied()
    opt = torch.optim.Adam(model.parameters())
    assert audit(model, optimizers=opt, averages={"ema": copy.deepcopy(model)}) == []


def test_single_optimizer_without_a_name():
    model, opt = trained()
    found = audit(copy.deepcopy(model), optimizers=opt)
    assert found[0].subject == "optimizer 'optimizer'"


# ------------------------------------------------------------------ optimizers sharing state


def test_resumed_optimizer_sharing_state_is_found():
    model, opt = trained()
    resumed = torch.optim.Adam(model.parameters(), lr=0.01)
    resumed.load_state_dict(opt.state_dict())
    found = audit(model, optimizers={"opt": opt, "resumed": resumed})
    assert kinds(found) == ["optimizers-share-state"]
    assert found[0].subject == "optimizers 'opt' and 'resumed'"
    assert "state[0].exp_avg" in found[0].tensors
    assert "resumed.load_state_dict(copy.deepcopy(opt.state_dict()))" in found[0].fix


def test_deep_copied_optimizer_state_is_independent():
    model, opt = trained(lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9))
    twin = copy.deepcopy(model)
    opt_twin = torch.optim.SGD(twin.parameters(), lr=0.01, momentum=0.9)
    opt_twin.load_state_dict(copy.deepcopy(opt.state_dict()))
    both = nn.ModuleDict({"a": model, "b": twin})
    assert audit(both, optimizers={"a": opt, "b": opt_twin}) == []
    opt_twin.load_state_dict(opt.state_dict())  # the shallow way shares momentum buffers
    assert kinds(audit(both, optimizers={"a": opt, "b": opt_twin})) == ["optimizers-share-state"]


def test_same_optimizer_under_two_names():
    model, opt = trained()
    found = audit(model, optimizers={"a": opt, "b": opt})
    assert kinds(found) == ["optimizers-share-state"]
    assert "(they are the same object)" in found[0].message
    assert "two names for one optimizer" in found[0].fix


# ------------------------------------------------------------------ averages


@pytest.mark.parametrize(
    "make", [lambda m: m, lambda m: copy.copy(m)], ids=["assignment", "copy.copy"]
)
def test_average_that_aliases_the_online_model_is_found(make):
    model, _ = trained()
    found = audit(model, averages={"teacher": make(model)})
    assert kinds(found) == ["average-aliases-online"]
    assert found[0].subject == "average 'teacher'"
    assert "follows every training step exactly" in found[0].message


def test_target_synced_with_load_state_dict_is_independent():
    model, _ = trained()
    target = seeded(Net, seed=5)
    target.load_state_dict(model.state_dict())
    assert audit(model, averages=target) == []


def test_average_sharing_one_layer_is_found():
    model, _ = trained()
    ema = copy.deepcopy(model)
    ema.head = model.head
    found = audit(model, averages={"ema": ema})
    assert found[0].tensors == ("head.weight", "head.bias")


# ------------------------------------------------------------------ findings and report


def test_findings_are_frozen_and_kinds_are_documented():
    model, opt = trained()
    found = audit(copy.deepcopy(model), optimizers={"opt": opt})
    assert all(isinstance(f, Finding) and f.kind in KINDS for f in found)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found[0].kind = "other"  # type: ignore[misc]


def test_report_is_numbered_and_deterministic(capsys):
    model, opt = trained()
    args = dict(
        optimizers={"opt": opt}, snapshots={"best": model.state_dict()}, averages={"t": model}
    )
    audit_copies(model, **args)
    first = capsys.readouterr().out
    audit_copies(model, **args)
    assert capsys.readouterr().out == first
    assert first.startswith(
        "Audit of Net (9 tensors) with 1 optimizer, 1 snapshot, 1 average: 2 problems.\n\n1. "
    )
    assert "\n2. Average 't' is not a copy" in first
    assert all(len(line) <= 88 for line in first.splitlines())


def test_format_findings_refuses_other_things():
    assert format_findings([]) == ""
    with pytest.raises(TypeError, match="findings must be a list of Finding"):
        format_findings("report")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"findings\[0\] must be a Finding"):
        format_findings([{"kind": "x"}])  # type: ignore[list-item]


# ------------------------------------------------------------------ bad input


BAD_INPUT = {
    "model-is-a-dict": (
        lambda m, o: audit_copies(m.state_dict()),
        TypeError,
        "model must be the torch.nn.Module you train, got OrderedDict",
    ),
    "optimizers-as-list": (
        lambda m, o: audit_copies(m, optimizers=[o]),
        TypeError,
        "optimizers must be one Optimizer or a dict that names each one",
    ),
    "optimizer-not-an-optimizer": (
        lambda m, o: audit_copies(m, optimizers={"opt": m}),
        TypeError,
        "optimizers: 'opt' must be a torch.optim.optimizer.Optimizer, got Net",
    ),
    "name-not-a-str": (
        lambda m, o: audit_copies(m, optimizers={1: o}),
        TypeError,
        "optimizers: names must be non-empty strings, got 1",
    ),
    "snapshots-as-list": (
        lambda m, o: audit_copies(m, snapshots=[m.state_dict()]),
        TypeError,
        "snapshots must be a dict that names each one, e.g. snapshots={'best': best}",
    ),
    "unknown-object-in-snapshot": (
        lambda m, o: audit_copies(m, snapshots={"best": {"cfg": object()}}),
        TypeError,
        "snapshot 'best': cannot look inside a object at 'cfg'",
    ),
    "averages-as-list": (
        lambda m, o: audit_copies(m, averages=[m]),
        TypeError,
        "averages must be one Module or a dict that names each one",
    ),
    "average-not-a-module": (
        lambda m, o: audit_copies(m, averages={"ema": m.state_dict()}),
        TypeError,
        "averages: 'ema' must be a torch.nn.modules.module.Module, got OrderedDict",
    ),
    "show-not-a-bool": (
        lambda m, o: audit_copies(m, show="yes"),
        TypeError,
        "show must be True or False, got 'yes'",
    ),
    "model-without-tensors": (
        lambda m, o: audit_copies(nn.ReLU()),
        ValueError,
        "model has no parameters or buffers with memory to compare",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_says_what_was_expected(case):
    call, error, message = BAD_INPUT[case]
    model, opt = trained()
    with pytest.raises(error, match=re.escape(message)):
        call(model, opt)


def test_meta_model_is_refused_with_a_hint():
    with torch.device("meta"):
        model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"meta device .* load real weights first"):
        audit_copies(model)


def test_sparse_tensor_is_refused():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="dense"):
        audit_copies(model, snapshots={"s": {"w": torch.eye(2).to_sparse()}})


# ------------------------------------------------------------------ never mutates


def _state_of(model: nn.Module, opts: dict, snapshots: dict, averages: dict):
    """Everything the audit could conceivably change, captured as values and identities."""

    def tensors(module):
        return [
            (
                n,
                id(t),
                t.detach().clone(),
                t.requires_grad,
                t._version,
                None if t.grad is None else (id(t.grad), t.grad.clone(), t.grad._version),
            )
            for n, t in [
                *module.named_parameters(remove_duplicate=False),
                *module.named_buffers(remove_duplicate=False),
            ]
        ]

    def opt_state(opt):
        return (
            [list(g["params"]) for g in opt.param_groups],
            [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups],
            [
                (
                    id(p),
                    {
                        k: (id(v), v.clone(), v._version) if torch.is_tensor(v) else v
                        for k, v in s.items()
                    },
                )
                for p, s in opt.state.items()
            ],
        )

    return {
        "model": tensors(model),
        "modes": [m.training for m in model.modules()],
        "hooks": len(model._forward_hooks),
        "opts": {n: opt_state(o) for n, o in opts.items()},
        "snaps": {
            n: [(k, v.clone(), v._version) for k, v in s.items()] for n, s in snapshots.items()
        },
        "avgs": {n: tensors(a) for n, a in averages.items()},
    }


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and torch.equal(a, b)
        )
    if isinstance(a, (list, tuple)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_same(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_audit_never_changes_what_it_inspects():
    model, opt = trained()
    model.body.requires_grad_(False)
    model.eval()
    model.register_forward_hook(lambda *args: None)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(2))
    model(x).sum().backward()  # gradients present on the trainable parameters
    resumed = torch.optim.Adam(model.parameters(), lr=0.01)
    resumed.load_state_dict(opt.state_dict())
    snapshots = {
        "best": model.state_dict(),
        "safe": copy.deepcopy(model.state_dict()),
        "column": {"w": model.head.weight.detach()[:, 1]},
    }  # strided: element check
    averages = {"teacher": copy.copy(model), "ema": copy.deepcopy(model)}
    opts = {"opt": opt, "resumed": resumed}
    grads_before = [p.grad for p in model.parameters()]
    state_keys = [list(o.state.keys()) for o in opts.values()]
    before = _state_of(model, opts, snapshots, averages)

    found = audit(model, optimizers=opts, snapshots=snapshots, averages=averages)

    assert set(kinds(found)) == {
        "snapshot-shares-memory",
        "optimizers-share-state",
        "average-aliases-online",
    }
    after = _state_of(model, opts, snapshots, averages)
    assert _same(before, after)
    # the very same gradient objects, and no entry added to any optimizer's state
    assert all(g is p.grad for g, p in zip(grads_before, model.parameters(), strict=True))
    assert [list(o.state.keys()) for o in opts.values()] == state_keys
    assert not model.training and not model.body.weight.requires_grad
