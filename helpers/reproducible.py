"""One call at the top of every notebook makes each run identical and readable.

>>> init_course(seed=0)
>>> torch.initial_seed()
0
"""
from __future__ import annotations

import random

import matplotlib
import numpy as np
import torch
from cycler import cycler

from helpers.validate import require_int

__all__ = ["init_course"]

# Colour-blind-safe palette (Okabe & Ito), used by every figure of the course.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def init_course(seed: int = 0) -> None:
    """Seed every generator, use one CPU thread, fix print options and figure defaults.

    One thread makes a CPU kernel's result independent of how its work would be split across
    threads, so repeated runs on one machine with one PyTorch build print the same numbers (the
    test suite compares every notebook's outputs on each run); another CPU or build may still
    differ in the last bits, for example through other vector instructions. It also keeps
    parallel test workers from fighting over two cores.

    ``torch.use_deterministic_algorithms`` is left alone. It makes operations without a
    deterministic implementation raise (mostly CUDA kernels) and, on the CPU too, fills the
    memory of ``torch.empty`` and similar with NaN or the largest integer; the course needs
    neither, and switching it on costs over a second per notebook. Figures get an opaque white
    background so they stay readable in dark themes. Inside IPython, tracebacks use the
    ``Plain`` mode: the course shows many intended errors, and plain tracebacks are short to
    read and fast to format.
    """
    require_int(seed, "seed")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.set_printoptions(precision=4, sci_mode=False)
    matplotlib.rcParams.update(
        {
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "figure.dpi": 100,
            "font.size": 11,
            "axes.prop_cycle": cycler(color=PALETTE),
        }
    )
    _plain_tracebacks()


def _plain_tracebacks() -> None:
    """Switch an IPython shell, if one is running, to plain tracebacks (a no-op elsewhere)."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to configure
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "InteractiveTB"):
        shell.InteractiveTB.set_mode(mode="Plain")
