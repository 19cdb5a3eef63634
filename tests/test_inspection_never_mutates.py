"""No public helper that inspects changes what it inspects: values, requires_grad, gradients,
version counters (which count in-place writes), autograd history, a module's mode or an
optimizer's state. A learner can call them anywhere without changing the experiment."""
import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import diagram, storage
from helpers.models import ArticleNet, seeded


def _tensors(world: dict) -> list[torch.Tensor]:
    """Every tensor the world holds, gradients included."""
    found = list(storage.named_tensors(world).values())
    return found + [t.grad for t in found if t.is_leaf and t.grad is not None]


def _snapshot(world: dict) -> list:
    out = []
    for t in _tensors(world):
        out.append((
            t.detach().clone(),
            t.dtype,
            tuple(t.shape),
            t.stride(),
            t.storage_offset(),
            t.requires_grad,
            t._version,
            None if not t.is_leaf or t.grad is None else (t.grad.clone(), t.grad._version),
            t.grad_fn,
        ))
    modules = [v for v in world.values() if isinstance(v, torch.nn.Module)]
    optimizers = [v for v in world.values() if isinstance(v, torch.optim.Optimizer)]
    out.append([(m.training, [type(x).__name__ for x in m.modules()]) for m in modules])
    out.append([copy.deepcopy(o.state_dict()) for o in optimizers])
    return out


def _same(before: list, after: list) -> bool:
    def eq(a: object, b: object) -> bool:
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            return a.dtype == b.dtype and a.shape == b.shape and bool(torch.equal(a, b))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(eq(a[k], b[k]) for k in a)
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            return len(a) == len(b) and all(eq(x, y) for x, y in zip(a, b, strict=True))
        return a is b or a == b

    return eq(before, after)


def _world() -> dict:
    model = seeded(ArticleNet)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.ones(2, 10)).sum().backward()
    opt.step()
    model(torch.ones(2, 10)).sum().backward()  # grads present again, after the step
    x = torch.arange(12.0, requires_grad=True)
    y = x * 2  # a non-leaf with autograd history
    return {
        "model": model,
        "copy": copy.deepcopy(model).eval(),
        "sd": model.state_dict(),
        "opt": opt,
        "osd": opt.state_dict(),
        "x": x,
        "y": y,
        "view": y[2:8:2],
        "expanded": y[:1].expand(3, 4),
    }


CALLS = {
    "shares_storage": lambda w: storage.shares_storage(w["y"], w["view"]),
    "overlaps": lambda w: storage.overlaps(w["expanded"], w["view"]),
    "named_tensors": storage.named_tensors,
    "group_by_storage": storage.group_by_storage,
    "element_offsets": lambda w: [
        m.element_offsets() for g in storage.group_by_storage(w) for m in g.members
    ],
    "storage_groups": storage.storage_groups,
    "shared_groups": storage.shared_groups,
    "compare_models": lambda w: str(storage.compare_models(w["model"], w["copy"])),
    "aliasing_graph": diagram.aliasing_graph,
    "describe_aliasing": diagram.describe_aliasing,
    "caption": diagram.caption,
    "draw_aliasing": diagram.draw_aliasing,
    "draw_aliasing shared_only": lambda w: diagram.draw_aliasing(w, shared_only=True),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_public_helpers_never_mutate_what_they_inspect(name):
    world = _world()
    before = _snapshot(world)
    CALLS[name](world)
    assert _same(before, _snapshot(world)), f"{name} changed what it inspected"


def test_the_snapshot_would_see_a_change():
    """The check above can fail: an in-place write, a grad or a mode change is noticed."""
    for change in (
        lambda w: w["sd"]["layer1.bias"].add_(0),  # same values, but the version counter moves
        lambda w: w["x"].requires_grad_(False),
        lambda w: setattr(w["model"].layer1.weight, "grad", None),
        lambda w: w["model"].eval(),
        lambda w: w["opt"].state[w["model"].layer1.bias]["exp_avg"].zero_(),
    ):
        world = _world()
        before = _snapshot(world)
        change(world)
        assert not _same(before, _snapshot(world))


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(st.lists(st.integers(0, 11), min_size=1, max_size=4), st.integers(1, 3))
def test_random_views_are_left_untouched(starts, step):
    x = torch.arange(12.0, requires_grad=True)
    views = {f"v{i}": x[s::step] for i, s in enumerate(starts)}
    world = {"x": x, **views}
    before = _snapshot(world)
    storage.group_by_storage(world)
    diagram.describe_aliasing(world)
    for v in views.values():
        storage.overlaps(x, v)
    assert _same(before, _snapshot(world))
