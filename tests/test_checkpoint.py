"""Unit tests of helpers.checkpoint: a failed save never damages the previous checkpoint."""
import io
import os
import stat

import pytest
import torch

from helpers.checkpoint import atomic_write, save_atomic, saved_nbytes


class Boom(Exception):
    """Stands for any failure in the middle of a save."""


class Unpicklable:
    """An object that cannot be pickled, like a lambda or an open file in a checkpoint."""

    def __reduce__(self):
        raise TypeError("cannot pickle Unpicklable")


def crash_after_some_bytes(file):
    file.write(b"partial new checkpoint")
    raise Boom("simulated crash")


def test_save_atomic_round_trip_with_str_and_path(tmp_path):
    state = {"w": torch.arange(4.0), "step": 3}
    save_atomic(state, str(tmp_path / "a.pt"))
    save_atomic(state, tmp_path / "b.pt")
    for name in ("a.pt", "b.pt"):
        loaded = torch.load(tmp_path / name)
        assert torch.equal(loaded["w"], state["w"]) and loaded["step"] == 3
    assert sorted(os.listdir(tmp_path)) == ["a.pt", "b.pt"]


def test_save_atomic_replaces_an_existing_checkpoint(tmp_path):
    path = tmp_path / "ckpt.pt"
    save_atomic({"step": 1}, path)
    save_atomic({"step": 2}, path)
    assert torch.load(path) == {"step": 2}
    assert os.listdir(tmp_path) == ["ckpt.pt"]


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, error):
    path = tmp_path / "ckpt.pt"
    save_atomic({"w": torch.ones(3)}, path)
    before = path.read_bytes()

    def fail(file):
        file.write(b"half")
        raise error("simulated")

    with pytest.raises(error):
        atomic_write(path, fail)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_failed_first_save_creates_nothing(tmp_path):
    with pytest.raises(Boom):
        atomic_write(tmp_path / "new.pt", crash_after_some_bytes)
    assert os.listdir(tmp_path) == []


def test_unpicklable_object_does_not_destroy_old_checkpoint(tmp_path):
    path = tmp_path / "ckpt.pt"
    save_atomic({"step": 1}, path)
    with pytest.raises(TypeError, match="cannot pickle"):
        save_atomic({"step": 2, "bad": Unpicklable()}, path)
    assert torch.load(path) == {"step": 1}
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_direct_torch_save_would_have_destroyed_it(tmp_path):
    """The failure mode the helper exists for (if PyTorch ever changes this, say so)."""
    path = tmp_path / "ckpt.pt"
    torch.save({"step": 1}, path)
    with pytest.raises(TypeError, match="cannot pickle"):
        torch.save({"step": 2, "bad": Unpicklable()}, path)
    with pytest.raises(RuntimeError):
        torch.load(path)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_file_gets_the_usual_permissions(tmp_path):
    save_atomic({"step": 1}, tmp_path / "atomic.pt")
    torch.save({"step": 1}, tmp_path / "plain.pt")
    mode = stat.S_IMODE(os.stat(tmp_path / "atomic.pt").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain.pt").st_mode)


def test_bad_input_is_refused_clearly_and_writes_nothing(tmp_path):
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        save_atomic({}, 42)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_atomic({}, tmp_path / "missing" / "ckpt.pt")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        save_atomic({}, tmp_path)
    with pytest.raises(TypeError, match="write must be a callable"):
        atomic_write(tmp_path / "ckpt.pt", b"bytes")
    assert os.listdir(tmp_path) == []


def test_saved_nbytes_counts_what_torch_save_writes():
    big = torch.zeros(100_000)
    buffer = io.BytesIO()
    torch.save(big[:10], buffer)
    assert saved_nbytes(big[:10]) == len(buffer.getvalue())
    assert saved_nbytes(big[:10]) > big.nbytes  # the whole storage behind the view
    assert saved_nbytes(big[:10].clone()) < 2_000  # forty bytes of data plus the archive
