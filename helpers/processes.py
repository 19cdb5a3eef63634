"""Work for child processes: what a DataLoader worker, a ``torch.multiprocessing`` child or a
distributed replica runs, importable by name.

A child started with ``spawn`` (the default on macOS and Windows) is a fresh Python that
imports the function it must run by its module and name. A function defined in a notebook
lives in ``__main__``, which that child cannot import, so child targets live in a module like
this one. Nothing here prints: a child's output would land in whichever notebook cell happens
to be running.

>>> import torch
>>> t = torch.zeros(3)
>>> write_into(t, 2.0)  # what a child runs; called here, in this process
>>> t.tolist()
[2.0, 2.0, 2.0]
>>> ds = MarkingDataset(4)
>>> ds[2], ds.seen.tolist(), ds.served
(2, [0.0, 0.0, 1.0, 0.0], [2])
>>> port = free_port()
>>> 0 < port < 65536 and port_is_free(port)
True
"""

from __future__ import annotations

import datetime
import faulthandler
import multiprocessing
import os
import queue
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from helpers.data import article_batch
from helpers.models import ArticleNet, seeded
from helpers.training import train_step
from helpers.validate import require_int, require_str, require_tensor, require_type

__all__ = [
    "DDPRun",
    "MarkingDataset",
    "ReplicaReport",
    "free_port",
    "port_is_free",
    "receive_and_write",
    "run_ddp",
    "write_into",
]

_START_METHODS = ("fork", "spawn", "forkserver")


# --- ports ----------------------------------------------------------------------------------


def _require_host(host: object) -> str:
    return require_str(host, "host")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing uses on ``host`` right now: the system's pick for port 0.

    The port is released before it is returned, so another program could take it before you
    use it; pass it on at once (``run_ddp`` does).

    >>> isinstance(free_port(), int)
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_require_host(host), 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``host:port``: a new server could bind it now.

    Connections that closed a moment ago (``TIME_WAIT``) do not count: servers such as
    PyTorch's ``TCPStore`` bind with ``SO_REUSEADDR`` and reuse such a port at once.

    >>> with socket.socket() as server:
    ...     server.bind(("127.0.0.1", 0))
    ...     server.listen()
    ...     busy = server.getsockname()[1]
    ...     port_is_free(busy)
    False
    >>> port_is_free(70000)
    Traceback (most recent call last):
    ...
    ValueError: port must be an int from 1 to 65535, got 70000
    """
    require_int(port, "port")
    if not 1 <= port <= 65535:
        raise ValueError(f"port must be an int from 1 to 65535, got {port!r}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_require_host(host), port))
        except OSError:
            return False
        return True


# --- a child writes into a tensor -------------------------------------------------------------


def write_into(tensor: torch.Tensor, value: float) -> None:
    """Fill ``tensor`` with ``value`` in place: a target for a child process.

    >>> write_into([0.0], 1.0)
    Traceback (most recent call last):
    ...
    TypeError: tensor must be a torch.Tensor, got list
    """
    require_tensor(tensor, "tensor")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"value must be an int or float, got {type(value).__name__}")
    tensor.fill_(value)


def receive_and_write(inbox: Any, outbox: Any, value: float) -> None:
    """Child target: take a tensor from ``inbox``, fill it with ``value``, then put
    ``tensor.is_shared()`` on ``outbox`` (which also tells the parent that the write is done).

    ``inbox`` and ``outbox`` are queues of the child's multiprocessing context.
    """
    tensor = inbox.get()
    write_into(tensor, value)
    outbox.put(tensor.is_shared())


class MarkingDataset(torch.utils.data.Dataset[int]):
    """A dataset of the indices ``0 .. n-1`` that records each index it serves, twice: as a
    mark in a tensor, ``self.seen``, and in a Python list, ``self.served``.

    ``__getitem__(i)`` writes ``1.0`` into ``self.seen[i]``, appends ``i`` to ``self.served``
    and returns ``i``: a stand-in for a dataset that caches or counts inside the object. In a
    DataLoader worker both records land in the worker's copy of the dataset, whose tensor may
    or may not use the parent's memory, depending on how the dataset reached the worker.

    >>> MarkingDataset(0)
    Traceback (most recent call last):
    ...
    ValueError: n must be a positive int, got 0
    """

    def __init__(self, n: int) -> None:
        self.seen = torch.zeros(require_int(n, "n", positive=True))
        self.served: list[int] = []

    def __len__(self) -> int:
        return len(self.seen)

    def __getitem__(self, index: int) -> int:
        require_int(index, "index")
        if not 0 <= index < len(self.seen):
            raise IndexError(f"index must be in 0..{len(self.seen) - 1}, got {index}")
        self.seen[index] = 1.0
        self.served.append(index)
        return index


# --- DistributedDataParallel on gloo, for real ------------------------------------------------


@dataclass(frozen=True)
class ReplicaReport:
    """What one DDP replica saw: its parameters at four moments, and facts about its objects.

    ``built``: right after building with ``seed=rank``; ``wrapped``: right after
    ``DistributedDataParallel(model)``; ``trained``: after the training steps; ``nudged``:
    after rank 1 alone added ``1.0`` to its ``layer1.weight`` (under ``torch.no_grad()``,
    without telling DDP) and every rank took one more step (name -> tensor, without the
    ``module.`` prefix). ``local_grads`` are the gradients of the first batch computed by the
    plain model alone, ``synced_grads`` those that DDP's backward left.
    """

    rank: int
    built: dict[str, torch.Tensor]
    wrapped: dict[str, torch.Tensor]
    trained: dict[str, torch.Tensor]
    nudged: dict[str, torch.Tensor]
    local_grads: dict[str, torch.Tensor]
    synced_grads: dict[str, torch.Tensor]
    state_dict_keys: list[str]
    module_state_dict_keys: list[str]
    kept_parameter_objects: bool
    optimizer_holds_them: bool


@dataclass(frozen=True)
class DDPRun:
    """The replicas' reports (ordered by rank) and how the run was made.

    ``port`` is the 127.0.0.1 port the replicas met on; it varies from run to run, so a
    notebook should check it (``port_is_free(run.port)``), never print it.
    """

    replicas: list[ReplicaReport]
    start_method: str
    port: int


def _named(module: nn.Module, *, grads: bool = False) -> dict[str, torch.Tensor]:
    out = {}
    for name, p in module.named_parameters():
        t = p.grad if grads else p
        if t is None:
            raise RuntimeError(f"parameter {name} has no gradient")
        out[name] = t.detach().clone()
    return out


def _plain(tensors: dict[str, torch.Tensor]) -> dict[str, list[Any]]:
    """Tensors as nested lists: they travel by value (a pickled tensor would be shared memory
    owned by a child that is about to exit)."""
    return {k: v.tolist() for k, v in tensors.items()}


def _ddp_replica(
    rank: int, world_size: int, port: int, steps: int, timeout: float, log_dir: str, outbox: Any
) -> None:
    """Child target: one replica of a DDP run; its report or its error goes to ``outbox``.

    The process ends with ``os._exit`` once the report is in the pipe, without tearing the
    process group down: in PyTorch 2.13, destroying a gloo process group can deadlock (the
    group's destructor joins its worker thread while holding the GIL, and that thread may be
    waiting for the GIL to free a finished job; seen here about once in 50 runs).
    """
    log = open(Path(log_dir) / f"rank{rank}.log", "w", encoding="utf-8")  # noqa: SIM115
    os.dup2(log.fileno(), 1)  # C++ warnings (gloo, c10d) go here, not into a notebook cell
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    # if this replica is still running shortly before the parent gives up, record where
    faulthandler.dump_traceback_later(max(0.5, 0.9 * timeout), file=log)
    code = 1
    try:
        torch.set_num_threads(1)
        dist.init_process_group(
            "gloo",
            init_method=f"tcp://127.0.0.1:{port}",
            rank=rank,
            world_size=world_size,
            timeout=datetime.timedelta(seconds=timeout),
        )
        model = seeded(ArticleNet, seed=rank)  # each replica starts from other weights
        params = list(model.parameters())
        opt = torch.optim.SGD(model.parameters(), lr=0.5)  # built before wrapping
        built = _named(model)
        ddp = nn.parallel.DistributedDataParallel(model)
        wrapped = _named(model)
        now = list(ddp.module.parameters())
        kept = len(now) == len(params) and all(p is q for p, q in zip(now, params))
        held = opt.param_groups[0]["params"]
        holds = len(held) == len(params) and all(p is q for p, q in zip(held, params))

        x, y = article_batch(seed=100 + 10 * rank)  # every replica sees its own data
        with ddp.no_sync():  # this backward keeps each replica's own gradient
            nn.BCELoss()(ddp(x), y).backward()
        local = _named(model, grads=True)
        opt.zero_grad()
        train_step(ddp, opt, x, y)  # this backward averages the gradients of all replicas
        synced = _named(model, grads=True)
        for step in range(1, steps):
            train_step(ddp, opt, *article_batch(seed=100 + 10 * rank + step))
        trained = _named(model)
        if rank == 1:  # a change on one replica that DDP is not told about
            with torch.no_grad():
                model.layer1.weight.add_(1.0)
        train_step(ddp, opt, *article_batch(seed=100 + 10 * rank + steps))
        dist.barrier()  # no replica leaves while another still talks to it
        outbox.put(
            (
                "ok",
                rank,
                {
                    "built": _plain(built),
                    "wrapped": _plain(wrapped),
                    "trained": _plain(trained),
                    "nudged": _plain(_named(model)),
                    "local_grads": _plain(local),
                    "synced_grads": _plain(synced),
                    "state_dict_keys": list(ddp.state_dict()),
                    "module_state_dict_keys": list(ddp.module.state_dict()),
                    "kept_parameter_objects": kept,
                    "optimizer_holds_them": holds,
                },
            )
        )
        code = 0
    except BaseException:  # report any failure to the parent instead of dying silently
        outbox.put(("error", rank, traceback.format_exc()))
    finally:
        faulthandler.cancel_dump_traceback_later()
        outbox.close()
        outbox.join_thread()  # the report is in the pipe
        log.flush()
        os._exit(code)


def _as_tensors(lists: dict[str, list[Any]]) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(v) for k, v in lists.items()}


def _logs(log_dir: str) -> str:
    parts = []
    for path in sorted(Path(log_dir).glob("rank*.log")):
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            parts.append(f"--- {path.name} ---\n{text[-3000:]}")
    return "\n".join(parts)


def _collect(outbox: Any, procs: list[Any], deadline: float) -> dict[int, dict[str, Any]]:
    """Wait for one report per child until ``deadline``; raise on an error, a death, a timeout."""
    results: dict[int, dict[str, Any]] = {}
    while len(results) < len(procs):
        try:
            status, rank, payload = outbox.get(
                timeout=max(0.0, min(0.5, deadline - time.monotonic()))
            )
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(
                    f"a replica exited with code {dead[0]} before reporting"
                ) from None
            if time.monotonic() >= deadline:
                raise TimeoutError("the replicas did not finish in time") from None
            continue
        if status != "ok":
            raise RuntimeError(f"replica {rank} failed:\n{payload}")
        results[rank] = payload
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.exitcode != 0:
            raise RuntimeError(f"a replica reported but then ended with exit code {proc.exitcode}")
    return results


def _stop(procs: list[Any]) -> None:
    """Terminate, then kill, whatever is still running; reap every child."""
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
        proc.close()


def _check_run_arguments(
    world_size: object, steps: object, start_method: object, timeout: object
) -> None:
    if require_int(world_size, "world_size") < 2:
        raise ValueError(f"world_size must be at least 2 (replicas to compare), got {world_size}")
    require_int(steps, "steps", positive=True)
    require_type(start_method, str, "start_method", "a str")
    if start_method not in _START_METHODS:
        allowed = ", ".join(repr(m) for m in _START_METHODS)
        raise ValueError(f"start_method must be one of {allowed}, got {start_method!r}")
    if start_method not in multiprocessing.get_all_start_methods():
        raise ValueError(f"start_method {start_method!r} is not available on {sys.platform}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if not dist.is_available() or not dist.is_gloo_available():
        raise RuntimeError("this PyTorch build has no torch.distributed gloo backend")


def run_ddp(
    world_size: int = 2, steps: int = 3, *, start_method: str = "spawn", timeout: float = 60.0
) -> DDPRun:
    """Train ``DistributedDataParallel(ArticleNet)`` in ``world_size`` CPU processes on gloo.

    Replica ``r`` builds its model with ``seed=r`` and an SGD optimizer, wraps the model, and
    takes ``steps`` steps on its own batches (``article_batch(seed=100 + 10 * r + step)``).
    Then rank 1 alone adds ``1.0`` to its ``layer1.weight`` behind DDP's back, and every rank
    takes one more step (:attr:`ReplicaReport.nudged`).
    The replicas meet on ``127.0.0.1`` at a port found free just before (:func:`free_port`)
    and report back through a queue, as plain numbers: one :class:`ReplicaReport` each.

    Bounded and clean: the whole run must finish within ``timeout`` seconds (which also bounds
    every collective inside); otherwise, or if a replica fails, every child is terminated
    (then killed) and a ``RuntimeError`` says what happened, with the children's output. No
    child is left running when this returns or raises.

    ``start_method``: ``"spawn"`` works everywhere (each child starts a new Python and
    imports torch: seconds); ``"fork"`` (Linux, macOS) copies this process and starts in
    milliseconds.

    >>> run_ddp(world_size=1)
    Traceback (most recent call last):
    ...
    ValueError: world_size must be at least 2 (replicas to compare), got 1
    >>> run_ddp(start_method="thread")
    Traceback (most recent call last):
    ...
    ValueError: start_method must be one of 'fork', 'spawn', 'forkserver', got 'thread'
    """
    _check_run_arguments(world_size, steps, start_method, timeout)
    ctx: Any = multiprocessing.get_context(start_method)
    deadline = time.monotonic() + timeout
    procs: list[Any] = []
    with tempfile.TemporaryDirectory() as log_dir:
        outbox = ctx.Queue()
        port = free_port()
        try:
            for rank in range(world_size):
                args = (rank, world_size, port, steps, float(timeout), log_dir, outbox)
                procs.append(ctx.Process(target=_ddp_replica, args=args, daemon=True))
                procs[-1].start()
            results = _collect(outbox, procs, deadline)
        except (RuntimeError, TimeoutError) as err:
            logs = _logs(log_dir)
            message = f"DDP run ({start_method}, {timeout} s allowed) failed: {err}"
            raise RuntimeError(message + (f"\n{logs}" if logs else "")) from err
        finally:
            _stop(procs)
            outbox.close()
            outbox.join_thread()
    replicas = [
        ReplicaReport(
            rank=rank,
            built=_as_tensors(r["built"]),
            wrapped=_as_tensors(r["wrapped"]),
            trained=_as_tensors(r["trained"]),
            nudged=_as_tensors(r["nudged"]),
            local_grads=_as_tensors(r["local_grads"]),
            synced_grads=_as_tensors(r["synced_grads"]),
            state_dict_keys=r["state_dict_keys"],
            module_state_dict_keys=r["module_state_dict_keys"],
            kept_parameter_objects=r["kept_parameter_objects"],
            optimizer_holds_them=r["optimizer_holds_them"],
        )
        for rank, r in sorted(results.items())
    ]
    return DDPRun(replicas=replicas, start_method=start_method, port=port)
