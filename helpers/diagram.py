"""Aliasing diagrams: names -> Python objects -> storages, built on :mod:`helpers.storage`.

:func:`aliasing_graph` is pure data: which names are one Python object, which tensor objects a
module, state_dict or optimizer holds, and which storage (from
:func:`helpers.storage.group_by_storage`) each tensor lives in, with the elements it covers.
:func:`describe_aliasing` says the same in plain English, in the words of
:func:`~helpers.storage.shares_storage` (same storage) and :func:`~helpers.storage.overlaps`
(some element in common, so a write through one shows through the other).
:func:`draw_aliasing` draws it; the figure's text form is that description, and
``fig.caption`` is one line a notebook can print under the picture.

>>> import torch
>>> w = torch.zeros(8)
>>> print(describe_aliasing({"w": w, "v": w[2:6], "c": w.clone()}))
v shares storage with w, and their elements overlap (v covers elements 2:6 of 8).
c shares no object or storage with the other names.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import matplotlib.colors
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Rectangle
from torch import nn

from helpers.reproducible import PALETTE
from helpers.storage import StorageGroup, StorageMember, group_by_storage, named_tensors, overlaps
from helpers.validate import require_str, require_type

__all__ = [
    "AliasingFigure",
    "AliasingGraph",
    "Container",
    "Name",
    "Ref",
    "Slot",
    "TensorObject",
    "aliasing_graph",
    "caption",
    "describe_aliasing",
    "draw_aliasing",
    "min_font_pt",
    "storage_colours",
]

ContainerKind = Literal["module", "state_dict", "optimizer"]


@dataclass(frozen=True)
class Ref:
    """Which object a name or path reaches: ``graph.containers[index]`` or
    ``graph.tensors[index]``."""

    kind: Literal["container", "tensor"]
    index: int


@dataclass(frozen=True)
class Name:
    """A name the caller passed, and the object it refers to."""

    name: str
    target: Ref


@dataclass(frozen=True)
class Slot:
    """One entry of a container: ``key`` is the end of the path (``.fc.weight``,
    ``["fc.weight"]``, ``.state[0]["exp_avg"]``), so name + key is the tensor's full name."""

    key: str
    tensor: int


@dataclass(frozen=True)
class Container:
    """A module, state_dict (any mapping) or optimizer, with the names that refer to it."""

    kind: ContainerKind
    type_name: str
    names: tuple[str, ...]
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class TensorObject:
    """One tensor object (distinct by ``is``), every path that reaches it, and where it lives:
    ``graph.storages[storage]``, at the bytes ``member.start:member.stop``."""

    paths: tuple[str, ...]
    storage: int
    member: StorageMember

    @property
    def label(self) -> str:
        """``Parameter 4×10``, ``Tensor 8``, ``Tensor scalar``."""
        t = self.member.tensor
        kind = "Parameter" if isinstance(t, nn.Parameter) else "Tensor"
        shape = "×".join(map(str, t.shape)) if t.dim() else "scalar"
        return f"{kind} {shape}"

    @property
    def is_parameter(self) -> bool:
        """True for an ``nn.Parameter``."""
        return isinstance(self.member.tensor, nn.Parameter)


@dataclass(frozen=True)
class AliasingGraph:
    """Names, the containers and tensor objects they reach, and the storages those live in.

    ``paths`` maps every name and tensor path (``modelA.layer1.weight``, ``sd["fc.weight"]``)
    to the object it reaches, including paths through a second name for the same container.
    """

    names: tuple[Name, ...]
    containers: tuple[Container, ...]
    tensors: tuple[TensorObject, ...]
    storages: tuple[StorageGroup, ...]
    paths: Mapping[str, Ref] = field(compare=False, repr=False)

    def ref(self, path: str) -> Ref:
        """The object a name or tensor path reaches."""
        try:
            return self.paths[path]
        except KeyError:
            known = ", ".join(self.paths)
            raise KeyError(f"unknown path {path!r}; known: {known}") from None

    def tensor(self, path: str) -> TensorObject:
        """The tensor object a path reaches."""
        ref = self.ref(path)
        if ref.kind != "tensor":
            kind = self.containers[ref.index].kind
            raise ValueError(f"{path!r} is not a tensor (it is a {kind})")
        return self.tensors[ref.index]

    def same_object(self, a: str, b: str) -> bool:
        """True if the two paths reach the same Python object (``a is b``)."""
        return self.ref(a) == self.ref(b)

    def same_storage(self, a: str, b: str) -> bool:
        """True if the two tensors live in the same storage (:func:`shares_storage`)."""
        return self.tensor(a).storage == self.tensor(b).storage

    def overlaps(self, a: str, b: str) -> bool:
        """True if some element of one is an element of the other (:func:`overlaps`)."""
        return overlaps(self.tensor(a).member.tensor, self.tensor(b).member.tensor)

    def elements(self, path: str) -> tuple[int, int, int]:
        """(first element, one past the last, elements in its storage), in the tensor's dtype."""
        obj = self.tensor(path)
        item = obj.member.itemsize
        total = self.storages[obj.storage].nbytes // item
        return obj.member.start // item, obj.member.stop // item, total


# ---------------------------------------------------------------- the pure part


def _kind(value: object, name: str) -> Literal["tensor", "module", "optimizer", "state_dict"]:
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


@dataclass
class _ContainerDraft:
    """A container while the graph is being built (frozen into :class:`Container` at the end)."""

    kind: ContainerKind
    type_name: str
    names: list[str] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)


def aliasing_graph(named: Mapping[str, object]) -> AliasingGraph:
    """Work out names -> objects -> storages for a mapping of names to things.

    Values may be an ``nn.Module``, a ``Tensor``, a state_dict-like mapping of tensors, or a
    ``torch.optim.Optimizer``. Tensor paths are :func:`helpers.storage.named_tensors`' names;
    storages are :func:`helpers.storage.group_by_storage`'s groups. Nothing is drawn.

    >>> import copy, torch
    >>> a = torch.nn.Linear(2, 1)
    >>> g = aliasing_graph({"a": a, "b": a, "c": copy.deepcopy(a), "sd": a.state_dict()})
    >>> g.same_object("a", "b"), g.same_object("a", "c")
    (True, False)
    >>> g.same_storage('sd["weight"]', "a.weight"), g.same_storage("c.weight", "a.weight")
    (True, False)
    """
    if not isinstance(named, Mapping):
        raise TypeError(
            f"named must be a mapping of names to objects (a dict), got {type(named).__name__}"
        )
    if not named:
        raise ValueError("named is empty; pass a dict like {'modelA': modelA, 'modelB': modelB}")
    kinds = {require_str(key, "each name"): _kind(value, key) for key, value in named.items()}

    storages = tuple(group_by_storage(dict(named)))
    where = {m.name: (s, m) for s, group in enumerate(storages) for m in group.members}

    names: list[Name] = []
    drafts: list[_ContainerDraft] = []
    tensor_paths: list[list[str]] = []
    tensor_where: list[tuple[int, StorageMember]] = []
    seen: dict[int, Ref] = {}  # id(object) -> its Ref; `named` keeps every object alive
    paths: dict[str, Ref] = {}

    def tensor_ref(t: torch.Tensor, path: str, first_sighting: bool) -> Ref:
        ref = seen.get(id(t))
        if ref is None:
            ref = seen[id(t)] = Ref("tensor", len(tensor_paths))
            tensor_paths.append([])
            tensor_where.append(where[path])
        if first_sighting:
            tensor_paths[ref.index].append(path)
        paths[path] = ref
        return ref

    for name, value in named.items():
        kind = kinds[name]
        if kind == "tensor":
            assert isinstance(value, torch.Tensor)
            names.append(Name(name, tensor_ref(value, name, first_sighting=True)))
            continue
        ref = seen.get(id(value))
        first_sighting = ref is None
        if ref is None:
            ref = seen[id(value)] = Ref("container", len(drafts))
            drafts.append(_ContainerDraft(kind, type(value).__name__))
        draft = drafts[ref.index]
        draft.names.append(name)
        paths[name] = ref
        names.append(Name(name, ref))
        for path, t in named_tensors(value, prefix=name).items():
            t_ref = tensor_ref(t, path, first_sighting)
            if first_sighting:
                draft.slots.append(Slot(path[len(name):], t_ref.index))

    return AliasingGraph(
        names=tuple(names),
        containers=tuple(
            Container(d.kind, d.type_name, tuple(d.names), tuple(d.slots)) for d in drafts
        ),
        tensors=tuple(
            TensorObject(tuple(p), s, m) for p, (s, m) in zip(tensor_paths, tensor_where)
        ),
        storages=storages,
        paths=paths,
    )


def _graph(named: Mapping[str, object] | AliasingGraph) -> AliasingGraph:
    return named if isinstance(named, AliasingGraph) else aliasing_graph(named)


# ---------------------------------------------------------------- plain English


@dataclass(frozen=True)
class _Coverage:
    """Which elements of its storage a tensor covers, counted in its own dtype."""

    first: int
    stop: int
    step: int  # 0 when the elements are not evenly spaced
    total: int
    whole: bool

    @property
    def slice_text(self) -> str:
        """``2:6``, ``1:8:2``, or ``2:6 strided`` (uneven spacing); empty for the whole."""
        if self.whole:
            return ""
        if self.step == 1:
            return f"{self.first}:{self.stop}"
        if self.step:
            return f"{self.first}:{self.stop}:{self.step}"
        return f"{self.first}:{self.stop} strided"


def _coverage(obj: TensorObject, group: StorageGroup) -> _Coverage:
    m = obj.member
    item = m.itemsize
    total = group.nbytes // item
    if m.dense:
        step = 1
    else:
        offsets = m.element_offsets()
        gaps = {b - a for a, b in itertools.pairwise(offsets)}
        step = gaps.pop() // item if len(gaps) == 1 else 0
    whole = m.dense and m.start == 0 and m.stop == group.nbytes
    return _Coverage(m.start // item, m.stop // item, step, total, whole)


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _covers(path: str, cov: _Coverage) -> str:
    if cov.step == 0:
        return f"{path} covers a strided part of elements {cov.first}:{cov.stop} of {cov.total}"
    return f"{path} covers elements {cov.slice_text} of {cov.total}"


def _sharing_sentence(g: AliasingGraph, other: TensorObject, first: TensorObject) -> str:
    group = g.storages[first.storage]
    a, b = other.paths[0], first.paths[0]
    sentence = f"{a} shares storage with {b}"
    if overlaps(other.member.tensor, first.member.tensor):
        sentence += ", and their elements overlap"
    else:
        sentence += ", but none of their elements overlap"
    parts = [
        _covers(path, cov)
        for path, cov in ((a, _coverage(other, group)), (b, _coverage(first, group)))
        if not cov.whole
    ]
    return sentence + (f" ({'; '.join(parts)})" if parts else "") + "."


def describe_aliasing(named: Mapping[str, object] | AliasingGraph) -> str:
    """A few plain sentences: the same facts as the diagram (its text form and alt text).

    "shares storage" means what :func:`~helpers.storage.shares_storage` answers (the same block
    of memory); "their elements overlap" what :func:`~helpers.storage.overlaps` answers (a write
    through one shows through the other).

    >>> import torch
    >>> m = torch.nn.Linear(2, 1)
    >>> print(describe_aliasing({"modelA": m, "modelB": m, "sd": m.state_dict()}))
    modelA and modelB are the same object (Linear).
    sd["weight"] shares storage with modelA.weight, and their elements overlap.
    sd["bias"] shares storage with modelA.bias, and their elements overlap.
    >>> x = torch.arange(8.0)
    >>> print(describe_aliasing({"even": x[::2], "odd": x[1::2]}))  # doctest: +NORMALIZE_WHITESPACE
    odd shares storage with even, but none of their elements overlap
    (odd covers elements 1:8:2 of 8; even covers elements 0:7:2 of 8).
    """
    g = _graph(named)
    lines: list[str] = []
    shared_containers: set[int] = set()
    shared_tensors: set[int] = set()
    for i, c in enumerate(g.containers):
        if len(c.names) > 1:
            lines.append(f"{_join(c.names)} are the same object ({c.type_name}).")
            shared_containers.add(i)
    for i, t in enumerate(g.tensors):
        if len(t.paths) > 1:
            lines.append(f"{_join(t.paths)} are the same tensor object.")
            shared_tensors.add(i)
    for s in range(len(g.storages)):
        here = [i for i, t in enumerate(g.tensors) if t.storage == s]
        shared_tensors.update(here if len(here) > 1 else [])
        for i in here[1:]:
            lines.append(_sharing_sentence(g, g.tensors[i], g.tensors[here[0]]))

    def shares_something(n: Name) -> bool:
        if n.target.kind == "tensor":
            return n.target.index in shared_tensors
        c = g.containers[n.target.index]
        return n.target.index in shared_containers or any(
            slot.tensor in shared_tensors for slot in c.slots
        )

    everyone = [n.name for n in g.names]
    alone = [n.name for n in g.names if not shares_something(n)]
    if len(everyone) > 1 and len(alone) == len(everyone):
        lines.append(f"{_join(everyone)} share no object and no storage.")
    elif len(everyone) > 1:
        lines.extend(f"{n} shares no object or storage with the other names." for n in alone)
    return "\n".join(lines) if lines else "Nothing is shared."


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def caption(named: Mapping[str, object] | AliasingGraph) -> str:
    """One line to print under a diagram: what its columns hold and how to read its colours.

    >>> import torch
    >>> m = torch.nn.Linear(2, 1)
    >>> print(caption({"modelA": m, "modelB": m}))  # doctest: +NORMALIZE_WHITESPACE
    2 names → 1 module holding 2 tensor objects → 2 storages. One colour per storage;
    the coloured part of a bar is the elements a tensor covers.
    """
    g = _graph(named)
    kinds: dict[str, int] = {}
    for c in g.containers:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    held = [_count(n, kind) for kind, n in kinds.items()]
    tensors = _count(len(g.tensors), "tensor object")
    objects = f"{_join(held)} holding {tensors}" if held else tensors
    return (
        f"{_count(len(g.names), 'name')} → {objects} → {_count(len(g.storages), 'storage')}. "
        "One colour per storage; the coloured part of a bar is the elements a tensor covers."
    )


# ---------------------------------------------------------------- drawing: sizes from the screen

SCREEN_WIDTH_PX = 840  # JupyterLab's output area in a common window; wider images shrink to fit
MIN_TEXT_PX = 10  # the smallest text a learner should have to read there
DPI = 100  # pixels per inch of the figure (the course's figure.dpi)
FIG_WIDTH_IN = 10.0  # 1000 px: shown at 84 % in JupyterLab, full size on the site
PT_PER_IN = 72  # typographic points per inch


def min_font_pt(width_in: float = FIG_WIDTH_IN, dpi: float = DPI) -> float:
    """Smallest font size (points) still ``MIN_TEXT_PX`` tall once a figure ``width_in`` wide is
    shown at most ``SCREEN_WIDTH_PX`` wide (images are shrunk to fit, never enlarged).

    >>> round(min_font_pt(), 2)
    8.57
    """
    shrink = min(1.0, SCREEN_WIDTH_PX / (width_in * dpi))
    return MIN_TEXT_PX * PT_PER_IN / (dpi * shrink)


SMALL_PT = 9.5  # legend and slice tags: 11 px on screen, above min_font_pt()
BODY_PT = 10.5  # every label
TITLE_PT = 12.5
MONO_EM = 0.6  # advance of one DejaVu Sans Mono character, in font sizes
SANS_EM = 0.62  # a generous average advance of a DejaVu Sans character (bold included)
LINE_IN = 2 * BODY_PT / PT_PER_IN  # one row: a line of text with half a line of room around it
GAP_IN = LINE_IN / 3  # between two stacked boxes
PAD_IN = LINE_IN / 4  # inside a box, around its rows and text
LANE_IN = 0.8 * LINE_IN  # one bar of a storage: a little lower than a row, so bars read as one box
MARGIN_IN = 0.1  # around the figure
ARROW_RUN_IN = 0.45  # horizontal room for arrows between two columns
NAME_COL_IN = 1.25  # 12 monospace characters
CONTAINER_COL_IN = 2.75  # a slot key of 28 monospace characters: .param_groups[0]["params"][0]
TENSOR_COL_IN = 1.85  # "Parameter 10×10" and its storage label
TAG_CHARS = 9  # room right of each bar for a slice tag such as "[10:20:2]"
MIN_CELL_PX = 6  # element borders are drawn when each element is at least this wide on screen
MAX_ORDERED_ITEMS = 5  # up to this many top-level objects, every order is tried (5! = 120)
BAR_EDGE = "#666666"  # outlines of slots and bars: visible but quieter than the boxes
BOX_FILL = "#F4F4F4"  # containers: a light grey that holds white slots
TINT, SHADE = 0.55, 0.35  # how far extra colours move towards white, then towards black
LINE_STYLES: Mapping[ContainerKind, str] = {"module": "-", "state_dict": "--", "optimizer": "-."}
LEGEND = (
    (
        "Read left to right: a name refers to an object; a container holds tensor objects; "
        "a tensor lives in a storage."
    ),
    (
        "Solid tensor box: Parameter; dashed: plain Tensor.  One colour per storage; the coloured "
        "part of a bar is the elements that tensor covers."
    ),
)


def _shrink() -> float:
    return min(1.0, SCREEN_WIDTH_PX / (FIG_WIDTH_IN * DPI))


def _mix(colour: str, towards: str, amount: float) -> str:
    (r, g, b), (r2, g2, b2) = matplotlib.colors.to_rgb(colour), matplotlib.colors.to_rgb(towards)
    return matplotlib.colors.to_hex(
        (r + (r2 - r) * amount, g + (g2 - g) * amount, b + (b2 - b) * amount)
    )


def storage_colours(n: int) -> list[str]:
    """``n`` colours, all different for up to 21 storages: the course's colour-blind-safe palette
    (black left for text), then lighter and darker versions of it. Beyond 21 they repeat.

    >>> storage_colours(2)
    ['#0072B2', '#E69F00']
    >>> len(set(storage_colours(21)))
    21
    """
    base = [c for c in PALETTE if c != "#000000"]
    pool = base + [_mix(c, "white", TINT) for c in base] + [_mix(c, "black", SHADE) for c in base]
    return [pool[i % len(pool)] for i in range(n)]


@dataclass(frozen=True)
class _Span:
    """A column: from ``x0`` to ``x1`` inches."""

    x0: float
    x1: float


def _columns() -> tuple[_Span, _Span, _Span, _Span]:
    names = _Span(MARGIN_IN, MARGIN_IN + NAME_COL_IN)
    boxes = _Span(names.x1 + ARROW_RUN_IN, names.x1 + ARROW_RUN_IN + CONTAINER_COL_IN)
    tensors = _Span(boxes.x1 + ARROW_RUN_IN, boxes.x1 + ARROW_RUN_IN + TENSOR_COL_IN)
    storages = _Span(tensors.x1 + ARROW_RUN_IN, FIG_WIDTH_IN - MARGIN_IN)
    return names, boxes, tensors, storages


NAMES, CONTAINERS, TENSORS, STORAGES = _columns()


@dataclass(frozen=True)
class _Box:
    """A box from ``top`` down ``height`` inches (y grows downwards)."""

    top: float
    height: float

    @property
    def centre(self) -> float:
        return self.top + self.height / 2

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True)
class _Arrow:
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class _Lane:
    """One bar of a storage: the tensors drawn there cover the same elements."""

    storage: int
    box: _Box
    tensors: tuple[int, ...]


@dataclass
class _Layout:
    names: dict[int, _Box] = field(default_factory=dict)
    containers: dict[int, _Box] = field(default_factory=dict)
    slots: dict[tuple[int, int], float] = field(default_factory=dict)  # (container, slot) -> y
    tensors: dict[int, _Box] = field(default_factory=dict)
    storages: dict[int, _Box] = field(default_factory=dict)
    lanes: list[_Lane] = field(default_factory=list)
    arrows: list[_Arrow] = field(default_factory=list)
    bottom: float = 0.0

    def crossings(self) -> int:
        """How many pairs of arrows cross (touching at an end does not count)."""
        return sum(_cross(a, b) for a, b in itertools.combinations(self.arrows, 2))


def _cross(a: _Arrow, b: _Arrow) -> bool:
    def side(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    p1, p2, q1, q2 = (a.x0, a.y0), (a.x1, a.y1), (b.x0, b.y0), (b.x1, b.y1)
    d1, d2 = side(q1, q2, p1), side(q1, q2, p2)
    d3, d4 = side(p1, p2, q1), side(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def _spread(order: Sequence[int], wanted: Mapping[int, float], heights: Mapping[int, float],
            top: float) -> dict[int, _Box]:
    """Boxes in ``order``, each as near its wanted centre as it can be, stacked from ``top``
    down without overlapping."""
    boxes: dict[int, _Box] = {}
    cursor = top
    for key in order:
        box_top = max(wanted[key] - heights[key] / 2, cursor)
        boxes[key] = _Box(box_top, heights[key])
        cursor = box_top + heights[key] + GAP_IN
    return boxes


def _by_value(wanted: Mapping[int, float]) -> list[int]:
    return sorted(wanted, key=lambda k: (wanted[k], k))


def _region(m: StorageMember) -> tuple[int, ...]:
    """Tensors with equal regions cover exactly the same elements (one bar for them)."""
    dims = sorted((st, sz) for sz, st in zip(m.tensor.shape, m.tensor.stride()) if sz > 1 and st)
    return (m.start, m.stop, m.itemsize, int(m.dense), *itertools.chain.from_iterable(dims))


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items)


@dataclass(frozen=True)
class _Plan:
    """What to draw and in which order: top-level objects, then tensor objects top to bottom.
    ``shown`` are the tensor objects drawn; a container's other slots are summed up in a line."""

    order: tuple[Ref, ...]
    shown: frozenset[int]
    tensor_order: tuple[int, ...] = ()


def _shown_slots(g: AliasingGraph, c: int, shown: frozenset[int]) -> list[int]:
    return [k for k, slot in enumerate(g.containers[c].slots) if slot.tensor in shown]


def _layout(g: AliasingGraph, plan: _Plan, top: float) -> _Layout:
    lay = _Layout()
    pointed: dict[int, list[float]] = {}  # tensor -> heights of the arrows pointing at it
    y = top
    for ref in plan.order:
        mine = [i for i, n in enumerate(g.names) if n.target == ref]
        names_height = len(mine) * (LINE_IN + GAP_IN) - GAP_IN
        anchor = y + LINE_IN / 2
        if ref.kind == "container":
            slots = g.containers[ref.index].slots
            shown = _shown_slots(g, ref.index, plan.shown)
            rows = len(shown) + (len(shown) < len(slots))  # a last row sums up hidden slots
            height = LINE_IN * (1 + max(1, rows)) + PAD_IN  # a header row, then the slots
            lay.containers[ref.index] = _Box(y, height)
            for row, k in enumerate(shown):
                slot_y = y + LINE_IN * (1.5 + row)
                lay.slots[(ref.index, k)] = slot_y
                pointed.setdefault(slots[k].tensor, []).append(slot_y)
        else:
            height = LINE_IN
            pointed.setdefault(ref.index, []).append(anchor)
        for k, i in enumerate(mine):
            lay.names[i] = _Box(y + k * (LINE_IN + GAP_IN), LINE_IN)
        y += max(height, names_height) + GAP_IN
    wanted = {t: _mean(ys) for t, ys in pointed.items()}
    tensor_order = list(plan.tensor_order) or _by_value(wanted)
    lay.tensors = _spread(tensor_order, wanted, {t: LINE_IN for t in wanted}, top)
    lanes: dict[int, list[tuple[int, ...]]] = {}  # storage -> tensors of each bar
    for t in tensor_order:
        bars = lanes.setdefault(g.tensors[t].storage, [])
        for k, bar in enumerate(bars):
            if _region(g.tensors[bar[0]].member) == _region(g.tensors[t].member):
                bars[k] = (*bar, t)
                break
        else:
            bars.append((t,))
    for bars in lanes.values():
        bars.sort(key=lambda bar: _mean(lay.tensors[t].centre for t in bar))
    # a storage's bars (below its header row) sit level with the tensors that point at them
    storage_wanted = {
        s: _mean(lay.tensors[t].centre for bar in bars for t in bar) - (LINE_IN - PAD_IN) / 2
        for s, bars in lanes.items()
    }
    lay.storages = _spread(
        _by_value(storage_wanted),
        storage_wanted,
        {s: LINE_IN + len(bars) * LANE_IN + PAD_IN for s, bars in lanes.items()},
        top,
    )
    lane_of: dict[int, _Lane] = {}
    for s, bars in lanes.items():
        for k, bar in enumerate(bars):
            lane = _Lane(s, _Box(lay.storages[s].top + LINE_IN + k * LANE_IN, LANE_IN), bar)
            lay.lanes.append(lane)
            lane_of.update({t: lane for t in bar})
    for i, n in enumerate(g.names):
        if n.target.kind == "container":
            end = (CONTAINERS.x0, lay.containers[n.target.index].top + LINE_IN / 2)
        else:
            end = (TENSORS.x0, lay.tensors[n.target.index].centre)
        lay.arrows.append(_Arrow(NAMES.x1, lay.names[i].centre, *end))
    for (c, k), slot_y in lay.slots.items():
        tensor = lay.tensors[g.containers[c].slots[k].tensor]
        lay.arrows.append(_Arrow(CONTAINERS.x1 - PAD_IN, slot_y, TENSORS.x0, tensor.centre))
    for t, box in lay.tensors.items():
        lane_y = lane_of[t].box.centre
        lay.arrows.append(_Arrow(TENSORS.x1, box.centre, STORAGES.x0 + PAD_IN, lane_y))
    boxes = [*lay.names.values(), *lay.containers.values(), *lay.tensors.values(),
             *lay.storages.values()]
    lay.bottom = max(b.bottom for b in boxes)
    return lay


def _best_layout(g: AliasingGraph, shown: frozenset[int], top: float) -> _Layout:
    """A layout whose arrows cross as little as this search can make them.

    Every order of the top-level objects is tried (up to ``MAX_ORDERED_ITEMS``; the given
    order wins a tie), with tensors sorted by the mean height of the arrows into them; then
    swapping neighbouring tensors is tried while it removes crossings.
    """
    items = list(dict.fromkeys(n.target for n in g.names))
    orders = itertools.permutations(items) if len(items) <= MAX_ORDERED_ITEMS else [items]
    best = _layout(g, _Plan(tuple(items), shown), top)
    best_plan = _Plan(tuple(items), shown)
    for order in orders:
        if best.crossings() == 0:
            break
        lay = _layout(g, _Plan(tuple(order), shown), top)
        if lay.crossings() < best.crossings():
            best, best_plan = lay, _Plan(tuple(order), shown)
    tensor_order = sorted(best.tensors, key=lambda t: (best.tensors[t].top, t))
    improved = True
    while improved and best.crossings():
        improved = False
        for k in range(len(tensor_order) - 1):
            trial = [*tensor_order]
            trial[k], trial[k + 1] = trial[k + 1], trial[k]
            lay = _layout(g, _Plan(best_plan.order, shown, tuple(trial)), top)
            if lay.crossings() < best.crossings():
                best, tensor_order, improved = lay, trial, True
    return best


def _fit(text: str, width_in: float, size_pt: float, em: float) -> str:
    """``text`` cut with an ellipsis to what fits in ``width_in`` at ``size_pt``."""
    room = int(width_in * PT_PER_IN / (size_pt * em))
    return text if len(text) <= room else text[: max(room - 1, 1)] + "…"


class AliasingFigure(Figure):
    """A matplotlib Figure whose text form is the diagram's plain-English description.

    Notebooks and nbval see that text as the figure's ``text/plain`` output, so the facts a
    diagram shows are regression-tested although images are not compared; the website uses it
    as the image's alt text. ``caption`` is one line to print under the picture in JupyterLab;
    ``colours`` maps each storage label (``S1``) to its colour; ``crossings`` counts the arrows
    that cross in the drawn order.
    """

    alt_text: str = ""
    caption: str = ""
    colours: Mapping[str, str] = {}
    crossings: int = 0

    def __repr__(self) -> str:
        return f"Aliasing diagram. {self.alt_text}" if self.alt_text else super().__repr__()


def _rounded(ax: Axes, span: _Span, box: _Box, **style: object) -> None:
    ax.add_patch(FancyBboxPatch(
        (span.x0, box.top), span.x1 - span.x0, box.height,
        boxstyle=f"round,pad=0,rounding_size={PAD_IN}", **style,  # type: ignore[arg-type]
    ))


def _arrow(ax: Axes, a: _Arrow, colour: str = "black") -> None:
    ax.annotate(
        "", xy=(a.x1, a.y1), xytext=(a.x0, a.y0), zorder=5,
        arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.4,
                    "mutation_scale": BODY_PT * 1.4, "shrinkA": 0, "shrinkB": 1},
    )


def _draw_bar(ax: Axes, g: AliasingGraph, lane: _Lane, colour: str) -> None:
    group = g.storages[lane.storage]
    obj = g.tensors[lane.tensors[0]]
    tag_in = TAG_CHARS * MONO_EM * SMALL_PT / PT_PER_IN
    bar = _Span(STORAGES.x0 + PAD_IN, STORAGES.x1 - PAD_IN - tag_in)
    top, height = lane.box.top + PAD_IN / 2, lane.box.height - PAD_IN
    width = bar.x1 - bar.x0
    ax.add_patch(Rectangle((bar.x0, top), width, height, fc="white", ec=BAR_EDGE, lw=0.8, zorder=3))
    item = obj.member.itemsize
    bar_px = width * DPI * _shrink()
    runs: list[tuple[int, int]] = []
    if obj.member.dense or obj.member.tensor.numel() > bar_px:
        runs = [(obj.member.start, obj.member.stop)]
    else:
        for offset in obj.member.element_offsets():
            if runs and runs[-1][1] == offset:
                runs[-1] = (runs[-1][0], offset + item)
            else:
                runs.append((offset, offset + item))
    scale = width / group.nbytes if group.nbytes else 0.0
    for lo, hi in runs:
        ax.add_patch(Rectangle((bar.x0 + lo * scale, top), max((hi - lo) * scale, 0.02), height,
                               fc=colour, ec="black", lw=0.6, zorder=4))
    cells = group.nbytes // item
    if cells and width / cells * DPI * _shrink() >= MIN_CELL_PX:
        for k in range(1, cells):
            x = bar.x0 + k * item * scale
            ax.plot([x, x], [top, top + height], color=BAR_EDGE, lw=0.5, zorder=5)
    cov = _coverage(obj, group)
    if not cov.whole:
        tag = "strided" if cov.step == 0 else f"[{cov.slice_text}]"
        ax.text(bar.x1 + PAD_IN / 2, lane.box.centre, tag, va="center", fontsize=SMALL_PT,
                family="monospace", zorder=6)


def _shared_tensors(g: AliasingGraph) -> frozenset[int]:
    """Tensor objects reached by two paths, or living in a storage with another one."""
    per_storage: dict[int, int] = {}
    for t in g.tensors:
        per_storage[t.storage] = per_storage.get(t.storage, 0) + 1
    return frozenset(
        i for i, t in enumerate(g.tensors) if len(t.paths) > 1 or per_storage[t.storage] > 1
    )


def draw_aliasing(
    named: Mapping[str, object], *, title: str | None = None, shared_only: bool = False
) -> AliasingFigure:
    """Draw names | Python objects | storages and return the (closed) matplotlib Figure.

    The figure is closed in pyplot, so a notebook cell ending in ``draw_aliasing({...})`` shows
    it exactly once. It is ``FIG_WIDTH_IN`` inches wide and no text is smaller than
    ``min_font_pt()``, so everything stays at least ``MIN_TEXT_PX`` tall in JupyterLab. Its
    plain-English description is ``fig.alt_text`` (also its text form); ``fig.caption`` is a
    line to print under it. With ``shared_only=True`` a container's tensors that share nothing
    are left out (a line in its box counts them), so a figure shows only what a cell is about;
    the description still covers everything.

    >>> import torch
    >>> fig = draw_aliasing({"w": torch.zeros(3)})
    >>> fig.alt_text, fig.colours
    ('Nothing is shared.', {'S1': '#0072B2'})
    """
    import matplotlib.pyplot as plt

    if title is not None:
        require_type(title, str, "title", "a str or None")
    require_type(shared_only, bool, "shared_only", "True or False")
    g = aliasing_graph(named)
    shown = frozenset(range(len(g.tensors)))
    if shared_only:
        direct = {n.target.index for n in g.names if n.target.kind == "tensor"}
        shown = _shared_tensors(g) | direct
    head_in = (LINE_IN if title else 0.0) + LINE_IN  # title row, then the column headings
    lay = _best_layout(g, shown, MARGIN_IN + head_in)
    # storages are numbered and coloured top to bottom, as the reader meets them
    ranked = sorted(lay.storages, key=lambda s: lay.storages[s].top)
    label = {s: f"S{k + 1}" for k, s in enumerate(ranked)}
    colour = dict(zip(ranked, storage_colours(len(ranked))))
    legend_top = lay.bottom + LINE_IN / 2
    height = legend_top + len(LEGEND) * LINE_IN * SMALL_PT / BODY_PT + MARGIN_IN
    fig = plt.figure(figsize=(FIG_WIDTH_IN, height), dpi=DPI, facecolor="white",
                     FigureClass=AliasingFigure)
    plt.close(fig)
    assert isinstance(fig, AliasingFigure)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))  # one data unit is one inch, y grows downwards
    ax.set_xlim(0, FIG_WIDTH_IN)
    ax.set_ylim(height, 0)
    ax.axis("off")
    y = MARGIN_IN
    if title:
        ax.text(FIG_WIDTH_IN / 2, y + LINE_IN / 2, _fit(title, FIG_WIDTH_IN, TITLE_PT, SANS_EM),
                ha="center", va="center", fontsize=TITLE_PT, fontweight="bold")
        y += LINE_IN
    for span, head in ((NAMES, "names"), (_Span(CONTAINERS.x0, TENSORS.x1), "Python objects"),
                       (STORAGES, "storages (memory)")):
        ax.text((span.x0 + span.x1) / 2, y + LINE_IN / 2, head, ha="center", va="center",
                fontsize=BODY_PT, fontweight="bold", color="#333333")

    for c, box in lay.containers.items():
        container = g.containers[c]
        _rounded(ax, CONTAINERS, box, fc=BOX_FILL, ec="black", lw=1.8,
                 ls=LINE_STYLES[container.kind], zorder=2)
        head = _fit(f"{container.type_name} ({container.kind})",
                    CONTAINERS.x1 - CONTAINERS.x0 - 2 * PAD_IN, BODY_PT, SANS_EM)
        ax.text(CONTAINERS.x0 + PAD_IN, box.top + LINE_IN / 2, head, va="center",
                fontsize=BODY_PT, fontweight="bold")
        hidden = len(container.slots) - len(_shown_slots(g, c, shown))
        if not container.slots or hidden:
            note = f"(+{_count(hidden, 'tensor')} sharing nothing)" if hidden else "(no tensors)"
            ax.text(CONTAINERS.x0 + 2 * PAD_IN, box.bottom - PAD_IN - LINE_IN / 2, note,
                    va="center", fontsize=BODY_PT, style="italic")
        for k in _shown_slots(g, c, shown):
            slot, slot_y = container.slots[k], lay.slots[(c, k)]
            x0, x1 = CONTAINERS.x0 + PAD_IN, CONTAINERS.x1 - PAD_IN
            ax.add_patch(Rectangle((x0, slot_y - LINE_IN / 2 + PAD_IN / 4), x1 - x0,
                                   LINE_IN - PAD_IN / 2, fc="white", ec=BAR_EDGE, lw=0.8, zorder=3))
            ax.text(x0 + PAD_IN, slot_y, _fit(slot.key, x1 - x0 - 2 * PAD_IN, BODY_PT, MONO_EM),
                    va="center", fontsize=BODY_PT, family="monospace", zorder=4)
    for t, box in lay.tensors.items():
        obj = g.tensors[t]
        _rounded(ax, TENSORS, box, fc="white", ec="black", lw=1.6,
                 ls="-" if obj.is_parameter else "--", zorder=2)
        where = label[obj.storage]
        where_in = (len(where) + 1) * SANS_EM * BODY_PT / PT_PER_IN
        ax.text(TENSORS.x0 + PAD_IN, box.centre,
                _fit(obj.label, TENSORS.x1 - TENSORS.x0 - 2 * PAD_IN - where_in, BODY_PT, SANS_EM),
                va="center", fontsize=BODY_PT)
        ax.text(TENSORS.x1 - PAD_IN, box.centre, where, va="center", ha="right",
                fontsize=BODY_PT, fontweight="bold", zorder=4,
                bbox={"fc": colour[obj.storage], "ec": "none", "pad": 1.5, "alpha": 0.45})
    for s, box in lay.storages.items():
        group = g.storages[s]
        _rounded(ax, STORAGES, box, fc="white", ec=colour[s], lw=2.4, zorder=2)
        dtype = str(group.dtype).removeprefix("torch.")
        ax.text(STORAGES.x0 + PAD_IN, box.top + LINE_IN / 2, f"{label[s]}: {group.numel} × {dtype}",
                va="center", fontsize=BODY_PT, fontweight="bold")
    for lane in lay.lanes:
        _draw_bar(ax, g, lane, colour[lane.storage])
    for i, box in lay.names.items():
        _rounded(ax, NAMES, box, fc="white", ec="black", lw=1.2, zorder=2)
        ax.text((NAMES.x0 + NAMES.x1) / 2, box.centre,
                _fit(g.names[i].name, NAMES.x1 - NAMES.x0 - 2 * PAD_IN, BODY_PT, MONO_EM),
                ha="center", va="center", fontsize=BODY_PT, fontweight="bold", family="monospace")
    for a in lay.arrows:
        _arrow(ax, a)
    for k, line in enumerate(LEGEND):
        ax.text(FIG_WIDTH_IN / 2, legend_top + (k + 0.5) * LINE_IN * SMALL_PT / BODY_PT, line,
                ha="center", va="center", fontsize=SMALL_PT, color="#222222")

    fig.alt_text = describe_aliasing(g)
    left_out = len(g.tensors) - len(lay.tensors)
    fig.caption = caption(g) + (
        f" Left out: {_count(left_out, 'tensor object')} sharing nothing." if left_out else ""
    )
    fig.colours = {label[s]: colour[s] for s in ranked}
    fig.crossings = lay.crossings()
    return fig
