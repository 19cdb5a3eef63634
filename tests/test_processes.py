"""Unit tests of helpers.processes: child targets, ports, and a real DDP run that cleans up."""

import multiprocessing
import queue
import socket

import pytest
import torch

from helpers.processes import (
    MarkingDataset,
    free_port,
    port_is_free,
    receive_and_write,
    run_ddp,
    write_into,
)

HAS_FORK = "fork" in multiprocessing.get_all_start_methods()
needs_fork = pytest.mark.skipif(not HAS_FORK, reason="the fork start method is not available here")


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_free_port_is_free_until_someone_listens():
    port = free_port()
    assert 1 <= port <= 65535 and port_is_free(port)
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert not port_is_free(port)
    assert port_is_free(port)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: port_is_free(0), ValueError, "from 1 to 65535"),
        (lambda: port_is_free("80"), TypeError, "port must be an int"),
        (lambda: port_is_free(True), TypeError, "port must be an int"),
        (lambda: free_port(host=""), ValueError, "host must be a non-empty str"),
        (lambda: write_into(torch.zeros(2), "1"), TypeError, "value must be an int or float"),
        (lambda: write_into(torch.zeros(2, device="meta"), 1.0), ValueError, "meta"),
        (lambda: MarkingDataset(2.5), TypeError, "n must be an int"),
        (lambda: MarkingDataset(3)[3], IndexError, "index must be in 0..2"),
        (lambda: run_ddp(steps=0), ValueError, "steps must be a positive int"),
        (lambda: run_ddp(world_size=True), TypeError, "world_size must be an int"),
        (lambda: run_ddp(timeout=0), ValueError, "timeout must be a positive number"),
        (lambda: run_ddp(start_method=None), TypeError, "start_method must be a str"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_marking_dataset_marks_what_it_serves():
    ds = MarkingDataset(5)
    assert len(ds) == 5 and [ds[i] for i in (4, 1)] == [4, 1]
    assert ds.seen.tolist() == [0.0, 1.0, 0.0, 0.0, 1.0] and ds.served == [4, 1]


def test_receive_and_write_reports_after_writing():
    inbox, outbox = queue.Queue(), queue.Queue()
    t = torch.zeros(3)
    inbox.put(t)
    receive_and_write(inbox, outbox, 2.0)
    assert outbox.get_nowait() is False  # never pickled: it stayed in ordinary memory
    assert torch.equal(t, torch.full((3,), 2.0))


@needs_fork
def test_fork_child_writes_reach_the_parent_only_through_shared_memory():
    ctx = multiprocessing.get_context("fork")
    plain, shared = torch.zeros(2), torch.zeros(2).share_memory_()
    for t in (plain, shared):
        child = ctx.Process(target=write_into, args=(t, 1.0))
        child.start()
        child.join(30)
        assert child.exitcode == 0
    assert plain.tolist() == [0.0, 0.0] and shared.tolist() == [1.0, 1.0]


@needs_fork
def test_a_tensor_sent_through_a_queue_moves_to_shared_memory():
    ctx = multiprocessing.get_context("fork")
    t = torch.zeros(2)
    inbox, outbox = ctx.SimpleQueue(), ctx.SimpleQueue()
    child = ctx.Process(target=receive_and_write, args=(inbox, outbox, 1.0))
    child.start()
    inbox.put(t)
    assert t.is_shared()
    assert outbox.get() is True
    child.join(30)
    assert child.exitcode == 0 and t.tolist() == [1.0, 1.0]


@needs_fork
def test_run_ddp_replicas_agree_and_nothing_is_left_behind():
    run = run_ddp(world_size=2, steps=2, start_method="fork", timeout=60)
    r0, r1 = run.replicas
    assert [r.rank for r in run.replicas] == [0, 1] and run.start_method == "fork"
    assert not _same(r0.built, r1.built), "seeds 0 and 1 give different initial weights"
    assert _same(r0.wrapped, r0.built) and _same(r1.wrapped, r0.built), (
        "rank 0's weights everywhere"
    )
    assert r1.kept_parameter_objects and r1.optimizer_holds_them
    assert not _same(r0.local_grads, r1.local_grads)
    assert _same(r0.synced_grads, r1.synced_grads)
    for name, grad in r0.synced_grads.items():
        assert torch.allclose(grad, (r0.local_grads[name] + r1.local_grads[name]) / 2)
    assert _same(r0.trained, r1.trained) and not _same(r0.trained, r0.wrapped)
    # rank 1's private change survives a DDP step: no weight is copied or averaged
    nudge = r1.nudged["layer1.weight"] - r0.nudged["layer1.weight"]
    assert torch.allclose(nudge, torch.ones_like(nudge))
    assert torch.equal(r0.nudged["layer1.bias"], r1.nudged["layer1.bias"])
    assert not torch.equal(r0.nudged["layer1.bias"], r0.trained["layer1.bias"])
    assert r0.state_dict_keys == ["module.layer1.weight", "module.layer1.bias"]
    assert r0.module_state_dict_keys == ["layer1.weight", "layer1.bias"]
    assert multiprocessing.active_children() == [], "no child process is left"
    assert port_is_free(run.port), "the rendezvous port is free again"


@needs_fork
def test_run_ddp_out_of_time_fails_loudly_and_cleans_up():
    with pytest.raises(RuntimeError, match=r"DDP run \(fork, 0.01 s allowed\) failed"):
        run_ddp(world_size=2, steps=1, start_method="fork", timeout=0.01)
    assert multiprocessing.active_children() == [], "every child was stopped and reaped"


@needs_fork
def test_fork_dataloader_workers_keep_every_record_to_themselves():
    ds = MarkingDataset(4)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=2, num_workers=2, multiprocessing_context="fork"
    )
    assert sorted(i for batch in loader for i in batch.tolist()) == [0, 1, 2, 3]
    assert ds.seen.tolist() == [0.0] * 4 and ds.served == []
