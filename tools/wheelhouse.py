"""Download every pinned wheel for one platform into wheelhouse/<platform>/ (offline classrooms).

Usage: python tools/wheelhouse.py [--platform linux-x86_64] [--dest wheelhouse]
       (make wheelhouse PLATFORM=windows-amd64)

The folder then holds one wheel per package the lock gives that platform, `requirements.txt`
(those pins, markers resolved) and `SHA256SUMS`. Copy the repository with that folder onto a USB
stick or a share: on a learner's machine of that platform `make setup` (or
`python tools/install.py`) finds wheelhouse/<platform>/ and installs from it with no network;
without make: `pip install --no-index --find-links wheelhouse/<platform> -r
wheelhouse/<platform>/requirements.txt`.

Markers are evaluated for the target platform here (pip itself would evaluate them for the
machine that downloads). torch comes from PyTorch's CPU index (Linux, Windows) or PyPI (macOS),
everything else from PyPI. A package published only as source is built into a pure-Python
wheel here (it fails loudly if that build is not pure Python).
"""
from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pins as P  # noqa: E402

_MISSING = re.compile(r"No matching distribution found for ([A-Za-z0-9_.\-]+)==")


def download_command(target: str, requirements: Path, dest: Path) -> list[str]:
    """The `pip download` command that fetches binary wheels of `requirements` for `target`.

    >>> cmd = download_command("windows-amd64", Path("r.txt"), Path("wh"))
    >>> print(" ".join(cmd[3:]))  # doctest: +NORMALIZE_WHITESPACE
    download -q --no-deps --only-binary=:all: --platform win_amd64 --python-version 3.11
    --implementation cp --abi cp311 --abi abi3 --abi none -d wh -r r.txt
    """
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
    for tag in P.TARGETS[target]["tags"]:
        cmd += ["--platform", tag]
    cmd += ["--python-version", P.PYTHON, "--implementation", "cp", "--abi", "cp311",
            "--abi", "abi3", "--abi", "none", "-d", str(dest), "-r", str(requirements)]
    return cmd


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True)


def _build_pure_wheel(line: str, dest: Path, tmp: Path) -> None:
    """Download the source of `line` and build a py3-none-any wheel of it into `dest`."""
    src = tmp / "src"
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
                    ":all:", "-d", str(src), line], check=True)
    built = tmp / "built"
    (sdist,) = [p for p in src.iterdir() if P.normalise(p.name).startswith(
        P.normalise(line.split("==")[0]))]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(built),
                    str(sdist)], check=True)
    (wheel,) = built.glob("*.whl")
    if not wheel.name.endswith("-none-any.whl"):
        raise SystemExit(f"wheelhouse: {line} has no wheel for this platform and its source "
                         f"builds {wheel.name}, which is not pure Python")
    wheel.rename(dest / wheel.name)


def build(target: str, dest_root: Path) -> Path:
    """Fill dest_root/<target>/ with the wheels of the lock for `target`; return that folder."""
    options, pins = P.read_lock()
    chosen = P.pins_for(target, pins)
    dest = dest_root / target
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "requirements.txt").write_text(
        f"# The pins of requirements.lock for {target} (markers resolved).\n"
        + "\n".join(f"{p.name}=={p.version}" for p in chosen) + "\n")
    torch = [p for p in chosen if p.key == "torch"]
    rest = [p for p in chosen if p.key != "torch"]
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        torch_req = t / "torch.txt"
        torch_req.write_text("\n".join([*options, *(f"{p.name}=={p.version}" for p in torch)]))
        print(f"wheelhouse: torch {torch[0].version} for {target} ...", flush=True)
        cmd = download_command(target, torch_req, dest)
        done = _run(cmd[:4] + ["--retries", "1", "--timeout", "30"] + cmd[4:])
        if done.returncode:
            raise SystemExit(f"wheelhouse: could not download torch for {target}:\n{done.stderr}"
                             f"\nPyTorch's CPU index ({P.CPU_INDEX}) must be reachable.")
        todo = [f"{p.name}=={p.version}" for p in rest]
        print(f"wheelhouse: {len(todo)} other wheels from PyPI ...", flush=True)
        while todo:
            req = t / "rest.txt"
            req.write_text("\n".join(todo) + "\n")
            done = _run(download_command(target, req, dest))
            if not done.returncode:
                break
            missing = _MISSING.search(done.stderr)
            if not missing:
                raise SystemExit(f"wheelhouse: pip download failed:\n{done.stderr}")
            line = next(x for x in todo if P.normalise(x.split("==")[0]) ==
                        P.normalise(missing.group(1)))
            print(f"wheelhouse: {line} has no wheel for {target}: building it from source")
            _build_pure_wheel(line, dest, Path(tempfile.mkdtemp(dir=tmp)))
            todo.remove(line)
    wheels = sorted(dest.glob("*.whl"))
    keys = {P.normalise(w.name.split("-")[0]) for w in wheels}
    missing_keys = sorted({p.key for p in chosen} - keys)
    if missing_keys:
        raise SystemExit(f"wheelhouse: no wheel for {missing_keys}")
    sums = [f"{hashlib.sha256(w.read_bytes()).hexdigest()}  {w.name}" for w in wheels]
    (dest / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    size = sum(w.stat().st_size for w in wheels)
    torch_size = sum(w.stat().st_size for w in wheels if w.name.startswith("torch-"))
    print(f"wheelhouse: {dest}: {len(wheels)} wheels, {size / 1e6:.0f} MB "
          f"(torch {torch_size / 1e6:.0f} MB)")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=list(P.TARGETS), default=None,
                        help="the learners' platform (default: this machine's)")
    parser.add_argument("--dest", type=Path, default=P.ROOT / "wheelhouse")
    args = parser.parse_args(argv)
    build(args.platform or P.this_target(), args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
