"""Unit tests for helpers.copy_cost, and the shape of the committed sweep that chapter 08 plots."""

import json
from pathlib import Path

import pytest
import torch

from helpers.copy_cost import (
    Cost,
    compare_to_floor,
    copy_methods,
    faults_during,
    flat_floor,
    linear_stack,
    minor_faults,
    model_nbytes,
    per_call,
)

SWEEP = Path(__file__).resolve().parents[1] / "notebooks" / "data" / "08_cost_sweep.json"
MiB = 2**20


def test_minor_faults_only_grow():
    a = minor_faults()
    _ = torch.ones(4 * MiB)  # 16 MiB of fresh memory
    assert isinstance(a, int) and minor_faults() >= a


def test_fresh_memory_faults_and_existing_memory_does_not():
    src = torch.ones(16 * MiB)  # 64 MiB: above glibc's largest mmap threshold, always fresh pages
    dst = torch.zeros_like(src)
    fresh = faults_during(src.clone)
    existing = faults_during(lambda: dst.copy_(src))
    assert fresh >= src.nbytes / (2 * MiB)  # at least one per 2 MiB, even with huge pages
    assert existing <= 2


def test_linear_stack_and_model_nbytes():
    model = linear_stack(3, width=10)
    assert len(model) == 3 and all(m.in_features == m.out_features == 10 for m in model)
    assert model_nbytes(model) == 3 * (10 * 10 + 10) * 4
    assert model_nbytes(torch.nn.BatchNorm1d(2)) == (4 * 2 * 4) + 8  # buffers count, int64 too


def test_flat_floor_copies_without_faults():
    floor = flat_floor(4 * MiB)
    floor()
    assert faults_during(floor) == 0


def test_copy_methods_leave_the_model_alone_and_cover_the_chapter():
    model = linear_stack(2, width=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    methods = copy_methods(model)
    assert list(methods) == [
        "copy.deepcopy(model)",
        "copy.deepcopy(state_dict)",
        "clone each tensor",
        "torch.save + torch.load",
        "load_state_dict",
        "copy_ per tensor",
        "torch._foreach_copy_",
        "Snapshot.refresh()",
    ]
    for fn in methods.values():
        fn()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_compare_to_floor_interleaves_and_reports_medians():
    calls: list[str] = []
    src, dst = torch.ones(1000), torch.empty(1000)
    cases = {
        "a": lambda: calls.append("a") or dst.copy_(src),
        "b": lambda: calls.append("b") or src.clone(),
    }
    costs = compare_to_floor(cases, lambda: dst.copy_(src), rounds=2, min_run_time=0.0001)
    assert set(costs) == {"a", "b"} and all(isinstance(c, Cost) for c in costs.values())
    for c in costs.values():
        assert len(c.ratios) == 2 and c.ratio > 0 and c.seconds > 0 and c.floor_seconds > 0
        assert c.faults >= 0
    first_of_round = [calls[0], calls[calls.index("b" if calls[0] == "a" else "a")]]
    assert first_of_round == ["a", "b"]  # round 0 starts with a, round 1 with b (rotated)


def test_per_call_rows():
    src, dst = torch.ones(1024), torch.empty(1024)
    rows = per_call(lambda: dst.copy_(src), lambda: dst.copy_(src), nbytes=4096, calls=3)
    assert len(rows) == 3 and all(r > 0 and f == 0 for r, f in rows)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: faults_during(42), TypeError, "fn must be a callable"),
        (lambda: faults_during(print, repeat=0), ValueError, "repeat must be a positive int"),
        (lambda: linear_stack(0), ValueError, "layers must be a positive int, got 0"),
        (lambda: model_nbytes({}), TypeError, "model must be a torch.nn.Module, got dict"),
        (lambda: flat_floor(2), ValueError, "nbytes must be an int of at least 4"),
        (lambda: copy_methods("model"), TypeError, "model must be a torch.nn.Module, got str"),
        (lambda: compare_to_floor({}, print), ValueError, "cases must be a non-empty mapping"),
        (lambda: compare_to_floor({"a": print}, 1), TypeError, "floor must be a callable"),
        (lambda: compare_to_floor({"a": print}, print, rounds=0), ValueError, "rounds must be"),
        (lambda: per_call(print, print, nbytes=0), ValueError, "nbytes must be a positive int"),
        (lambda: per_call(print, 3, nbytes=4), TypeError, "fn and floor must be callables"),
    ],
)
def test_bad_input_is_refused_clearly(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_committed_sweep_has_what_the_chapter_plots():
    data = json.loads(SWEEP.read_text(encoding="utf-8"))
    assert data["date"] and data["machine"]["cpu"] and data["machine"]["cores"]
    assert data["machine"]["torch"].startswith(torch.__version__.split("+")[0])
    params = [s["params"] for s in data["sizes"]]
    assert params == sorted(params) and params[0] <= 1_100_000 and params[-1] >= 50_000_000
    names = list(copy_methods(torch.nn.Linear(2, 2)))
    for size in data["sizes"]:
        assert list(size["methods"]) == names and size["floor_seconds"] > 0
        for m in size["methods"].values():
            assert m["ratio"] > 0 and m["faults_per_page"] >= 0 and len(m["ratios"]) >= 3
        for rows in size["single_calls"].values():
            assert rows and all(len(r) == 2 for r in rows)
