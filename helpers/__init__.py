"""Helpers for the course *Copy semantics in PyTorch*.

Notebooks use these; they never know about notebooks. Each module does one thing:
``models`` (the articles' models), ``data`` (seeded toy data), ``reproducible`` (one set-up
call), ``storage`` (who shares memory with whom), ``diagram`` (aliasing pictures),
``quiz`` (predict-then-run questions), ``training`` (seeded training steps), ``checks``
(loud checks: ``check`` and ``expect_error`` raise where a claim does not hold).
The names below are the core; import the others from their modules
(``from helpers.diagram import draw_aliasing``) so ``import helpers`` stays light.
"""
from helpers.data import article_batch, article_batch_as_written, toy_classification
from helpers.models import ArticleNet, LogisticRegression, seeded
from helpers.reproducible import init_course
from helpers.storage import (
    ModelComparison,
    compare_models,
    named_tensors,
    shared_groups,
    shares_storage,
    storage_groups,
)

__all__ = [
    "ArticleNet",
    "LogisticRegression",
    "ModelComparison",
    "article_batch",
    "article_batch_as_written",
    "compare_models",
    "init_course",
    "named_tensors",
    "seeded",
    "shared_groups",
    "shares_storage",
    "storage_groups",
    "toy_classification",
]
