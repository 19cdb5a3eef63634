"""Aliasing graph, description and drawing: one test per case the course teaches, each checked
against ``is``, shares_storage and overlaps."""
import copy
import itertools
import re

import matplotlib
import pytest
import torch
from torch import nn

from helpers.diagram import (
    FIG_WIDTH_IN,
    aliasing_graph,
    caption,
    describe_aliasing,
    draw_aliasing,
    min_font_pt,
    storage_colours,
)
from helpers.models import ArticleNet, LogisticRegression, seeded
from helpers.storage import overlaps, shares_storage


@pytest.fixture
def model():
    return seeded(ArticleNet, seed=0)


def test_assignment_two_names_one_object(model):
    named = {"modelA": model, "modelB": model}
    g = aliasing_graph(named)
    assert g.same_object("modelA", "modelB")
    assert len(g.containers) == 1 and g.containers[0].names == ("modelA", "modelB")
    assert len(g.tensors) == 2 and len(g.storages) == 2
    assert describe_aliasing(named) == "modelA and modelB are the same object (ArticleNet)."


def test_shallow_copy_new_module_same_parameters(model):
    named = {"modelA": model, "modelB": copy.copy(model)}
    g = aliasing_graph(named)
    assert not g.same_object("modelA", "modelB") and len(g.containers) == 2
    for p in ("layer1.weight", "layer1.bias"):
        assert g.same_object(f"modelA.{p}", f"modelB.{p}")
        assert g.same_storage(f"modelA.{p}", f"modelB.{p}")
    assert len(g.tensors) == 2
    assert (
        "modelA.layer1.weight and modelB.layer1.weight are the same tensor object."
        in describe_aliasing(named)
    )


def test_deepcopy_shares_nothing(model):
    named = {"modelA": model, "modelB": copy.deepcopy(model)}
    g = aliasing_graph(named)
    assert not g.same_object("modelA.layer1.weight", "modelB.layer1.weight")
    assert not g.same_storage("modelA.layer1.weight", "modelB.layer1.weight")
    assert len(g.storages) == 4
    assert describe_aliasing(named) == "modelA and modelB share no object and no storage."


def test_state_dict_new_tensor_objects_same_storage():
    m = seeded(LogisticRegression, 2, 2)
    sd = m.state_dict()
    g = aliasing_graph({"m": m, "sd": sd})
    assert [c.kind for c in g.containers] == ["module", "state_dict"]
    assert [s.key for s in g.containers[1].slots] == ['["fc.weight"]', '["fc.bias"]']
    for k in ("fc.weight", "fc.bias"):
        path = f'sd["{k}"]'
        assert not g.same_object(path, f"m.{k}")  # detached tensors: new objects
        assert g.same_storage(path, f"m.{k}") and g.overlaps(path, f"m.{k}")
    assert describe_aliasing({"m": m, "sd": sd}).splitlines() == [
        'sd["fc.weight"] shares storage with m.fc.weight, and their elements overlap.',
        'sd["fc.bias"] shares storage with m.fc.bias, and their elements overlap.',
    ]


def test_default_load_state_dict_copies_values(model):
    other = seeded(ArticleNet, seed=1)
    sd = model.state_dict()
    other.load_state_dict(sd)
    named = {"modelA": model, "sd": sd, "modelB": other}
    g = aliasing_graph(named)
    assert g.same_storage('sd["layer1.weight"]', "modelA.layer1.weight")
    assert not g.same_storage("modelB.layer1.weight", "modelA.layer1.weight")
    assert "modelB shares no object or storage with the other names." in describe_aliasing(named)


def test_load_state_dict_assign_true_uses_the_dicts_storage(model):
    other = seeded(ArticleNet, seed=1)
    sd = model.state_dict()
    other.load_state_dict(sd, assign=True)
    g = aliasing_graph({"modelA": model, "sd": sd, "modelC": other})
    assert g.same_storage("modelC.layer1.weight", 'sd["layer1.weight"]')
    assert not g.same_object("modelC.layer1.weight", "modelA.layer1.weight")
    assert g.tensor("modelC.layer1.weight").label == "Parameter 4×10"
    assert g.tensor("modelC.layer1.weight").is_parameter


def test_optimizer_and_its_copied_state(model):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(2, 10)).sum().backward()
    opt.step()
    modelB = copy.deepcopy(model)
    opt2 = torch.optim.SGD(modelB.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(opt.state_dict())
    g = aliasing_graph({"modelA": model, "opt": opt, "modelB": modelB, "opt2": opt2})
    assert [c.kind for c in g.containers].count("optimizer") == 2
    # an optimizer holds the model's Parameter objects themselves
    assert g.same_object('opt.param_groups[0]["params"][0]', "modelA.layer1.weight")
    assert g.same_object('opt2.param_groups[0]["params"][0]', "modelB.layer1.weight")
    # the graph reports for the loaded state exactly what `is` and shares_storage say
    buf1 = opt.state[model.layer1.weight]["momentum_buffer"]
    buf2 = opt2.state[modelB.layer1.weight]["momentum_buffer"]
    a, b = 'opt.state[0]["momentum_buffer"]', 'opt2.state[0]["momentum_buffer"]'
    assert g.same_object(a, b) == (buf1 is buf2)
    assert g.same_storage(a, b) == shares_storage(buf1, buf2)
    g2 = aliasing_graph({"opt": opt, "osd": opt.state_dict()})
    assert g2.same_object('osd["state"][0]["momentum_buffer"]', a)


def test_tied_weights_one_parameter_two_names():
    net = nn.Module()
    net.emb = nn.Embedding(5, 3)
    net.out = nn.Linear(3, 5, bias=False)
    net.out.weight = net.emb.weight
    g = aliasing_graph({"net": net})
    assert g.same_object("net.emb.weight", "net.out.weight")
    assert [s.key for s in g.containers[0].slots] == [".emb.weight", ".out.weight"]
    assert len({s.tensor for s in g.containers[0].slots}) == 1
    assert describe_aliasing({"net": net}) == (
        "net.emb.weight and net.out.weight are the same tensor object."
    )


def test_views_cover_part_of_a_storage():
    w = torch.arange(8.0)
    named = {"w": w, "v": w[2:6], "t": w.view(2, 4).t(), "s": w[::2], "c": w.clone()}
    g = aliasing_graph(named)
    assert g.same_storage("v", "w") and g.same_storage("t", "w") and g.same_storage("s", "w")
    assert not g.same_storage("c", "w")
    assert g.elements("w") == (0, 8, 8) and g.elements("v") == (2, 6, 8)
    assert g.elements("t") == (0, 8, 8) and g.elements("s") == (0, 7, 8)
    assert g.tensor("s").member.dense is False and g.tensor("v").member.dense is True
    assert describe_aliasing(named).splitlines() == [
        "v shares storage with w, and their elements overlap (v covers elements 2:6 of 8).",
        "t shares storage with w, and their elements overlap.",
        "s shares storage with w, and their elements overlap (s covers elements 0:7:2 of 8).",
        "c shares no object or storage with the other names.",
    ]


def test_disjoint_views_share_storage_but_do_not_overlap():
    x = torch.arange(8.0)
    g = aliasing_graph({"head": x[:4], "tail": x[4:], "col": x.view(4, 2)[:, 1]})
    assert g.same_storage("head", "tail") and not g.overlaps("head", "tail")
    assert describe_aliasing(g).splitlines() == [
        (
            "tail shares storage with head, but none of their elements overlap "
            "(tail covers elements 4:8 of 8; head covers elements 0:4 of 8)."
        ),
        (
            "col shares storage with head, and their elements overlap "
            "(col covers elements 1:8:2 of 8; head covers elements 0:4 of 8)."
        ),
    ]


def test_uneven_strides_are_called_strided():
    x = torch.arange(16.0)
    block = x.view(4, 4)[:2, :2]  # elements 0, 1, 4, 5
    assert "block covers a strided part of elements 0:6 of 16" in describe_aliasing(
        {"x": x, "block": block}
    )


def test_graph_agrees_with_shares_storage_and_overlaps_pair_by_pair():
    x = torch.arange(12.0)
    m = x.view(3, 4)
    tensors = {"x": x, "row": m[1], "col": m[:, 2], "even": x[::2], "odd": x[1::2],
               "t": m.t(), "e": x[5:6].expand(3), "c": x.clone(), "empty": x[3:3]}
    g = aliasing_graph(tensors)
    text = describe_aliasing(g)
    for a, b in itertools.combinations(tensors, 2):
        assert g.same_storage(a, b) == shares_storage(tensors[a], tensors[b]), (a, b)
        assert g.overlaps(a, b) == overlaps(tensors[a], tensors[b]), (a, b)
    for line in text.splitlines():
        if " shares storage with " in line:
            a, rest = line.split(" shares storage with ")
            b = rest.split(",")[0]
            assert shares_storage(tensors[a], tensors[b])
            assert ("and their elements overlap" in line) == overlaps(tensors[a], tensors[b])


def test_caption_counts_what_the_figure_shows(model):
    assert caption({"modelA": model, "sd": model.state_dict()}).startswith(
        "2 names → 1 module and 1 state_dict holding 4 tensor objects → 2 storages."
    )
    assert caption({"w": torch.zeros(1)}).startswith("1 name → 1 tensor object → 1 storage.")


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("bad", "exc", "message"),
    [
        ([1, 2], TypeError, "named must be a mapping of names to objects (a dict), got list"),
        ({}, ValueError, "named is empty"),
        ({1: torch.zeros(1)}, TypeError, "each name must be a non-empty str, got int"),
        ({" ": torch.zeros(1)}, ValueError, "each name must be a non-empty str, got ' '"),
        ({"x": 3}, TypeError, "named['x'] must be an nn.Module, a Tensor, a state_dict-like"),
        ({"sd": {"w": object()}}, TypeError, "got object at 'sd[\"w\"]'"),
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
        g.ref("modelB")
    with pytest.raises(ValueError, match="is not a tensor"):
        g.tensor("modelA")


def test_draw_rejects_bad_arguments(model):
    with pytest.raises(TypeError, match="title must be a str or None, got int"):
        draw_aliasing({"m": model}, title=3)
    with pytest.raises(TypeError, match="shared_only must be True or False"):
        draw_aliasing({"m": model}, shared_only="yes")


# ---------------------------------------------------------------- drawing


def _rendered_texts(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [(t, t.get_window_extent(renderer)) for t in fig.axes[0].texts if t.get_text()]


def _optimizers():
    A = seeded(ArticleNet)
    optA = torch.optim.Adam(A.parameters())
    A(torch.ones(1, 10)).sum().backward()
    optA.step()
    B = copy.deepcopy(A)
    optB = torch.optim.Adam(B.parameters())
    optB.load_state_dict(optA.state_dict())
    return {"optA": optA, "optB": optB}


def test_draw_returns_one_closed_white_figure_whose_text_is_the_description(model):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    named = {"modelA": model, "modelB": model, "sd": model.state_dict()}
    fig = draw_aliasing(named, title="Assignment")
    assert plt.get_fignums() == before, "the figure must not stay in pyplot's registry"
    assert matplotlib.colors.to_rgba(fig.get_facecolor()) == (1.0, 1.0, 1.0, 1.0)
    assert float(fig.get_figwidth()) == FIG_WIDTH_IN
    assert repr(fig) == "Aliasing diagram. " + describe_aliasing(named)
    assert fig.caption == caption(named)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert {"modelA", "modelB", "sd", "Assignment"} <= set(texts)
    assert {"S1: 40 × float32", "S2: 4 × float32"} <= set(texts)


@pytest.mark.parametrize("case", ["views", "optimizers", "models"])
def test_text_is_legible_at_jupyterlab_width_and_never_collides(case, model):
    named = {
        "views": lambda: {"x": (x := torch.arange(8.0)), "mid": x[2:6], "odd": x[1::2]},
        "optimizers": _optimizers,
        "models": lambda: {"a_long_variable_name": model, "sd": model.state_dict()},
    }[case]()
    fig = draw_aliasing(named, title="a title")
    assert min(t.get_fontsize() for t in fig.axes[0].texts) >= min_font_pt()
    boxes = _rendered_texts(fig)
    width, height = fig.bbox.width, fig.bbox.height
    for text, box in boxes:
        assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height, text
    for (t1, b1), (t2, b2) in itertools.combinations(boxes, 2):
        assert not b1.overlaps(b2), (t1.get_text(), t2.get_text())


def test_one_colour_per_storage_even_with_many_storages():
    fig = draw_aliasing(_optimizers())
    assert len(fig.colours) == 10
    assert len(set(fig.colours.values())) == 10, "two storages share a colour"
    assert len(set(storage_colours(21))) == 21


def test_storages_are_numbered_top_to_bottom(model):
    fig = draw_aliasing(_optimizers())
    heads = [t for t in fig.axes[0].texts if re.match(r"S\d+:", t.get_text())]
    by_height = sorted(heads, key=lambda t: t.get_position()[1])
    assert [t.get_text().split(":")[0] for t in by_height] == [f"S{k}" for k in range(1, 11)]


def test_boxes_are_ordered_so_arrows_do_not_cross():
    x = torch.arange(4.0)
    # given order x, c, v would make v's arrow cross c's; the drawing reorders to x, v, c
    fig = draw_aliasing({"x": x, "c": x.clone(), "v": x[2:]})
    assert fig.crossings == 0
    src, b, c = (seeded(LogisticRegression, 2, 2, seed=s) for s in (1, 2, 3))
    b.load_state_dict(src.state_dict())
    c.load_state_dict(src.state_dict(), assign=True)
    # c shares src's storages: drawn next to src, one crossing is all that remains
    assert draw_aliasing({"src": src, "b": b, "c": c}).crossings == 1


def test_shared_only_leaves_out_what_shares_nothing():
    named = _optimizers()
    full, shared = draw_aliasing(named), draw_aliasing(named, shared_only=True)
    assert len(shared.colours) == 6 and len(full.colours) == 10
    assert shared.alt_text == full.alt_text  # the description still covers everything
    assert shared.caption.endswith("Left out: 4 tensor objects sharing nothing.")
    assert "(+2 tensors sharing nothing)" in [t.get_text() for t in shared.axes[0].texts]


def test_a_view_is_drawn_as_the_part_of_the_bar_it_covers(tmp_path):
    x = torch.arange(8.0)
    fig = draw_aliasing({"x": x, "mid": x[2:6], "odd": x[1::2]})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "[2:6]" in texts and "[1:8:2]" in texts
    colour = matplotlib.colors.to_rgba(fig.colours["S1"])
    filled = [p for p in fig.axes[0].patches
              if isinstance(p, matplotlib.patches.Rectangle) and p.get_facecolor() == colour]
    widths = sorted(round(p.get_width() / max(q.get_width() for q in filled), 3) for p in filled)
    # x: one full run; mid: one run of half the bar; odd: four runs of one element each
    assert widths == [0.125] * 4 + [0.5, 1.0]
    fig.savefig(tmp_path / "view.png")
    assert (tmp_path / "view.png").stat().st_size > 5000
