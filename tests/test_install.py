"""The lock installs a CPU-only torch and exactly the pinned set, on every platform, offline-proven.

The strongest check resolves requirements.lock with pip itself, offline: two local indexes of stub
wheels (one playing PyPI, one PyTorch's CPU index, which the lock's own index line is pointed at)
carry the real metadata of every locked package (read from this environment, which is the
lock) plus the real metadata of PyPI's CUDA build of torch 2.13.0 and everything it pulls in
(tests/data/pypi_torch_2.13.0_linux_x86_64.json, recorded from PyPI). pip must pick the `+cpu`
build and nothing else; the control shows what the old plain pin `torch==2.13.0` pulled in.
"""
from __future__ import annotations

import base64
import doctest
import hashlib
import importlib
import importlib.metadata as md
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

# runs pip: scheduled early (tests/conftest.py)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import pins as P  # noqa: E402

CUDA_FIXTURE = ROOT / "tests" / "data" / "pypi_torch_2.13.0_linux_x86_64.json"
LINUX = "linux-x86_64"


# ---- the lock as text ------------------------------------------------------------------------
def test_lock_is_exact_pins_plus_the_cpu_index():
    options, pins = P.read_lock()
    assert options == [f"--extra-index-url {P.CPU_INDEX}"]
    assert len(pins) > 100 and all(p.version for p in pins)


@pytest.mark.parametrize("target", list(P.TARGETS))
def test_every_platform_gets_one_cpu_only_torch(target):
    _, pins = P.read_lock()
    chosen = P.pins_for(target, pins)
    (torch,) = [p for p in chosen if p.key == "torch"]
    if target == "macos-arm64":  # PyPI's macOS wheels are CPU-only; no +cpu build exists there
        assert torch.version == "2.13.0"
    else:  # PyPI's Linux wheel is the CUDA build; `==X+cpu` admits only PyTorch's CPU build
        assert torch.version.endswith("+cpu")
    assert not [p.name for p in chosen if P.is_cuda_package(p.name)]


def test_platform_only_packages_carry_markers():
    _, pins = P.read_lock()
    by_key = {p.key: p for p in pins if p.key != "torch"}
    assert P.applies(by_key["pywinpty"], "windows-amd64")
    assert not P.applies(by_key["pywinpty"], LINUX)
    assert P.applies(by_key["appnope"], "macos-arm64") and not P.applies(by_key["appnope"], LINUX)
    assert not P.applies(by_key["pexpect"], "windows-amd64") and P.applies(by_key["pexpect"], LINUX)


# ---- closure: nothing outside the lock gets installed on Linux --------------------------------
def _installed() -> dict[str, md.Distribution]:
    return {P.normalise(d.metadata["Name"]): d for d in md.distributions()}


@pytest.mark.skipif(sys.platform != "linux", reason="the installed metadata is Linux's")
def test_lock_is_closed_under_its_packages_own_requirements_on_linux():
    _, pins = P.read_lock()
    linux = {p.key: p.version for p in P.pins_for(LINUX, pins)}
    installed = _installed()
    env = P.TARGETS[LINUX]["markers"]
    outside = []
    for key in linux:
        for text in installed[key].requires or []:
            dep = Requirement(text)
            if dep.marker is not None and not dep.marker.evaluate({**env, "extra": ""}):
                continue
            dep_key = P.normalise(dep.name)
            if dep_key not in linux or not dep.specifier.contains(linux[dep_key], prereleases=True):
                outside.append(f"{key} needs {text}")
    assert not outside, outside


# ---- pip itself, offline, on stub wheels ------------------------------------------------------
def _stub_wheel(folder: Path, name: str, version: str, requires: list[str],
                requires_python: str | None = None, extras: list[str] = ()) -> None:
    """A wheel that installs nothing but declares the given metadata (enough for resolution)."""
    dist = f"{P.normalise(name).replace('-', '_')}-{version}"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Python: {requires_python}"] if requires_python else []
    meta += [f"Provides-Extra: {e}" for e in extras]
    meta += [f"Requires-Dist: {r}" for r in requires]
    files = {f"{dist}.dist-info/METADATA": "\n".join(meta) + "\n",
             f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: stub\nRoot-Is-Purelib: "
                                         "true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record + [f"{dist}.dist-info/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / f"{dist}-py3-none-any.whl", "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)


def _simple_index(folder: Path) -> str:
    """Make `folder` (stub wheels) a PEP 503 index on disk, the form PyPI and PyTorch's CPU
    index have (one page per project listing its files), so that pip resolves the lock against
    two indexes exactly as it does online. Returns the index's URL."""
    projects: dict[str, list[str]] = {}
    for wheel in sorted(folder.glob("*.whl")):
        projects.setdefault(P.normalise(wheel.name.split("-")[0]), []).append(wheel.name)
    for project, wheels in projects.items():
        page = folder / "simple" / project
        page.mkdir(parents=True)
        links = "".join(f'<a href="../../{w}">{w}</a>\n' for w in wheels)
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    return (folder / "simple").as_uri() + "/"


@pytest.fixture(scope="module")
def stub_index(tmp_path_factory):
    """Two indexes of stub wheels: `pypi` (what PyPI offers for Linux: CUDA torch) and `cpu`
    (PyTorch's CPU index: the +cpu build). Returns their URLs."""
    _, pins = P.read_lock()
    installed = _installed()
    pypi = tmp_path_factory.mktemp("pypi")
    for pin in P.pins_for(LINUX, pins):
        if pin.key == "torch":
            continue
        dist = installed[pin.key]
        _stub_wheel(pypi, pin.name, pin.version, dist.requires or [],
                    dist.metadata.get("Requires-Python"),
                    dist.metadata.get_all("Provides-Extra") or [])
    locked = {p.key for p in pins}
    for pkg in json.loads(CUDA_FIXTURE.read_text())["packages"]:
        if P.normalise(pkg["name"]) not in locked or pkg["name"] == "torch":
            _stub_wheel(pypi, pkg["name"], pkg["version"], pkg["requires_dist"] or [],
                        pkg["requires_python"], pkg["provides_extra"] or [])
    cpu = tmp_path_factory.mktemp("cpu")
    torch = installed["torch"]
    assert torch.version == "2.13.0+cpu", "the test environment must be the lock (make setup)"
    _stub_wheel(cpu, "torch", torch.version, torch.requires or [],
                torch.metadata["Requires-Python"], torch.metadata.get_all("Provides-Extra") or [])
    return {"pypi": _simple_index(pypi), "cpu": _simple_index(cpu)}


def _lock_with_cpu_index(cpu_index: str | None, tmp: Path) -> Path:
    """requirements.lock as it is, except that its PyTorch CPU index line names `cpu_index`
    (None: the index is unreachable, as when it is down or blocked)."""
    text = (ROOT / "requirements.lock").read_text()
    assert text.count(P.CPU_INDEX) == 1, "the lock names PyTorch's CPU index once"
    replaced = tmp / "requirements.lock"
    gone = (tmp / "unreachable").as_uri() + "/"  # a file: URL where there is no index
    replaced.write_text(text.replace(P.CPU_INDEX, cpu_index or gone))
    return replaced


def _resolve(index: str, requirements: list[str], tmp: Path) -> tuple[int, dict[str, str], str]:
    """pip's dry-run resolution against `index` as PyPI (no other index, no pip config)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # this machine's config adds a local torch wheel folder
    report = tmp / "report.json"
    report.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
         "--index-url", index, "--disable-pip-version-check", "--report", str(report),
         *requirements], capture_output=True, text=True, env=env)
    chosen = {}
    if report.is_file():
        chosen = {P.normalise(i["metadata"]["name"]): i["metadata"]["version"]
                  for i in json.loads(report.read_text())["install"]}
    return done.returncode, chosen, done.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="resolves for Linux with Linux metadata")
def test_pip_resolves_the_lock_to_exactly_the_pins_with_cpu_torch(stub_index, tmp_path):
    lock = _lock_with_cpu_index(stub_index["cpu"], tmp_path)
    code, chosen, err = _resolve(stub_index["pypi"], ["-r", str(lock)], tmp_path)
    assert code == 0, err
    _, pins = P.read_lock()
    assert chosen == {p.key: p.version for p in P.pins_for(LINUX, pins)}
    assert chosen["torch"] == "2.13.0+cpu"
    assert not [name for name in chosen if P.is_cuda_package(name)]


@pytest.mark.skipif(sys.platform != "linux", reason="resolves for Linux with Linux metadata")
def test_without_the_cpu_build_the_lock_refuses_instead_of_taking_cuda(stub_index, tmp_path):
    lock = _lock_with_cpu_index(None, tmp_path)
    code, _, err = _resolve(stub_index["pypi"], ["-r", str(lock)], tmp_path)
    assert code != 0 and "torch==2.13.0+cpu" in err, err
    # the control: the old plain pin takes PyPI's CUDA build and its GPU runtime packages
    code, chosen, err = _resolve(stub_index["pypi"], ["torch==2.13.0"], tmp_path)
    assert code == 0, err
    cuda = sorted(name for name in chosen if P.is_cuda_package(name))
    assert chosen["torch"] == "2.13.0" and len(cuda) == 19, cuda  # the README's number


# ---- the tools' own docstring examples (pytest collects tools/ doctests only for course.py) -----
@pytest.mark.parametrize("module", ["pins", "install", "lock", "wheelhouse", "drift", "ready"])
def test_tool_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0
