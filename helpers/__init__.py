"""Helpers for the course *Copy semantics in PyTorch*.

Notebooks use these; they never know about notebooks. Each module does one thing:

- ``reproducible``: one set-up call (``init_course``: seeds, one thread, print and figure defaults)
- ``checks``: loud checks (``check``, ``expect_error`` raise where a claim does not hold)
- ``validate``: one check per kind of argument, used at every public boundary
- ``models``, ``data``: the articles' models and seeded toy batches
- ``storage``: who shares memory with whom (same storage? overlapping elements?)
- ``diagram``: aliasing pictures of names, objects and storages
- ``quiz``: predict-then-run questions (HTML that hides answers until chosen; a live form)
- ``training``: one seeded training step, shown in chapter 05 and reused in chapter 07
- ``checkpoint``: crash-safe saves (``save_atomic``, ``atomic_write``) and ``saved_nbytes``
- ``audit``: ``audit_copies`` finds the course's copy bugs in your own model, optimizers,
  snapshots and EMA/target models
- ``snapshot``: a model's and optimizer's tensors in buffers allocated once, refreshed and
  restored in place
- ``copy_cost``: a copy's time against the memory-copy floor, and its page faults
- ``versions``: ``requires_torch("2.6", "what it uses")`` says which PyTorch a claim needs
- ``colab``: the Colab first cell (``first_cell``, ``bootstrap``); does nothing elsewhere
- ``processes``: what child processes run (multiprocessing and DataLoader targets, free ports,
  a real two-process gloo DDP run)

The names below are the core; import the others from their modules
(``from helpers.diagram import draw_aliasing``) so ``import helpers`` stays light.
"""
from helpers.data import article_batch, article_batch_as_written
from helpers.models import ArticleNet, LogisticRegression, seeded
from helpers.reproducible import init_course
from helpers.storage import (
    ModelComparison,
    StorageGroup,
    compare_models,
    group_by_storage,
    named_tensors,
    overlaps,
    shared_groups,
    shares_storage,
    storage_groups,
)

__all__ = [
    "ArticleNet",
    "LogisticRegression",
    "ModelComparison",
    "StorageGroup",
    "article_batch",
    "article_batch_as_written",
    "compare_models",
    "group_by_storage",
    "init_course",
    "named_tensors",
    "overlaps",
    "seeded",
    "shared_groups",
    "shares_storage",
    "storage_groups",
]
