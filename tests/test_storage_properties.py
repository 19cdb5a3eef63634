"""Property tests of storage inspection (Hypothesis), against a brute-force model of memory.

Random tensors of random dtypes and shapes are cut into random views: slices with offsets and
steps (empty ones too), transposes and permutes, selected rows, expanded (stride-0) dims,
overlapping windows (``unfold``), diagonals, conjugates and dtype reinterpretations. For every
pair, the brute force lists the bytes each element occupies, one element at a time:

- ``overlaps(a, b)`` holds exactly when those byte sets meet;
- ``shares_storage(a, b)`` exactly when both were cut from the same tensor (the same storage);
- ``group_by_storage`` groups exactly those, with each member's byte range and density right.
"""
import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.storage import group_by_storage, overlaps, shares_storage

# hundreds of random examples: scheduled early (tests/conftest.py)
pytestmark = pytest.mark.slow

DTYPES = [
    torch.bool,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
    torch.complex64,
]
MAX_ELEMENTS = 150  # keeps the element-by-element brute force fast

# The same examples on every run (derandomize) and no example database written to disk: the
# suite stays reproducible and leaves no files behind. Raise max_examples to search harder.
PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None)


@st.composite
def bases(draw: st.DrawFn) -> torch.Tensor:
    shape = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    dtype = draw(st.sampled_from(DTYPES))
    return torch.zeros(shape, dtype=dtype)


def _slice(draw: st.DrawFn, t: torch.Tensor) -> torch.Tensor:
    dim = draw(st.integers(0, t.dim() - 1))
    size = t.shape[dim]
    start = draw(st.integers(0, size))
    stop = draw(st.integers(start, size))
    step = draw(st.integers(1, 3))
    return t[(slice(None),) * dim + (slice(start, stop, step),)]


def _transpose(draw: st.DrawFn, t: torch.Tensor) -> torch.Tensor:
    return t.permute(draw(st.permutations(range(t.dim()))))


def _select(draw: st.DrawFn, t: torch.Tensor) -> torch.Tensor:
    dim = draw(st.integers(0, t.dim() - 1))
    if t.shape[dim] == 0:
        return t
    return t.select(dim, draw(st.integers(0, t.shape[dim] - 1)))


def _expand(draw: st.DrawFn, t: torch.Tensor) -> torch.Tensor:
    dim = draw(st.integers(0, t.dim()))
    sizes = list(t.shape)
    sizes.insert(dim, draw(st.integers(1, 3)))
    return t.unsqueeze(dim).expand(sizes)  # stride 0: repeats every element


def _unfold(draw: st.DrawFn, t: torch.Tensor) -> torch.Tensor:
    dim = draw(st.integers(0, t.dim() - 1))
    if t.shape[dim] == 0:
        return t
    window = draw(st.integers(1, t.shape[dim]))
    return t.unfold(dim, window, draw(st.integers(1, 2)))  # windows may overlap each other


def _diagonal(draw: st.DrawFn, t: torch.Tensor) -> torch.Tensor:
    return t.diagonal(draw(st.integers(-2, 2)), 0, 1) if t.dim() >= 2 else t


def _conj(draw: st.DrawFn, t: torch.Tensor) -> torch.Tensor:
    return t.conj() if t.is_complex() else t


def _reinterpret(draw: st.DrawFn, t: torch.Tensor) -> torch.Tensor:
    dtype = draw(st.sampled_from(DTYPES))
    try:
        return t.view(dtype)  # same bytes read as another dtype, where the shape allows it
    except RuntimeError:
        return t


# slicing is listed twice: steps and offsets make the pairs whose byte ranges cross although
# their elements do not, the case a range comparison gets wrong
OPS = [_slice, _slice, _transpose, _select, _expand, _unfold, _diagonal, _conj, _reinterpret]


@st.composite
def views_of(draw: st.DrawFn, base: torch.Tensor) -> torch.Tensor:
    t = base
    for _ in range(draw(st.integers(0, 5))):
        op = draw(st.sampled_from(OPS))
        if t.dim() == 0 and op not in (_expand, _conj):
            continue
        candidate = op(draw, t)
        if candidate.numel() <= MAX_ELEMENTS:
            t = candidate
    return t


def element_starts(t: torch.Tensor) -> set[int]:
    """The byte address where each element of ``t`` starts, one element at a time."""
    item = t.element_size()
    first = t.untyped_storage().data_ptr() + t.storage_offset() * item
    return {
        first + sum(i * s for i, s in zip(index, t.stride(), strict=True)) * item
        for index in itertools.product(*(range(n) for n in t.shape))
    }


def element_bytes(t: torch.Tensor) -> set[int]:
    """Every byte address an element of ``t`` occupies."""
    item = t.element_size()
    return {a + k for a in element_starts(t) for k in range(item)}


@st.composite
def pairs(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Two views, and whether they were cut from the same tensor."""
    base = draw(bases())
    same = draw(st.sampled_from([True, True, True, False]))  # mostly one storage: the hard case
    other = base if same else draw(bases())
    return draw(views_of(base)), draw(views_of(other)), same


@PROPERTY
@given(pairs())
def test_overlaps_exactly_when_element_bytes_meet(pair):
    a, b, _ = pair
    expected = bool(element_bytes(a) & element_bytes(b))
    assert overlaps(a, b) == expected
    assert overlaps(b, a) == expected


@PROPERTY
@given(st.integers(1, 40), st.lists(st.tuples(st.integers(0, 40), st.integers(1, 5)), min_size=2,
                                    max_size=2), st.sampled_from(DTYPES), st.integers(1, 4))
def test_interleaved_steps_overlap_exactly_when_they_meet(n, cuts, dtype, rows):
    """x[a::k] and x[b::m] of one tensor, also as columns of a matrix: byte ranges cross,
    elements meet only where the two progressions share a position."""
    x = torch.zeros(n * rows, dtype=dtype)
    (a, k), (b, m) = cuts
    u, v = x[a::k], x[b::m]
    assert overlaps(u, v) == bool(element_bytes(u) & element_bytes(v))
    grid = x.view(rows, n)
    cu, cv = grid[:, min(a, n - 1)], grid[:, min(b, n - 1)]
    assert overlaps(cu, cv) == (min(a, n - 1) == min(b, n - 1))
    assert overlaps(cu, cv) == bool(element_bytes(cu) & element_bytes(cv))


@PROPERTY
@given(pairs())
def test_shares_storage_exactly_when_the_storage_is_the_same(pair):
    a, b, same = pair
    assert shares_storage(a, b) == same
    assert shares_storage(b, a) == same
    if overlaps(a, b):
        assert shares_storage(a, b), "overlapping elements always share storage"


@PROPERTY
@given(st.data())
def test_groups_are_storages_and_members_know_their_bytes(data):
    bases_ = data.draw(st.lists(bases(), min_size=1, max_size=3))
    named = {}
    origin = {}
    for k in range(data.draw(st.integers(1, 5))):
        which = data.draw(st.integers(0, len(bases_) - 1))
        named[f"v{k}"] = data.draw(views_of(bases_[which]))
        origin[f"v{k}"] = which
    groups = group_by_storage(named)
    by_name = {m.name: (g, m) for g in groups for m in g.members}
    assert sorted(by_name) == sorted(named)
    for a, b in itertools.combinations(named, 2):
        assert (by_name[a][0] is by_name[b][0]) == (origin[a] == origin[b])
    for name, t in named.items():
        group, member = by_name[name]
        base = bases_[origin[name]]
        assert group.nbytes == base.untyped_storage().nbytes()
        assert member.tensor is t
        if t.numel() == 0:
            assert member.start == member.stop
            continue
        block = base.untyped_storage().data_ptr()
        used = element_bytes(t)
        assert member.start == min(used) - block
        assert member.stop == max(used) + 1 - block
        assert member.dense == (len(used) == member.stop - member.start)
        assert member.element_offsets() == tuple(sorted(a - block for a in element_starts(t)))
