"""`make wheelhouse`: every wheel the locked stack needs, for one platform and Python, in one folder.

    python scripts/wheelhouse.py --dest wheelhouse [--python 3.11] [--platform manylinux_2_28_x86_64]
                                 [--extra tf-cpu]

Run it on a connected machine (it downloads from your package index, several GB). It resolves
tlcourse's dependencies (pyproject.toml: the core list, the TensorFlow extra, ``dev``), its
build backend and pip, constrained to constraints.txt, and downloads wheels only. Without
``--platform`` and ``--python`` it fetches for this machine's interpreter; with them, for another
machine of the same operating system (pip evaluates OS markers on the machine that downloads, so
build a Windows or macOS wheelhouse on such a machine). Then on each laptop, with no network::

    make setup WHEELS=/path/to/wheelhouse     # = pip install --no-index --find-links ... -c constraints.txt
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "constraints.txt"


def requirements(extra: str) -> list[str]:
    """What `make setup` installs: dependencies, the extra, dev, the build backend, pip and uv."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    optional = data["project"]["optional-dependencies"]
    if extra not in optional:
        raise SystemExit(f"no extra {extra!r} in pyproject.toml; there are: {', '.join(optional)}")
    return [*data["project"]["dependencies"], *optional[extra], *optional["dev"],
            *data["build-system"]["requires"], "pip", "uv"]


def command(dest: Path, extra: str, python: str | None, platforms: list[str]) -> list[str]:
    """The `pip download` command line."""
    cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--dest", str(dest),
           "--constraint", str(LOCK)]
    if python:
        cmd += ["--python-version", python, "--implementation", "cp",
                "--abi", "cp" + python.replace(".", "")]
    for tag in platforms:
        cmd += ["--platform", tag]
    return cmd + requirements(extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--dest", type=Path, default=ROOT / "wheelhouse")
    parser.add_argument("--python", help="target Python, e.g. 3.11 (default: this interpreter)")
    parser.add_argument("--platform", action="append", default=[],
                        help="target platform tag, e.g. manylinux_2_28_x86_64 (repeatable; default: this machine)")
    parser.add_argument("--extra", default="tf-cpu", help="TensorFlow extra: tf-cpu or tf-gpu")
    args = parser.parse_args(argv)
    if not LOCK.is_file():
        raise SystemExit("constraints.txt is missing: run `make lock` after `make test` passed.")
    args.dest.mkdir(parents=True, exist_ok=True)
    cmd = command(args.dest, args.extra, args.python, args.platform)
    print(" ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wheels = sorted(args.dest.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    print(f"{len(wheels)} wheels, {size / 2**30:.2f} GiB in {args.dest} "
          f"({time.perf_counter() - start:.0f} s)")
    print(f"offline install: make setup WHEELS={args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
