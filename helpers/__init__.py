"""Helpers for the course *Copy semantics in PyTorch*.

Notebooks use these; they never know about notebooks. Each module does one thing:
``models`` (the articles' models), ``data`` (seeded toy data), ``reproducible`` (one set-up
call), ``storage`` (who shares memory with whom: same storage? overlapping elements?), ``diagram`` (aliasing pictures),
``quiz`` (predict-then-run questions), ``training`` (seeded training steps), ``checks``
(loud checks: ``check`` and ``expect_error`` raise where a claim does not hold), ``validate``
(one check per kind of argument, used at every public boundary).
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
