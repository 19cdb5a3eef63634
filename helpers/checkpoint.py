"""Checkpoints that survive a crash: write a temporary file next to the target, then rename it.

``torch.save(obj, path)`` opens ``path`` for writing first, which empties the previous file,
and then writes. A save that fails halfway (a full disk, a killed job, an object that cannot
be pickled) leaves a broken file where the last good checkpoint was. :func:`save_atomic` writes
to a temporary file in the same folder and moves it over ``path`` with :func:`os.replace`
only once it is complete, so ``path`` always holds either the old or the new checkpoint.

>>> import os, tempfile, torch
>>> with tempfile.TemporaryDirectory() as folder:
...     path = os.path.join(folder, "ckpt.pt")
...     save_atomic({"step": 3}, path)
...     torch.load(path), os.listdir(folder)
({'step': 3}, ['ckpt.pt'])
"""
from __future__ import annotations

import io
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import torch

__all__ = ["atomic_write", "save_atomic", "saved_nbytes"]


def _target(path: object) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or os.PathLike (the checkpoint file), got {type(path).__name__}"
        )
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"path must name a file, but {target.name!r} is a directory")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"the folder for {target.name!r} does not exist: create it first")
    return target


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open a folder for this."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a new temporary file beside ``path``, then move it onto ``path``.

    The temporary file is flushed and synced to disk before :func:`os.replace` puts it in
    place (an atomic rename within one folder). If ``write`` raises (anything, including
    ``KeyboardInterrupt``), the temporary file is removed, ``path`` is left exactly as it was,
    and the error propagates.

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "note.txt")
    ...     atomic_write(path, lambda f: f.write(b"old"))
    ...     def crash(f):
    ...         f.write(b"ne")
    ...         raise OSError("disk full")
    ...     try:
    ...         atomic_write(path, crash)
    ...     except OSError:
    ...         pass
    ...     open(path, "rb").read(), os.listdir(folder)
    (b'old', ['note.txt'])
    """
    target = _target(path)
    if not callable(write):
        raise TypeError(
            f"write must be a callable taking an open binary file, got {type(write).__name__}"
        )
    # A name no other writer uses; created exclusively ("xb") with the usual permissions.
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)


def save_atomic(obj: object, path: str | os.PathLike[str]) -> None:
    """``torch.save(obj, path)``, but crash-safe: see :func:`atomic_write`.

    >>> import os, tempfile, torch
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "w.pt")
    ...     save_atomic({"w": torch.ones(2)}, path)
    ...     torch.load(path)["w"]
    tensor([1., 1.])
    """
    atomic_write(path, lambda file: torch.save(obj, file))


def saved_nbytes(obj: object) -> int:
    """How many bytes ``torch.save(obj, ...)`` writes (saved into memory, nothing on disk).

    The count is the same on every run of one PyTorch version; it depends on the file format,
    and a file on disk differs by a few bytes per record (the archive's inner folder is named
    after the file, here ``archive``).

    >>> import torch
    >>> saved_nbytes(torch.zeros(1000)) > 1000 * 4  # the 4,000 bytes of data plus the archive
    True
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getbuffer().nbytes
