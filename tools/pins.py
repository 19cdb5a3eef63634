"""The course's pins in one place: read requirements.lock and pick its lines for one platform.

Shared by tools/lock.py, install.py, wheelhouse.py, ready.py and drift.py, and by the tests.
Only the standard library is imported at module level (install.py runs it in a venv that has
nothing but pip yet); functions that evaluate markers import `packaging` when called.

The lock holds one line per package (`name==version`, an environment marker where a package is
needed on some platforms only) and one option line, `--extra-index-url <PyTorch's CPU index>`,
for the CPU-only torch builds that PyTorch publishes as `torch==X+cpu` (Linux, Windows).
"""
from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYTHON = "3.11"

# The platforms the course supports. `markers` is what pip's environment markers see there;
# `tags` are the wheel platform tags `pip download --platform` may take for it (newest first).
_BASE = {
    "python_version": PYTHON,
    "python_full_version": PYTHON + ".9",
    "implementation_name": "cpython",
    "implementation_version": PYTHON + ".9",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_version": "",
}
_MANYLINUX = ["manylinux_2_28", "manylinux_2_27", "manylinux_2_24", "manylinux_2_17",
              "manylinux2014", "manylinux_2_12", "manylinux2010", "manylinux_2_5", "manylinux1"]
TARGETS: dict[str, dict] = {
    "linux-x86_64": {
        "markers": {**_BASE, "os_name": "posix", "sys_platform": "linux",
                    "platform_system": "Linux", "platform_machine": "x86_64"},
        "tags": [f"{m}_x86_64" for m in _MANYLINUX],
    },
    "linux-aarch64": {
        "markers": {**_BASE, "os_name": "posix", "sys_platform": "linux",
                    "platform_system": "Linux", "platform_machine": "aarch64"},
        "tags": [f"{m}_aarch64" for m in _MANYLINUX[:5]],
    },
    "macos-arm64": {
        "markers": {**_BASE, "os_name": "posix", "sys_platform": "darwin",
                    "platform_system": "Darwin", "platform_machine": "arm64"},
        "tags": [f"macosx_{v}_0_arm64" for v in (14, 13, 12, 11)] + ["macosx_11_0_universal2",
                                                                     "macosx_10_9_universal2"],
    },
    "windows-amd64": {
        "markers": {**_BASE, "os_name": "nt", "sys_platform": "win32",
                    "platform_system": "Windows", "platform_machine": "AMD64"},
        "tags": ["win_amd64"],
    },
}


@dataclass(frozen=True)
class Pin:
    """One requirement line of the lock: `name==version`, with an optional environment marker."""

    name: str
    version: str
    marker: str = ""

    @property
    def key(self) -> str:
        """The normalised project name (PEP 503): `Jinja2` -> `jinja2`, `typing_extensions` ->
        `typing-extensions`."""
        return normalise(self.name)

    @property
    def line(self) -> str:
        """The line as written in the lock."""
        return f"{self.name}=={self.version}" + (f" ; {self.marker}" if self.marker else "")


def normalise(name: str) -> str:
    """PEP 503 name: lower case, runs of `-`, `_`, `.` become one `-`.

    >>> normalise("typing_Extensions")
    'typing-extensions'
    """
    out, dash = [], False
    for ch in name.lower():
        if ch in "-_.":
            dash = True
            continue
        if dash and out:
            out.append("-")
        dash = False
        out.append(ch)
    return "".join(out)


def parse_line(line: str) -> Pin:
    """Parse one pinned line; refuse anything but `name==version [; marker]`.

    >>> parse_line('torch==2.13.0+cpu ; sys_platform != "darwin"')
    Pin(name='torch', version='2.13.0+cpu', marker='sys_platform != "darwin"')
    >>> parse_line("numpy>=2")
    Traceback (most recent call last):
    ...
    ValueError: not pinned exactly (expected name==version [; marker]): 'numpy>=2'
    """
    requirement, _, marker = line.partition(";")
    name, sep, version = requirement.strip().partition("==")
    if not sep or not name or not version or any(c in version for c in "<>=!~,* "):
        raise ValueError(f"not pinned exactly (expected name==version [; marker]): {line!r}")
    return Pin(name.strip(), version.strip(), marker.strip())


def read_lock(path: Path = LOCK) -> tuple[list[str], list[Pin]]:
    """Return the lock's option lines (`--extra-index-url …`) and its pins, in file order."""
    options, pins = [], []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
        else:
            pins.append(parse_line(line))
    return options, pins


def applies(pin: Pin, target: str) -> bool:
    """Whether `pin` is installed on `target` (one of TARGETS), by its environment marker."""
    if not pin.marker:
        return True
    from packaging.markers import Marker  # only here: install.py runs before packaging exists

    return Marker(pin.marker).evaluate(TARGETS[target]["markers"])


def pins_for(target: str, pins: list[Pin]) -> list[Pin]:
    """The pins `target` installs, markers evaluated (each project at most once)."""
    chosen = [p for p in pins if applies(p, target)]
    keys = [p.key for p in chosen]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"the lock gives {target} more than one line for {duplicates}")
    return chosen


def this_target() -> str:
    """The TARGETS name of the running machine; ValueError naming the supported ones if none."""
    machine = platform.machine().lower()
    name = {
        ("linux", "x86_64"): "linux-x86_64",
        ("linux", "amd64"): "linux-x86_64",
        ("linux", "aarch64"): "linux-aarch64",
        ("linux", "arm64"): "linux-aarch64",
        ("darwin", "arm64"): "macos-arm64",
        ("win32", "amd64"): "windows-amd64",
        ("win32", "x86_64"): "windows-amd64",
    }.get((sys.platform, machine))
    if name is None:
        raise ValueError(
            f"this machine ({sys.platform}, {machine}) is not one the course's lock supports: "
            f"{', '.join(TARGETS)}. Intel Macs: PyTorch publishes no wheels for them since 2.3; "
            "use Colab, Binder or a JupyterHub instead."
        )
    return name


def is_cuda_package(name: str) -> bool:
    """Whether a project name is one of the GPU runtime packages a CUDA build of torch pulls in.

    >>> [is_cuda_package(n) for n in ("nvidia-cublas", "triton", "cuda-toolkit", "numpy")]
    [True, True, True, False]
    """
    key = normalise(name)
    return key.startswith(("nvidia-", "cuda-")) or key in {"triton", "pytorch-triton"}
