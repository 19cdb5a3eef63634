"""Install exactly the pinned set (requirements.lock) into the Python that runs this script.

Usage (make setup runs it with the course's venv):
    .venv/bin/python tools/install.py                       # from the network
    .venv/bin/python tools/install.py --wheelhouse DIR      # from a wheelhouse, no network

Without --wheelhouse, a folder wheelhouse/<platform>/ in the repository (made by
`make wheelhouse`, copied from a USB stick) is used when it exists, and so is $WHEELHOUSE.

First it installs the pinned pip (a new venv's own pip is older and much slower), then, from the
network, two steps, so that only torch ever comes from PyTorch's index:
1. torch alone (`--no-deps`), with PyTorch's CPU index added: Linux and Windows get the
   `+cpu` build, which only that index has; macOS gets PyPI's wheel (CPU-only already).
   pip also looks in its own configured places (this machine keeps a local `+cpu` wheel).
2. the whole list from PyPI, without the extra index (torch is already satisfied, and its
   dependencies are resolved with the rest).
Afterwards it compares what is installed with the lock and fails on a missing or different
version or on any CUDA package; a package the lock does not name is reported as a warning.
"""
from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pins as P  # noqa: E402

PIP_QUIET = ["-q", "--disable-pip-version-check"]


def _write(lines: list[str], folder: str, name: str) -> str:
    path = Path(folder) / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _named(lines: list[str], name: str) -> list[str]:
    return [x for x in lines if P.normalise(x.split(";")[0].split("==")[0]) == name]


def install_pip(python: str, lines: list[str], source: list[str]) -> None:
    """Install the lock's pip (if it pins one) before anything else, from `source` (pip options:
    an index by default, or a wheelhouse)."""
    with tempfile.TemporaryDirectory() as tmp:
        for line in _named(lines, "pip"):
            subprocess.run([python, "-m", "pip", "install", *PIP_QUIET, *source, "--no-deps",
                            "-r", _write([line], tmp, "pip.txt")], check=True)


def install_online(python: str, options: list[str], lines: list[str]) -> None:
    """Install `lines` (requirement lines, markers allowed): torch first, then the rest."""
    torch = _named(lines, "torch")
    install_pip(python, lines, [])
    pip = [python, "-m", "pip", "install", *PIP_QUIET]
    with tempfile.TemporaryDirectory() as tmp:
        print("install: torch (CPU-only build) ...", flush=True)
        # Few retries: where PyTorch's index is unreachable, pip falls back to its other sources
        # (a local +cpu wheel) at once instead of retrying for a minute; where neither has the
        # build, pip stops with "No matching distribution found for torch==…+cpu".
        subprocess.run([*pip, "--no-deps", "--retries", "1", "--timeout", "30",
                        "-r", _write([*options, *torch], tmp, "torch.txt")], check=True)
        print("install: the rest of the lock from PyPI ...", flush=True)
        subprocess.run([*pip, "-r", _write(lines, tmp, "rest.txt")], check=True)


def install_wheelhouse(python: str, wheelhouse: Path, lines: list[str]) -> None:
    """Install `lines` from the wheels in `wheelhouse` only (pip never opens the network)."""
    if not any(wheelhouse.glob("*.whl")):
        raise SystemExit(f"install: no wheels in {wheelhouse} (make one with `make wheelhouse`)")
    print(f"install: from {wheelhouse} (no network)", flush=True)
    install_pip(python, lines, ["--no-index", "--find-links", str(wheelhouse)])
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([python, "-m", "pip", "install", *PIP_QUIET, "--no-index", "--find-links",
                        str(wheelhouse), "-r", _write(lines, tmp, "lock.txt")], check=True)


def compare_installed(pins: list[P.Pin], installed: dict[str, str]) -> tuple[list[str], list[str]]:
    """(errors, warnings) comparing installed {normalised name: version} with this platform's pins.

    >>> pins = [P.Pin("torch", "2.13.0+cpu"), P.Pin("numpy", "2.4.6")]
    >>> compare_installed(pins, {"torch": "2.13.0+cpu", "numpy": "2.4.6", "pip": "23.2.1"})
    ([], [])
    >>> errors, warnings = compare_installed(
    ...     pins, {"torch": "2.13.0", "nvidia-cublas": "13.1.1.3", "six": "1.17.0"})
    >>> print(*errors, *warnings, sep="\\n")
    torch 2.13.0 is installed, the lock pins 2.13.0+cpu
    numpy is missing (the lock pins 2.4.6)
    nvidia-cublas 13.1.1.3 is a CUDA package: the course installs a CPU-only torch
    six 1.17.0 is installed but not in the lock
    """
    errors, warnings = [], []
    for pin in pins:
        have = installed.get(pin.key)
        if have is None:
            errors.append(f"{pin.name} is missing (the lock pins {pin.version})")
        elif have != pin.version:
            errors.append(f"{pin.name} {have} is installed, the lock pins {pin.version}")
    errors.sort(key=lambda e: not e.startswith("torch"))
    pinned = {p.key for p in pins}
    for key, version in sorted(installed.items()):
        if P.is_cuda_package(key):
            errors.append(f"{key} {version} is a CUDA package: "
                          "the course installs a CPU-only torch")
        elif key not in pinned and key not in {"pip", "copy-semantics-course"}:
            warnings.append(f"{key} {version} is installed but not in the lock")
    return errors, warnings


def installed_versions() -> dict[str, str]:
    """{normalised name: version} of every distribution the running Python imports.

    The first one on sys.path wins, as for `import`; the copies setuptools vendors (and puts on
    sys.path once it is imported: importlib_metadata, packaging, zipp, ...) are not installed
    packages and are left out.
    """
    import importlib.metadata as md

    importlib.invalidate_caches()
    found: dict[str, str] = {}
    for dist in md.distributions():
        where = str(dist.locate_file("")).replace("\\", "/")
        if "/setuptools/_vendor" in where or "/pkg_resources/_vendor" in where:
            continue
        found.setdefault(P.normalise(dist.metadata["Name"]), dist.version)
    return found


def default_wheelhouse() -> Path | None:
    """$WHEELHOUSE, else wheelhouse/<this platform>/ in the repository if it holds wheels."""
    if os.environ.get("WHEELHOUSE"):
        return Path(os.environ["WHEELHOUSE"])
    folder = P.ROOT / "wheelhouse" / P.this_target()
    return folder if any(folder.glob("*.whl")) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheelhouse", type=Path, help="install from this folder of wheels only")
    args = parser.parse_args(argv)
    options, pins = P.read_lock()
    lines = [p.line for p in pins]
    wheelhouse = args.wheelhouse or default_wheelhouse()
    if wheelhouse:
        install_wheelhouse(sys.executable, wheelhouse, lines)
    else:
        install_online(sys.executable, options, lines)
    importlib.invalidate_caches()  # `packaging` (for the markers) was installed just now
    errors, warnings = compare_installed(P.pins_for(P.this_target(), pins), installed_versions())
    for w in warnings:
        print(f"install: warning: {w}")
    if errors:
        print("install: the environment does not match requirements.lock:", *errors, sep="\n  ")
        return 1
    torch = installed_versions()["torch"]
    print(f"install: exactly the {len(P.pins_for(P.this_target(), pins))} pinned packages "
          f"for {P.this_target()} (torch {torch}, CPU-only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
