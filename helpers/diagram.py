"""Aliasing diagrams: names -> Python objects -> tensor storages.

:func:`aliasing_graph` is a pure function that works out which names are the same object, which
tensor objects a module, state_dict or optimizer holds, and which memory (storage) each tensor
really uses, including the slice a view covers. :func:`draw_aliasing` only renders that graph
with matplotlib; :func:`describe_aliasing` says the same in plain English (alt text).

>>> import torch
>>> w = torch.zeros(8)
>>> print(describe_aliasing({"w": w, "v": w[2:6], "c": w.clone()}))
v shares storage with w (v covers elements 2:6 of 8).
c shares no object or storage with the other names.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from matplotlib.figure import Figure

from helpers.reproducible import PALETTE
from helpers.storage import _check_tensor, _memory_range, _overlap, named_tensors

__all__ = [
    "AliasingGraph",
    "Edge",
    "Group",
    "Node",
    "aliasing_graph",
    "describe_aliasing",
    "draw_aliasing",
]

NODE_KINDS = ("name", "module", "state_dict", "optimizer", "tensor", "storage")


@dataclass(frozen=True)
class Node:
    """One box of the diagram. ``kind`` is one of :data:`NODE_KINDS`."""

    id: str
    kind: str
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Edge:
    """An arrow: name -> object ("refers"), container -> tensor ("holds", label = key), or
    tensor -> storage ("uses", with the byte range ``start:stop`` it covers)."""

    source: str
    target: str
    kind: str
    label: str = ""
    start: int = 0
    stop: int = 0
    dense: bool = True


@dataclass(frozen=True)
class Group:
    """Paths that are one Python object (``kind="same_object"``) or share memory
    (``kind="shared_storage"``). Only groups of two or more members are listed."""

    kind: str
    members: tuple[str, ...]
    node: str


@dataclass(frozen=True)
class AliasingGraph:
    """Nodes, edges and groups; ``paths`` maps every name and tensor path to its object node."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    groups: tuple[Group, ...]
    paths: Mapping[str, str] = field(default_factory=dict)

    def node(self, node_id: str) -> Node:
        """The node with this id."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"no node {node_id!r}")

    def object_of(self, path: str) -> str:
        """Node id of the Python object a name or tensor path refers to."""
        try:
            return self.paths[path]
        except KeyError:
            raise KeyError(f"unknown path {path!r}; known: {', '.join(self.paths)}") from None

    def storage_of(self, path: str) -> str:
        """Node id of the storage a tensor path uses."""
        obj = self.object_of(path)
        for e in self.edges:
            if e.kind == "uses" and e.source == obj:
                return e.target
        raise ValueError(f"{path!r} is not a tensor (it is a {self.node(obj).kind})")

    def same_object(self, a: str, b: str) -> bool:
        """True if the two paths reach the same Python object (``a is b``)."""
        return self.object_of(a) == self.object_of(b)

    def same_storage(self, a: str, b: str) -> bool:
        """True if the two tensor paths use the same (overlapping) memory."""
        return self.storage_of(a) == self.storage_of(b)

    def slice_of(self, path: str) -> tuple[int, int, int]:
        """(first element, one past the last element, storage length in elements) of a tensor."""
        obj = self.object_of(path)
        e = next(e for e in self.edges if e.kind == "uses" and e.source == obj)
        size = int(self.node(e.target).detail.split()[0])
        item = _itemsize(self.node(e.target))
        return e.start // item, e.stop // item, size

    def of_kind(self, kind: str) -> list[Node]:
        """All nodes of one kind, in first-seen order."""
        return [n for n in self.nodes if n.kind == kind]


# ---------------------------------------------------------------- the pure part


def _kind(value: object, name: str) -> str:
    if isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, nn.Module):
        return "module"
    if isinstance(value, torch.optim.Optimizer):
        return "optimizer"
    if isinstance(value, Mapping):
        return "state_dict"
    raise TypeError(
        f"named[{name!r}] must be an nn.Module, a Tensor, a state_dict-like mapping of tensors "
        f"or a torch.optim.Optimizer; got {type(value).__name__}"
    )


def _shape(t: torch.Tensor) -> str:
    return "×".join(map(str, t.shape)) if t.dim() else "scalar"


def _tensor_label(t: torch.Tensor) -> str:
    kind = "Parameter" if isinstance(t, nn.Parameter) else "Tensor"
    return f"{kind} {_shape(t)}"


def _itemsize(storage_node: Node) -> int:
    return int(storage_node.detail.split("|")[1])


def _mapping_entries(value: Mapping, where: str) -> dict[str, torch.Tensor]:
    """``key -> tensor`` for a state_dict-like mapping; nested keys as ``['state'][0]['exp_avg']``."""
    out: dict[str, torch.Tensor] = {}

    def walk(v: object, key: str, top: bool) -> None:
        if isinstance(v, torch.Tensor):
            out[key] = v
        elif isinstance(v, Mapping):
            for k, sub in v.items():
                walk(sub, (f"{k}" if top and isinstance(k, str) else f"{key}[{k!r}]"), False)
        elif isinstance(v, (list, tuple)):
            for i, sub in enumerate(v):
                walk(sub, f"{key}[{i}]", False)
        elif not (v is None or isinstance(v, (bool, int, float, str))):
            raise TypeError(
                f"{where}: a state_dict-like mapping may hold tensors (and plain numbers or strings), "
                f"got {type(v).__name__} at {key or 'top level'}"
            )

    if not isinstance(value, Mapping):
        raise TypeError(f"{where}: expected a mapping, got {type(value).__name__}")
    for k, v in value.items():
        if not isinstance(k, (str, int)):
            raise TypeError(f"{where}: mapping keys must be str or int, got {type(k).__name__}")
        if isinstance(v, torch.Tensor):
            out[str(k)] = v
        else:
            walk(v, f"[{k!r}]", False)
    return out


def _entry_path(name: str, kind: str, key: str) -> str:
    if kind == "state_dict":
        return f"{name}{key}" if key.startswith("[") else f"{name}[{key!r}]"
    return f"{name}.{key}"


def _slice(t: torch.Tensor) -> tuple[int, int, bool]:
    """Byte range of ``t`` within its own untyped storage, and whether it is dense."""
    item = t.element_size()
    start = t.storage_offset() * item
    if t.numel() == 0:
        return start, start, True
    extent = 1 + sum((s - 1) * st for s, st in zip(t.shape, t.stride()))
    return start, start + extent * item, extent == t.numel()


def aliasing_graph(named: Mapping[str, object]) -> AliasingGraph:
    """Work out names -> objects -> storages for a mapping of names to things.

    Values may be ``nn.Module``, ``Tensor``, a state_dict-like mapping of tensors, or a
    ``torch.optim.Optimizer``. Nothing is drawn; the result is plain data.

    >>> import copy, torch
    >>> a = torch.nn.Linear(2, 1)
    >>> g = aliasing_graph({"a": a, "b": a, "c": copy.deepcopy(a), "sd": a.state_dict()})
    >>> g.same_object("a", "b"), g.same_object("a", "c")
    (True, False)
    >>> g.same_storage("sd['weight']", "a.weight"), g.same_storage("c.weight", "a.weight")
    (True, False)
    """
    if not isinstance(named, Mapping):
        raise TypeError(f"named must be a mapping of names to objects (a dict), got {type(named).__name__}")
    if not named:
        raise ValueError("named is empty; pass a dict like {'modelA': modelA, 'modelB': modelB}")
    for key in named:
        if not isinstance(key, str) or not key:
            raise TypeError(f"names must be non-empty strings, got {key!r}")

    nodes: list[Node] = []
    edges: list[Edge] = []
    paths: dict[str, str] = {}
    obj_ids: dict[int, str] = {}  # id(python object) -> node id (objects are kept alive by `named`)
    obj_names: dict[str, list[str]] = {}  # node id -> paths that reach it (canonical only)
    tensors: dict[str, torch.Tensor] = {}  # tensor node id -> tensor

    def tensor_node(t: torch.Tensor, path: str, canonical: bool) -> str:
        nid = obj_ids.get(id(t))
        if nid is None:
            _check_tensor(t, path)
            nid = f"tensor:{len(tensors)}"
            obj_ids[id(t)] = nid
            tensors[nid] = t
            nodes.append(Node(nid, "tensor", _tensor_label(t), str(t.dtype).removeprefix("torch.")))
        paths[path] = nid
        if canonical:
            obj_names.setdefault(nid, []).append(path)
        return nid

    containers = 0
    for name, value in named.items():
        kind = _kind(value, name)
        nodes.append(Node(f"name:{name}", "name", name))
        if kind == "tensor":
            nid = tensor_node(value, name, canonical=True)
            edges.append(Edge(f"name:{name}", nid, "refers"))
            continue
        if kind == "state_dict":
            entries = _mapping_entries(value, f"named[{name!r}]")
        else:
            entries = named_tensors(value)
        nid = obj_ids.get(id(value))
        first_time = nid is None
        if first_time:
            nid = f"{kind}:{containers}"
            containers += 1
            obj_ids[id(value)] = nid
            nodes.append(Node(nid, kind, type(value).__name__, _container_detail(kind)))
        paths[name] = nid
        obj_names.setdefault(nid, []).append(name)
        edges.append(Edge(f"name:{name}", nid, "refers"))
        for key, t in entries.items():
            tid = tensor_node(t, _entry_path(name, kind, key), canonical=first_time)
            if first_time:
                edges.append(Edge(nid, tid, "holds", key))

    # storages: tensors whose memory overlaps share one storage node (same rule as storage.py)
    order = list(tensors)
    ranges = [_memory_range(tensors[t]) for t in order]
    storage_of: list[int] = []
    merged: list[list[object]] = []  # [device, start, end, members]
    for i, r in enumerate(ranges):
        hits = [k for k, m in enumerate(merged) if _overlap(r, (m[0], m[1], m[2]))]
        if not hits:
            merged.append([r[0], r[1], r[2], [i]])
            storage_of.append(len(merged) - 1)
            continue
        keep = hits[0]
        for k in hits[1:]:  # a tensor bridging two earlier storages joins them
            merged[keep][1] = min(merged[keep][1], merged[k][1])
            merged[keep][2] = max(merged[keep][2], merged[k][2])
            merged[keep][3] += merged[k][3]
            merged[k][3] = []
        merged[keep][1] = min(merged[keep][1], r[1])
        merged[keep][2] = max(merged[keep][2], r[2])
        merged[keep][3].append(i)
        storage_of.append(keep)
    live = [m for m in merged if m[3]]
    for s, (device, start, end, members) in enumerate(live):
        first = tensors[order[min(members)]]
        item = first.element_size()
        sid = f"storage:{s}"
        n_items = (end - start) // item
        dtype = str(first.dtype).removeprefix("torch.")
        nodes.append(Node(sid, "storage", f"S{s + 1}", f"{n_items} {dtype} {end - start} B {device}|{item}"))
        for i in sorted(members):
            t = tensors[order[i]]
            lo, hi, dense = _slice(t)
            shift = t.untyped_storage().data_ptr() - start
            edges.append(Edge(order[i], sid, "uses", start=lo + shift, stop=hi + shift, dense=dense))

    groups: list[Group] = []
    for nid, names in obj_names.items():
        if len(names) > 1:
            groups.append(Group("same_object", tuple(names), nid))
    for s in range(len(live)):
        sid = f"storage:{s}"
        members = [p for e in edges if e.kind == "uses" and e.target == sid for p in obj_names.get(e.source, [])]
        if len(members) > 1:
            groups.append(Group("shared_storage", tuple(members), sid))
    return AliasingGraph(tuple(nodes), tuple(edges), tuple(groups), paths)


def _container_detail(kind: str) -> str:
    return {"module": "nn.Module", "state_dict": "state_dict", "optimizer": "optimizer"}[kind]


# ---------------------------------------------------------------- plain-English description


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def describe_aliasing(named: Mapping[str, object]) -> str:
    """A few plain sentences for alt text and screen readers (same facts as the diagram).

    >>> import torch
    >>> m = torch.nn.Linear(2, 1)
    >>> print(describe_aliasing({"modelA": m, "modelB": m, "sd": m.state_dict()}))
    modelA and modelB are the same object (Linear).
    sd['weight'] shares storage with modelA.weight.
    sd['bias'] shares storage with modelA.bias.
    """
    g = named if isinstance(named, AliasingGraph) else aliasing_graph(named)
    lines: list[str] = []
    for grp in g.groups:
        if grp.kind == "same_object":
            node = g.node(grp.node)
            what = "tensor object" if node.kind == "tensor" else f"object ({node.label})"
            lines.append(f"{_join(list(grp.members))} are the same {what}.")
    uses = {e.source: e for e in g.edges if e.kind == "uses"}
    for grp in g.groups:
        if grp.kind != "shared_storage":
            continue
        size = int(g.node(grp.node).detail.split()[0])
        item = _itemsize(g.node(grp.node))
        by_object: dict[str, str] = {}  # one path per distinct tensor object
        for m in grp.members:
            by_object.setdefault(g.object_of(m), m)
        if len(by_object) < 2:
            continue
        first, *others = by_object.values()
        for other in others:
            e = uses[g.object_of(other)]
            sentence = f"{other} shares storage with {first}"
            lo, hi = e.start // item, e.stop // item
            if (lo, hi) != (0, size) or not e.dense:
                part = "elements" if e.dense else "a strided part of elements"
                sentence += f" ({other} covers {part} {lo}:{hi} of {size})"
            lines.append(sentence + ".")
    # names that share nothing with any other name
    names = [n.label for n in g.of_kind("name")]
    touched: set[str] = set()
    for grp in g.groups:
        for m in grp.members:
            touched.add(_top(m))
    alone = [n for n in names if n not in touched]
    if len(names) > 1 and len(alone) == len(names):
        lines.append(f"{_join(names)} share no object and no storage.")
    elif len(names) > 1:
        for n in alone:
            lines.append(f"{n} shares no object or storage with the other names.")
    if not lines:
        lines.append("Nothing is shared.")
    return "\n".join(lines)


def _top(path: str) -> str:
    for i, ch in enumerate(path):
        if ch in ".[":
            return path[:i]
    return path


# ---------------------------------------------------------------- drawing

_HATCHES = ["//", "\\\\", "xx", "..", "++", "oo", "--", "||"]
_COLOURS = [c for c in PALETTE if c != "#000000"]
_X = {"name": (0.5, 13.5), "container": (17.0, 41.0), "tensor": (47.0, 66.0), "storage": (73.0, 99.5)}
_ROW = 1.0  # height of one row in data units
_GAP = 0.35


def _spread(wanted: list[tuple[float, float]], top: float) -> list[float]:
    """Top edges for boxes of given heights, near their wanted centres, never overlapping."""
    order = sorted(range(len(wanted)), key=lambda i: (wanted[i][0], i))
    tops = [0.0] * len(wanted)
    cursor = top
    for i in order:
        centre, height = wanted[i]
        tops[i] = max(centre - height / 2, cursor)
        cursor = tops[i] + height + _GAP
    return tops


def _layout(g: AliasingGraph) -> dict[str, tuple[float, float]]:
    """Top and height (data units) of every node; slot rows under ``slot:<container>:<i>``."""
    box: dict[str, tuple[float, float]] = {}
    holds: dict[str, list[Edge]] = {}
    for e in g.edges:
        if e.kind == "holds":
            holds.setdefault(e.source, []).append(e)
    top = 1.3
    cursor = top
    for n in g.nodes:
        if n.kind in ("module", "state_dict", "optimizer"):
            rows = holds.get(n.id, [])
            height = _ROW * (1 + max(1, len(rows))) + 0.2
            box[n.id] = (cursor, height)
            for i, e in enumerate(rows):
                box[f"slot:{n.id}:{i}"] = (cursor + _ROW * (1 + i) + 0.1, _ROW)
            cursor += height + _GAP
    # tensors: near the slots (or names) that point at them
    refers = {e.source: e.target for e in g.edges if e.kind == "refers"}
    wanted_t: list[tuple[float, float]] = []
    tensor_nodes = g.of_kind("tensor")
    name_nodes = g.of_kind("name")
    for t in tensor_nodes:
        ys = [box[f"slot:{e.source}:{holds[e.source].index(e)}"][0] + _ROW / 2
              for e in g.edges if e.kind == "holds" and e.target == t.id]
        if not ys:  # a name pointing straight at a tensor
            k = [i for i, nm in enumerate(name_nodes) if refers[nm.id] == t.id][0]
            ys = [cursor + k]
        wanted_t.append((sum(ys) / len(ys), _ROW * 0.8))
    for t, y in zip(tensor_nodes, _spread(wanted_t, top)):
        box[t.id] = (y, _ROW * 0.8)
    # storages: one header row plus one lane per distinct slice
    uses = [e for e in g.edges if e.kind == "uses"]
    wanted_s = []
    storage_nodes = g.of_kind("storage")
    for s in storage_nodes:
        mine = [e for e in uses if e.target == s.id]
        lanes = len({(e.start, e.stop, e.dense) for e in mine})
        ys = [box[e.source][0] + box[e.source][1] / 2 for e in mine]
        wanted_s.append((sum(ys) / len(ys), 0.75 + 0.7 * lanes))
    for s, y, (_, h) in zip(storage_nodes, _spread(wanted_s, top), wanted_s):
        box[s.id] = (y, h)
    # names: next to what they refer to
    wanted_n = []
    for nm in name_nodes:
        t, h = box[refers[nm.id]]
        wanted_n.append((t + (min(h, _ROW * 1.5)) / 2, _ROW * 0.8))
    for nm, y in zip(name_nodes, _spread(wanted_n, top)):
        box[nm.id] = (y, _ROW * 0.8)
    return box


class AliasingFigure(Figure):
    """A matplotlib Figure whose text form is the diagram's plain-English description.

    Notebooks and nbval see that text as the figure's ``text/plain`` output, so the facts a
    diagram shows are regression-tested even though images are not compared, and the website
    uses the same text as the image's alt text.
    """

    alt_text: str = ""

    def __repr__(self) -> str:
        return f"Aliasing diagram. {self.alt_text}" if self.alt_text else super().__repr__()


def draw_aliasing(named: Mapping[str, object], *, title: str | None = None) -> AliasingFigure:
    """Draw names | Python objects | storages and return the (closed) matplotlib Figure.

    The figure is closed in pyplot, so a notebook cell ending in ``draw_aliasing({...})`` shows
    it exactly once. Its plain-English description is ``fig.alt_text``.

    >>> import torch
    >>> fig = draw_aliasing({"w": torch.zeros(3)})
    >>> float(fig.get_figwidth()), fig.alt_text
    (13.0, 'Nothing is shared.')
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch, Rectangle

    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    g = aliasing_graph(named)
    box = _layout(g)
    bottom = max(t + h for t, h in box.values()) + 1.4
    height_in = round(max(3.0, 0.42 * bottom + (0.4 if title else 0.0)) * 2) / 2
    fig = plt.figure(figsize=(13.0, height_in), facecolor="white", FigureClass=AliasingFigure)
    plt.close(fig)
    ax = fig.add_axes((0.005, 0.005, 0.99, (0.99 if not title else 0.99 - 0.4 / height_in)))
    ax.set_facecolor("white")
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom, 0)
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=15, fontweight="bold", y=0.995, va="top")
    fs = 12.5
    mono = {"family": "monospace", "size": fs}
    for key, (x0, x1) in [("name", _X["name"]), ("container", (_X["container"][0], _X["tensor"][1])),
                          ("storage", _X["storage"])]:
        head = {"name": "names", "container": "Python objects", "storage": "memory (tensor storages)"}[key]
        ax.text((x0 + x1) / 2, 0.55, head, ha="center", va="center", fontsize=fs + 1, fontweight="bold",
                color="#333333")

    def rbox(x0, x1, top, h, *, fc="white", ec="black", ls="-", lw=1.6, hatch=None, z=2):
        ax.add_patch(FancyBboxPatch((x0, top), x1 - x0, h, boxstyle="round,pad=0,rounding_size=0.25",
                                    fc=fc, ec=ec, ls=ls, lw=lw, hatch=hatch, zorder=z, mutation_aspect=0.15))

    def arrow(x0, y0, x1, y1, *, color="black", ls="-", lw=1.6):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=5,
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, ls=ls, mutation_scale=16,
                                    shrinkA=0, shrinkB=1))

    storage_nodes = g.of_kind("storage")
    style = {s.id: (_COLOURS[i % len(_COLOURS)], _HATCHES[i % len(_HATCHES)]) for i, s in enumerate(storage_nodes)}
    uses = {e.source: e for e in g.edges if e.kind == "uses"}
    refers = {e.source: e.target for e in g.edges if e.kind == "refers"}

    # containers with their slots
    holds: dict[str, list[Edge]] = {}
    for e in g.edges:
        if e.kind == "holds":
            holds.setdefault(e.source, []).append(e)
    x0, x1 = _X["container"]
    for n in g.nodes:
        if n.kind not in ("module", "state_dict", "optimizer"):
            continue
        top, h = box[n.id]
        ls = {"module": "-", "state_dict": "--", "optimizer": "-."}[n.kind]
        rbox(x0, x1, top, h, fc="#F4F4F4", ls=ls, lw=2.0)
        head = f"{n.label}  ({n.detail})" if len(n.label) + len(n.detail) <= 26 else n.label
        head = head if len(head) <= 28 else head[:27] + "…"
        ax.text(x0 + 0.6, top + _ROW * 0.55, head, va="center", fontsize=fs, fontweight="bold")
        if not holds.get(n.id):
            ax.text(x0 + 1.2, top + _ROW * 1.55, "(no tensors)", va="center", fontsize=fs - 1, style="italic")
        for i, e in enumerate(holds.get(n.id, [])):
            st, sh = box[f"slot:{n.id}:{i}"]
            ax.add_patch(Rectangle((x0 + 0.8, st + 0.08), x1 - x0 - 1.6, sh - 0.16, fc="white", ec="#666666",
                                   lw=0.8, zorder=3))
            key = e.label if len(e.label) <= 26 else "…" + e.label[-25:]
            ax.text(x0 + 1.3, st + sh / 2, key, va="center", fontdict=mono, zorder=4)
            tt, th = box[e.target]
            arrow(x1 - 0.8, st + sh / 2, _X["tensor"][0], tt + th / 2, color="#444444", lw=1.3)

    # tensor objects
    x0, x1 = _X["tensor"]
    for n in g.of_kind("tensor"):
        top, h = box[n.id]
        e = uses[n.id]
        colour, _ = style[e.target]
        rbox(x0, x1, top, h, fc="white", ls="-" if n.label.startswith("Parameter") else "--", lw=1.8)
        ax.text(x0 + 0.6, top + h / 2, n.label, va="center", fontsize=fs)
        ax.text(x1 - 0.6, top + h / 2, f"→ {g.node(e.target).label}", va="center", ha="right",
                fontsize=fs, fontweight="bold")

    # storages with one lane per distinct slice
    x0, x1 = _X["storage"]
    lane_y: dict[tuple[str, int, int, bool], float] = {}
    for s in storage_nodes:
        top, h = box[s.id]
        colour, hatch = style[s.id]
        rbox(x0, x1, top, h, fc="white", lw=2.2)
        n_items, dtype, nbytes = s.detail.split("|")[0].split()[:3]
        ax.text(x0 + 0.6, top + 0.4, f"{s.label}: {n_items} × {dtype}", va="center", fontsize=fs,
                fontweight="bold")
        lanes = sorted({(e.start, e.stop, e.dense) for e in uses.values() if e.target == s.id})
        total = int(n_items) * _itemsize(s)
        for k, (lo, hi, dense) in enumerate(lanes):
            ly = top + 0.75 + 0.7 * k
            lx0, lx1 = x0 + 0.6, x1 - 0.6
            ax.add_patch(Rectangle((lx0, ly + 0.05), lx1 - lx0, 0.5, fc="white", ec="#666666", lw=0.8, zorder=3))
            a = lx0 + (lx1 - lx0) * lo / total if total else lx0
            b = lx0 + (lx1 - lx0) * hi / total if total else lx1
            ax.add_patch(Rectangle((a, ly + 0.05), max(b - a, 0.3), 0.5, fc=colour, ec="black", lw=1.0,
                                   hatch=hatch, alpha=0.75 if dense else 0.45, zorder=4))
            item = _itemsize(s)
            if (lo, hi) != (0, total) or not dense:
                tag = f"[{lo // item}:{hi // item}]" + ("" if dense else " strided")
                ax.text(lx1 - 0.2, ly + 0.3, tag, ha="right", va="center", fontsize=fs - 1.5, zorder=6,
                        bbox=dict(fc="white", ec="none", pad=0.5))
            lane_y[(s.id, lo, hi, dense)] = ly + 0.3
    for tid, e in uses.items():
        tt, th = box[tid]
        colour, _ = style[e.target]
        full = e.dense and (e.start, e.stop) == (0, int(g.node(e.target).detail.split()[0]) * _itemsize(g.node(e.target)))
        arrow(_X["tensor"][1], tt + th / 2, _X["storage"][0] + 0.6, lane_y[(e.target, e.start, e.stop, e.dense)],
              color="black", ls="-" if full else "--", lw=1.5)

    # names
    x0, x1 = _X["name"]
    for nm in g.of_kind("name"):
        top, h = box[nm.id]
        rbox(x0, x1, top, h, fc="#FFFFFF", lw=1.2)
        label = nm.label if len(nm.label) <= 12 else nm.label[:11] + "…"
        ax.text((x0 + x1) / 2, top + h / 2, label, ha="center", va="center", fontsize=fs + 0.5,
                fontweight="bold", family="monospace")
        target = refers[nm.id]
        tt, _th = box[target]
        tx = _X["container"][0] if not target.startswith("tensor") else _X["tensor"][0]
        arrow(x1, top + h / 2, tx, tt + min(_ROW * 0.55, _th / 2), lw=1.8)

    legend = ("One box = one Python object: two arrows into a box = two names for the same object. "
              "Dashed tensor box = plain Tensor, solid = Parameter.\n"
              "S1, S2, … = separate memory; the same S-number = shared memory.  "
              "Dashed arrow and [a:b] = a view covering part of it.")
    ax.text(50, bottom - 0.6, legend, ha="center", va="center", fontsize=fs - 1.5, color="#222222",
            linespacing=1.4)
    fig.alt_text = describe_aliasing(g)
    return fig
