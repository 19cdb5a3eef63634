"""Aliasing graph: one test per case the course teaches, checked against `is` and storage facts."""
import copy

import matplotlib
import pytest
import torch
from torch import nn

from helpers import ArticleNet, LogisticRegression, seeded, shares_storage
from helpers.diagram import AliasingGraph, aliasing_graph, describe_aliasing, draw_aliasing


@pytest.fixture
def model():
    return seeded(ArticleNet, seed=0)


def _kinds(g, kind):
    return [n for n in g.nodes if n.kind == kind]


def test_assignment_two_names_one_object(model):
    modelB = model
    g = aliasing_graph({"modelA": model, "modelB": modelB})
    assert g.same_object("modelA", "modelB")
    assert len(_kinds(g, "module")) == 1 and len(_kinds(g, "name")) == 2
    assert len(_kinds(g, "tensor")) == 2 and len(_kinds(g, "storage")) == 2
    assert [(gr.kind, gr.members) for gr in g.groups] == [("same_object", ("modelA", "modelB"))]
    assert describe_aliasing({"modelA": model, "modelB": modelB}) == (
        "modelA and modelB are the same object (ArticleNet)."
    )


def test_shallow_copy_new_module_same_parameters(model):
    shallow = copy.copy(model)
    g = aliasing_graph({"modelA": model, "modelB": shallow})
    assert not g.same_object("modelA", "modelB")
    assert len(_kinds(g, "module")) == 2
    for p in ("layer1.weight", "layer1.bias"):
        assert g.same_object(f"modelA.{p}", f"modelB.{p}")
        assert g.same_storage(f"modelA.{p}", f"modelB.{p}")
    assert len(_kinds(g, "tensor")) == 2
    assert "modelA.layer1.weight and modelB.layer1.weight are the same tensor object." in describe_aliasing(
        {"modelA": model, "modelB": shallow}
    )


def test_deepcopy_shares_nothing(model):
    deep = copy.deepcopy(model)
    g = aliasing_graph({"modelA": model, "modelB": deep})
    assert not g.same_object("modelA", "modelB")
    assert not g.same_object("modelA.layer1.weight", "modelB.layer1.weight")
    assert not g.same_storage("modelA.layer1.weight", "modelB.layer1.weight")
    assert len(_kinds(g, "storage")) == 4 and g.groups == ()
    assert describe_aliasing({"modelA": model, "modelB": deep}) == "modelA and modelB share no object and no storage."


def test_state_dict_new_tensor_objects_same_storage():
    m = seeded(LogisticRegression, 2, 2)
    sd = m.state_dict()
    g = aliasing_graph({"m": m, "sd": sd})
    assert [n.kind for n in g.nodes if n.kind in ("module", "state_dict")] == ["module", "state_dict"]
    for k in ("fc.weight", "fc.bias"):
        assert not g.same_object(f"sd[{k!r}]", f"m.{k}")  # detached tensors: new objects
        assert g.same_storage(f"sd[{k!r}]", f"m.{k}")
        assert sd[k] is not getattr(m.fc, k.split(".")[1]) and shares_storage(sd[k], m.state_dict()[k])
    text = describe_aliasing({"m": m, "sd": sd})
    assert "sd['fc.weight'] shares storage with m.fc.weight." in text


def test_default_load_state_dict_copies_values(model):
    other = seeded(ArticleNet, seed=1)
    sd = model.state_dict()
    other.load_state_dict(sd)
    g = aliasing_graph({"modelA": model, "sd": sd, "modelB": other})
    assert g.same_storage("sd['layer1.weight']", "modelA.layer1.weight")
    assert not g.same_storage("modelB.layer1.weight", "modelA.layer1.weight")
    assert not g.same_storage("modelB.layer1.weight", "sd['layer1.weight']")
    assert "modelB shares no object or storage with the other names." in describe_aliasing(
        {"modelA": model, "sd": sd, "modelB": other}
    )


def test_load_state_dict_assign_true_uses_the_dicts_storage(model):
    other = seeded(ArticleNet, seed=1)
    sd = model.state_dict()
    other.load_state_dict(sd, assign=True)
    g = aliasing_graph({"modelA": model, "sd": sd, "modelC": other})
    assert g.same_storage("modelC.layer1.weight", "sd['layer1.weight']")
    assert g.same_storage("modelC.layer1.weight", "modelA.layer1.weight")
    assert not g.same_object("modelC.layer1.weight", "modelA.layer1.weight")
    assert g.node(g.object_of("modelC.layer1.weight")).label == "Parameter 4×10"


def test_optimizer_and_its_copied_state(model):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(2, 10)).sum().backward()
    opt.step()
    modelB = copy.deepcopy(model)
    opt2 = torch.optim.SGD(modelB.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(opt.state_dict())
    named = {"modelA": model, "opt": opt, "modelB": modelB, "opt2": opt2}
    g = aliasing_graph(named)
    assert len(_kinds(g, "optimizer")) == 2
    # an optimizer holds the model's Parameter objects themselves
    assert g.same_object("opt.param_groups[0][0]", "modelA.layer1.weight")
    assert g.same_object("opt2.param_groups[0][0]", "modelB.layer1.weight")
    assert not g.same_storage("opt2.param_groups[0][0]", "opt.param_groups[0][0]")
    # the graph reports for the loaded state exactly what `is` and shares_storage say
    buf1 = opt.state[model.layer1.weight]["momentum_buffer"]
    buf2 = opt2.state[modelB.layer1.weight]["momentum_buffer"]
    assert g.same_object("opt.state[0].momentum_buffer", "opt2.state[0].momentum_buffer") == (buf1 is buf2)
    assert g.same_storage("opt.state[0].momentum_buffer", "opt2.state[0].momentum_buffer") == shares_storage(buf1, buf2)
    # and an optimizer's own state_dict is accepted as a nested mapping
    g2 = aliasing_graph({"opt": opt, "osd": opt.state_dict()})
    assert g2.same_storage("osd['state'][0]['momentum_buffer']", "opt.state[0].momentum_buffer")


def test_tied_weights_one_parameter_two_names():
    net = nn.Module()
    net.emb = nn.Embedding(5, 3)
    net.out = nn.Linear(3, 5, bias=False)
    net.out.weight = net.emb.weight
    g = aliasing_graph({"net": net})
    assert g.same_object("net.emb.weight", "net.out.weight")
    holds = [e for e in g.edges if e.kind == "holds"]
    assert [e.label for e in holds] == ["emb.weight", "out.weight"]
    assert len({e.target for e in holds}) == 1
    assert describe_aliasing({"net": net}) == "net.emb.weight and net.out.weight are the same tensor object."


def test_view_is_a_slice_of_its_storage():
    w = torch.arange(8.0)
    named = {"w": w, "v": w[2:6], "t": w.view(2, 4).t(), "s": w[::2], "c": w.clone()}
    g = aliasing_graph(named)
    assert g.same_storage("v", "w") and g.same_storage("t", "w") and g.same_storage("s", "w")
    assert not g.same_storage("c", "w")
    assert g.slice_of("w") == (0, 8, 8)
    assert g.slice_of("v") == (2, 6, 8)
    assert g.slice_of("t") == (0, 8, 8)
    assert g.slice_of("s") == (0, 7, 8)
    dense = {e.source: e.dense for e in g.edges if e.kind == "uses"}
    assert dense[g.object_of("s")] is False and dense[g.object_of("v")] is True
    text = describe_aliasing(named)
    assert "v shares storage with w (v covers elements 2:6 of 8)." in text
    assert "c shares no object or storage with the other names." in text


def test_view_of_a_parameter_in_a_module(model):
    row = model.layer1.weight.detach()[1]
    g = aliasing_graph({"modelA": model, "row": row})
    assert g.same_storage("row", "modelA.layer1.weight")
    assert g.slice_of("row") == (10, 20, 40)


def test_graph_is_deterministic(model):
    named = {"modelA": model, "sd": model.state_dict()}
    a, b = aliasing_graph(named), aliasing_graph(named)
    assert (a.nodes, a.edges, a.groups) == (b.nodes, b.edges, b.groups)
    assert all(":" in n.id and not any(ch.isdigit() and len(n.id) > 20 for ch in n.id) for n in a.nodes)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "bad, exc, message",
    [
        ([1, 2], TypeError, "named must be a mapping of names to objects"),
        ({}, ValueError, "named is empty"),
        ({1: torch.zeros(1)}, TypeError, "names must be non-empty strings"),
        ({"x": 3}, TypeError, "named['x'] must be an nn.Module, a Tensor, a state_dict-like mapping"),
        ({"sd": {"w": object()}}, TypeError, "named['sd']: a state_dict-like mapping may hold tensors"),
        ({"s": torch.zeros(2, 2).to_sparse()}, ValueError, "dense (strided) tensor"),
    ],
)
def test_bad_input_names_what_was_expected(bad, exc, message):
    with pytest.raises(exc) as err:
        aliasing_graph(bad)
    assert message in str(err.value)


def test_unknown_path_lists_known_paths(model):
    g = aliasing_graph({"modelA": model})
    with pytest.raises(KeyError, match="known: modelA, modelA.layer1.weight"):
        g.object_of("modelB")
    with pytest.raises(ValueError, match="is not a tensor"):
        g.storage_of("modelA")


# ---------------------------------------------------------------- drawing


def test_draw_returns_one_closed_opaque_figure(model):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = draw_aliasing({"modelA": model, "modelB": model, "sd": model.state_dict()}, title="Assignment")
    assert isinstance(fig, matplotlib.figure.Figure)
    assert plt.get_fignums() == before, "the figure must not stay in pyplot's registry"
    assert matplotlib.colors.to_rgba(fig.get_facecolor()) == (1.0, 1.0, 1.0, 1.0)
    assert float(fig.get_figwidth()) == 13.0
    assert fig.alt_text.startswith("modelA and modelB are the same object")
    size = tuple(fig.get_size_inches())
    again = draw_aliasing({"modelA": model, "modelB": model, "sd": model.state_dict()}, title="Assignment")
    assert tuple(again.get_size_inches()) == size
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "modelA" in texts and "modelB" in texts
    assert any(t.startswith("S1:") for t in texts) and any("→ S1" == t for t in texts)
    assert min(t.get_fontsize() for t in fig.axes[0].texts) >= 10, "readable on a projector"


def test_draw_renders_every_case_to_png(tmp_path, model):
    w = torch.arange(8.0)
    fig = draw_aliasing({"w": w, "v": w[2:6], "c": w.clone()})
    fig.savefig(tmp_path / "view.png")
    assert (tmp_path / "view.png").stat().st_size > 5000


def test_draw_rejects_bad_title(model):
    with pytest.raises(TypeError, match="title must be a str"):
        draw_aliasing({"m": model}, title=3)


def test_graph_type():
    assert isinstance(aliasing_graph({"t": torch.zeros(1)}), AliasingGraph)


def test_figure_text_form_is_the_description():
    """nbval compares text/plain: the figure's text must state what the picture shows."""
    m = torch.nn.Linear(2, 1)
    fig = draw_aliasing({"a": m, "b": m})
    assert repr(fig) == "Aliasing diagram. " + describe_aliasing({"a": m, "b": m})
    assert repr(fig).startswith("Aliasing diagram. a and b are the same object")
