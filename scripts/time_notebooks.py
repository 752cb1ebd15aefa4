"""Benchmark: run notebooks top to bottom in one profile and record the wall time of each.

    python scripts/time_notebooks.py --profile cpu [--only 02_feature_extraction.ipynb ...]

Writes docs/timings.json (the map in 00_start_here reads it) and prints a table. A timing is a
measurement, not a test: nothing here fails because something was slow.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "timings.json"


def machine() -> str:
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        gpu = None
    return f"{platform.machine()}, {os.cpu_count()} cores" + (f", GPU {gpu}" if gpu else ", no GPU")


def run(path: Path, profile: str, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    os.environ["TLCOURSE_PROFILE"] = profile
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "full"])
    parser.add_argument("--only", nargs="*", help="notebook file names (default: all)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    data = json.loads(OUT.read_text()) if OUT.is_file() else {"profiles": {}}
    data["machine"] = machine()
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.name in args.only]
    for path in paths:
        seconds = run(path, args.profile, args.timeout)
        if OUT.is_file():  # merge with what other runs wrote meanwhile
            data["profiles"] = json.loads(OUT.read_text())["profiles"]
        data["profiles"].setdefault(args.profile, {})[path.name] = {
            "seconds": round(seconds, 1), "date": date.today().isoformat(), "machine": data["machine"],
        }  # fmt: skip
        print(f"{args.profile:<6} {path.name:<32} {seconds:8.1f} s", flush=True)
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
