"""`make verify`: run solution notebooks top to bottom and merge what they measure into the ledger.

    python scripts/verify.py [--lessons 02 03 | all] [--seeds 3] [--profile cpu]

Each run is one notebook in one fresh kernel (nbclient, no per-cell timeout) with
``TLCOURSE_PROFILE`` = the profile, ``TLCOURSE_SEED`` = 42, 43, ... and ``TLCOURSE_RECORD`` = a
temporary JSON-lines file that ``tl.ledger.record`` appends the lesson's headline numbers to. A
successful run (wall seconds, date, machine, load, numbers) is merged into docs/results.json under
a file lock (re-read before write, so parallel verifies of different lessons do not clobber each
other); a failed run is not merged: the failing cell and its error are printed and the exit status
is 1. docs/results.md is regenerated from the ledger at the end. The executed copies are kept in
build/verify/ for inspection. Run it alone on the machine: the times are part of the ledger.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tlcourse import ledger  # noqa: E402
from tlcourse.device import thread_count  # noqa: E402
from tlcourse.profiles import LESSONS_DIR, PROFILES  # noqa: E402

FIRST_SEED = 42
EXECUTED = ROOT / "build" / "verify"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colour codes in tracebacks
_CONFIG_CALL = re.compile(r"""tl\.config\(\s*["']([A-Za-z0-9_]+)["']""")


class RunFailed(Exception):
    """A notebook run that must not be merged; the message says where and why."""


def select(lessons: list[str], folder: Path) -> list[Path]:
    """Solution notebooks for lesson numbers (``02``, ``2``) or file stems; ``all`` = every one."""
    every = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not lessons or lessons == ["all"]:
        return every
    out = []
    for want in lessons:
        key = want.zfill(2) if want.isdigit() else want.removesuffix(".ipynb")
        hits = [p for p in every if p.stem == key or p.stem.split("_", 1)[0] == key]
        if not hits:
            names = ", ".join(p.stem for p in every)
            raise SystemExit(f"no solution notebook for LESSON={want!r}; there are: {names}")
        out += [p for p in hits if p not in out]
    return out


def lesson_name(nb: nbformat.NotebookNode) -> str | None:
    """The lesson id of the notebook's ``tl.config("...")`` call (None when it has none)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and (m := _CONFIG_CALL.search(cell.source)):
            return m.group(1)
    return None


def code_digest(nb: nbformat.NotebookNode, lesson: str | None) -> str:
    """sha256 of the code cells and the lesson's TOML: what decides the numbers (not the prose)."""
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            h.update(cell.source.encode() + b"\0")
    toml = LESSONS_DIR / f"{lesson}.toml"
    if lesson and toml.is_file():
        h.update(toml.read_bytes())
    return h.hexdigest()


def machine() -> str:
    """``x86_64 <CPU model>, N cores, no GPU`` (or the GPU's name)."""
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        gpu = None
    desc = f"{platform.machine()} {model}".strip()
    return f"{desc}, {os.cpu_count()} cores, " + (f"GPU {gpu}" if gpu else "no GPU")


def loadavg() -> float | None:
    """The 1-minute load average (None where the OS has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def failing_cell(nb: nbformat.NotebookNode) -> str:
    """Where the executed notebook failed: the first cell with an error output."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                return f"cell {i} ({first[:70]!r}): {out.get('ename')}: {out.get('evalue')}"
    return "no cell has an error output"


def read_records(path: Path, *, profile: str, seed: int) -> tuple[str | None, dict[str, float]]:
    """The lesson name and ``{key: value}`` the run recorded; mismatches are a failed run."""
    values: dict[str, float] = {}
    lessons = set()
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            key, value = str(rec["key"]), float(rec["value"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise RunFailed(f"record line {n} is not a ledger record ({err}): {line[:80]}") from None
        if rec.get("profile") != profile or rec.get("seed") != seed:
            raise RunFailed(
                f"{key} was recorded for profile {rec.get('profile')!r}, seed {rec.get('seed')!r}, "
                f"but this run is {profile!r}, seed {seed}: does the notebook pass its own "
                "profile or seed to tl.config?"
            )
        if key in values and values[key] != value:
            raise RunFailed(f"{key} was recorded twice with different values "
                            f"({values[key]} and {value}): give each number its own key.")  # fmt: skip
        values[key] = value
        lessons.add(str(rec.get("lesson")))
    if len(lessons) > 1:
        raise RunFailed(f"one notebook recorded numbers for several lessons: {sorted(lessons)}")
    return (lessons.pop() if lessons else None), values


def execute(path: Path, *, profile: str, seed: int, record: Path) -> tuple[float, nbformat.NotebookNode]:
    """Run ``path`` in a fresh kernel (cwd = its folder); return wall seconds and the result."""
    nb = nbformat.read(path, as_version=4)
    env = {"TLCOURSE_PROFILE": profile, "TLCOURSE_SEED": str(seed), "TLCOURSE_RECORD": str(record)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    client = NotebookClient(nb, timeout=None, startup_timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        raise RunFailed(failing_cell(nb) + "\n" + _ANSI.sub("", str(err))[-3000:]) from None
    except Exception as err:  # kernel died, could not start, ...
        raise RunFailed(f"{type(err).__name__}: {err}") from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        EXECUTED.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, EXECUTED / f"{path.stem}.{profile}.{seed}.ipynb")
    return time.perf_counter() - start, nb


def verify_one(path: Path, *, profile: str, seed: int, ledger_path: Path) -> dict[str, Any]:
    """Run one notebook with one seed and merge the run into the ledger; return the run."""
    source = nbformat.read(path, as_version=4)
    declared = lesson_name(source)
    with tempfile.TemporaryDirectory(prefix="tlcourse-verify-") as tmp:
        record = Path(tmp) / "record.jsonl"
        load_start = loadavg()
        seconds, _ = execute(path, profile=profile, seed=seed, record=record)
        load_end = loadavg()
        recorded, values = read_records(record, profile=profile, seed=seed)
    if declared and recorded and recorded != declared:
        raise RunFailed(f"the notebook configures lesson {declared!r} but recorded {recorded!r}")
    lesson = recorded or declared or path.stem
    run = {
        "seconds": round(seconds, 1), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "threads": thread_count(),
        "load_start": load_start, "load_end": load_end, "values": values,
    }  # fmt: skip
    with ledger.locked(ledger_path) as data:
        note = ledger.merge_run(data, profile=profile, notebook=path.stem, lesson=lesson,
                                code=code_digest(source, lesson), seed=seed, run=run)  # fmt: skip
    if note:
        print("note:", note, flush=True)
    return run


def _num(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"


def _minutes(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


def markdown(data: dict[str, Any]) -> str:
    """docs/results.md: one table per profile, one row per recorded number."""
    lines = [
        "# Results ledger",
        "",
        "Generated by `make verify` (scripts/verify.py) from `docs/results.json`; do not edit by hand.",
        "Each notebook ran top to bottom in a fresh kernel, once per seed. Wall time: mean (min-max)",
        "over the runs. Load: the 1-minute load average before and after each run (the lowest start",
        "and the highest end over the runs); times measured at a load well above 0 are not an idle",
        "machine's. Numbers: mean +/- sample standard deviation (min-max) over the seeds.",
    ]
    order = [p for p in PROFILES if p in data.get("profiles", {})]
    order += sorted(set(data.get("profiles", {})) - set(order))
    for profile in order:
        lines += ["", f"## Profile `{profile}`", "",
                  "| notebook | seeds | wall time | machine | date | load | number | mean +/- std | range |",
                  "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for stem, entry in data["profiles"][profile].items():
            runs = entry.get("runs", {})
            if not runs:
                continue
            sec = entry["summary"]["seconds"]
            wall = _minutes(sec["mean"]) + (
                f" ({_minutes(sec['min'])}-{_minutes(sec['max'])})" if sec["n"] > 1 else "")
            machines = sorted({r["machine"] for r in runs.values()})
            dates = sorted(r["date"][:10] for r in runs.values())
            date = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
            starts = [r["load_start"] for r in runs.values() if r.get("load_start") is not None]
            ends = [r["load_end"] for r in runs.values() if r.get("load_end") is not None]
            load = f"{min(starts):.2f} / {max(ends):.2f}" if starts and ends else "n/a"
            head = f"| `{stem}` | {', '.join(runs)} | {wall} | {'; '.join(machines)} | {date} | {load} |"
            values = entry["summary"]["values"]
            if not values:
                lines.append(head + " (none recorded) | | |")
            for i, (key, st) in enumerate(values.items()):
                row = head if i == 0 else "| | | | | | |"
                spread = f"{_num(st['min'])}-{_num(st['max'])}" if st["n"] > 1 else "1 run"
                lines.append(f"{row} `{key}` | {_num(st['mean'])} +/- {_num(st['std'])} | {spread} |")
    return "\n".join(lines) + "\n"


def write_markdown(ledger_path: Path) -> Path:
    """Regenerate the Markdown table next to the ledger (under the ledger's lock)."""
    out = ledger_path.with_suffix(".md")
    with ledger.locked(ledger_path) as data:
        out.write_text(markdown(data), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--lessons", nargs="*", default=["all"],
                        help="lesson numbers or notebook stems (default: all)")  # fmt: skip
    parser.add_argument("--seeds", type=int, default=1, help="runs per notebook (seeds 42, 43, ...)")
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED)
    parser.add_argument("--profile", default=os.environ.get("TLCOURSE_PROFILE") or "cpu",
                        choices=PROFILES)  # fmt: skip
    parser.add_argument("--folder", type=Path, default=ROOT / "solutions")
    parser.add_argument("--ledger", type=Path, default=ledger.LEDGER)
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    lessons = [w for item in args.lessons for w in re.split(r"[\s,]+", item) if w]
    paths = select(lessons, args.folder)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    failures = []
    for path in paths:
        for seed in seeds:
            print(f"verify {path.stem} profile={args.profile} seed={seed} ...", flush=True)
            try:
                run = verify_one(path, profile=args.profile, seed=seed, ledger_path=args.ledger)
            except RunFailed as err:
                failures.append(f"{path.stem} seed {seed}: {str(err).splitlines()[0]}")
                print(f"FAILED {path.stem} seed {seed} (not merged): {err}", flush=True)
                continue
            shown = ", ".join(f"{k}={_num(v)}" for k, v in run["values"].items()) or "no numbers"
            print(f"ok     {path.stem} seed={seed} {run['seconds']:.1f} s "
                  f"(load {run['load_start']} -> {run['load_end']}): {shown}", flush=True)  # fmt: skip
    out = write_markdown(args.ledger)
    print(f"ledger: {args.ledger.relative_to(ROOT) if args.ledger.is_relative_to(ROOT) else args.ledger}"
          f", table: {out.name}")  # fmt: skip
    if failures:
        print(f"{len(failures)} run(s) failed:\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
