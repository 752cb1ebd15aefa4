"""`make times`: write the measured times and numbers into the lessons and the README, from the ledger.

    python scripts/sync_times.py            # fill every time block; then `python -m tlcourse build`
    python scripts/sync_times.py --check    # exit 1 (and name them) if a block differs from the ledger

A lesson's markdown says ``**Time:** <!-- tl:time -->...<!-- /tl:time -->``; the text between the
markers becomes the wall time `make verify` measured for that notebook (docs/results.json) in
the smoke and cpu profiles, or "not yet measured". README.md's block between
``<!-- tl:times -->`` and ``<!-- /tl:times -->`` becomes a table of every lesson. Nobody types a
time by hand: a test fails when a block and the ledger disagree.

Numbers the prose quotes work the same way: ``<!-- tl:num SPEC -->...<!-- /tl:num -->`` becomes
what the ledger measured for that notebook in the cpu profile, over its seeds. SPEC is
``KEY`` or ``KEY-OTHER`` (the per-seed difference of two recorded numbers), optionally followed
by ``:FORMAT`` (``acc`` and ``mean`` take a digit for the decimal places, ``acc2``; default 3):

- ``acc`` (the default): ``0.793 +/- 0.008 (range 0.787-0.799)``, mean +/- sample std;
- ``mean``: ``0.793``;
- ``pts``: the value as accuracy points with its range, ``+2.0 points (from +1.2 to +2.7)``;
- ``ptsmean``: ``+2.0 points``;
- ``count``: a whole number, ``22,118`` (``22,048-22,158`` when the seeds differ);
- ``choice``: a chosen setting, ``128`` (``128 on 2 of 3 seeds, 96 on 1`` when the seeds differ).

``<!-- tl:seeds -->...<!-- /tl:seeds -->`` becomes ``3 seeds (42, 43, 44)``.

The ledger is validated when read (a NaN or infinite number is an error naming the field, never
"nan min" in a lesson), and every file is written atomically (``tl.ledger.write_atomic``): a failed
write leaves the old file and no temporary one.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tlcourse import ledger, lessons  # noqa: E402
from tlcourse.build import dump  # noqa: E402

TIME = re.compile(r"(<!-- tl:time -->)(.*?)(<!-- /tl:time -->)", re.S)
README_BEGIN, README_END = "<!-- tl:times -->", "<!-- /tl:times -->"
SHOWN = ("cpu", "smoke")
TABLE_FILES = ("README.md", "docs/instructor.md")
UNMEASURED = "not yet measured"
NUM = re.compile(r"(<!-- tl:num ([^>]*?) -->)(.*?)(<!-- /tl:num -->)", re.S)
SEEDS = re.compile(r"(<!-- tl:seeds -->)(.*?)(<!-- /tl:seeds -->)", re.S)
NUMBERS_PROFILE = "cpu"
FORMATS = ("acc", "mean", "pts", "ptsmean", "count", "choice")
FORMAT = re.compile(r"(acc|mean|pts|ptsmean|count|choice)(\d)?")


def duration(seconds: float) -> str:
    """``45 s`` under 90 seconds, else ``4.6 min``."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a wall time must be a finite number of seconds >= 0, got {seconds}")
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def runs_of(stem: str, profile: str, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ledger's runs of one notebook in one profile (``{seed: run}``, empty when none)."""
    return data.get("profiles", {}).get(profile, {}).get(stem, {}).get("runs", {})


def machine(stem: str, profile: str, data: dict[str, Any]) -> str | None:
    """The cores/GPU part of the machine the runs were measured on (``2 cores, no GPU``)."""
    runs = runs_of(stem, profile, data)
    kinds = sorted({r["machine"].split(", ", 1)[-1] for r in runs.values() if r.get("machine")})
    return " / ".join(kinds) or None


def profile_time(stem: str, profile: str, path: Path) -> str:
    """``cpu 4.6 min (4.4-4.9 min, 3 runs)``, ``smoke 45 s`` or ``cpu not yet measured``."""
    sec = ledger.seconds(stem, profile, path)
    if not sec:
        return f"{profile} {UNMEASURED}"
    text = f"{profile} {duration(sec['mean'])}"
    if sec["n"] > 1:
        text += f" ({duration(sec['min'])}-{duration(sec['max'])}, {sec['n']} runs)"
    return text


def busy_load(stem: str, data: dict[str, Any]) -> float | None:
    """The highest start load of the shown runs if it exceeds the cores (not an idle machine).

    ``make verify`` itself keeps the machine's cores busy (a 1-minute load near the thread count
    lingers from one notebook into the next), so only a load above the core count means that
    something else competed for the cores.
    """
    worst = None
    for profile in SHOWN:
        for r in runs_of(stem, profile, data).values():
            cores = re.search(r"(\d+) cores", r.get("machine", ""))
            load = r.get("load_start")
            if cores and load is not None and load > int(cores.group(1)):
                worst = max(worst or 0.0, load)
    return worst


def lesson_time(stem: str, path: Path) -> str:
    """The text of one lesson's time block."""
    data = ledger.load(path)
    parts = [profile_time(stem, p, path) for p in SHOWN]
    where = sorted({m for p in SHOWN if (m := machine(stem, p, data))})
    if not where:
        return "; ".join(parts)
    busy = busy_load(stem, data)
    note = f", busy: load average up to {busy:.1f}" if busy else ""
    return "; ".join(parts) + f" (measured by `make verify` on {' / '.join(where)}{note})"


def fill(text: str, value: str) -> str:
    """``text`` with every time block's content replaced by ``value``."""
    return TIME.sub(lambda m: m.group(1) + value + m.group(3), text)


def _signed(x: float) -> str:
    return f"{x:+.1f}"


def _fixed(x: float, places: int) -> str:
    return f"{x:.{places}f}"


def number_text(stem: str, spec: str, data: dict[str, Any]) -> str:
    """The text of one ``tl:num`` block: ``spec`` evaluated over the notebook's cpu runs."""
    expr, _, fmt = spec.strip().partition(":")
    m = FORMAT.fullmatch(fmt or "acc")
    if not m:
        raise SystemExit(f"{stem}: tl:num {spec!r}: unknown format {fmt!r} (one of {', '.join(FORMATS)}, "
                         "optionally followed by a digit: the decimal places)")
    fmt, places = m.group(1), int(m.group(2) or 3)
    keys = expr.split("-")
    if not 1 <= len(keys) <= 2 or not all(keys):
        raise SystemExit(f"{stem}: tl:num {spec!r}: write KEY or KEY-OTHER")
    runs = runs_of(stem, NUMBERS_PROFILE, data)
    xs = [r["values"][keys[0]] - (r["values"][keys[1]] if len(keys) == 2 else 0.0)
          for r in runs.values() if all(k in r["values"] for k in keys)]
    if not xs:
        return UNMEASURED
    st = ledger.stats(xs)
    if fmt == "choice":
        counts: dict[str, int] = {}
        for x in xs:
            counts[f"{x:g}"] = counts.get(f"{x:g}", 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        if len(ranked) == 1 and len(xs) == len(runs):
            return ranked[0][0]
        others = ", ".join(f"{v} on {n}" for v, n in ranked[1:])
        text = f"{ranked[0][0]} on {ranked[0][1]} of {len(runs)} seeds"
        return text + (f", {others}" if others else "")
    if fmt == "count":
        low, high = round(st["min"]), round(st["max"])
        return f"{low:,}" if low == high else f"{low:,}-{high:,}"
    if fmt in ("pts", "ptsmean"):
        text = f"{_signed(100 * st['mean'])} points"
        if fmt == "pts" and st["n"] > 1:
            text += f" (from {_signed(100 * st['min'])} to {_signed(100 * st['max'])})"
        return text
    mean = _fixed(st["mean"], places)
    if fmt == "mean" or st["n"] == 1:
        return mean
    low, high = _fixed(st["min"], places), _fixed(st["max"], places)
    span = f"{low} to {high}" if st["min"] < 0 else f"{low}-{high}"
    return f"{mean} +/- {_fixed(st['std'], places)} (range {span})"


def seeds_text(stem: str, data: dict[str, Any]) -> str:
    """``3 seeds (42, 43, 44)`` for the notebook's cpu runs."""
    seeds = sorted(runs_of(stem, NUMBERS_PROFILE, data), key=int)
    if not seeds:
        return f"no seeds ({UNMEASURED})"
    return f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} ({', '.join(seeds)})"


def fill_numbers(text: str, stem: str, data: dict[str, Any]) -> str:
    """``text`` with every ``tl:num`` and ``tl:seeds`` block filled from the ledger."""
    text = NUM.sub(lambda m: m.group(1) + number_text(stem, m.group(2), data) + m.group(4), text)
    return SEEDS.sub(lambda m: m.group(1) + seeds_text(stem, data) + m.group(3), text)


def readme_block(stems: list[str], path: Path) -> str:
    """README's generated table: one row per lesson, the smoke and cpu wall times."""
    rows = [README_BEGIN, "| notebook | cpu profile | smoke profile |", "|---|---|---|"]
    for stem in stems:
        cells = [profile_time(stem, p, path).removeprefix(p + " ") for p in SHOWN]
        rows.append(f"| `{stem}` | " + " | ".join(cells) + " |")
    return "\n".join(rows + [README_END])


def notebooks(root: Path) -> list[Path]:
    """The solution notebooks of the registry's lessons (:mod:`tlcourse.lessons`) under ``root``."""
    paths = [lesson.solution(root) for lesson in lessons.all_lessons()]
    missing = [str(p.relative_to(root)) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"the lesson registry names {', '.join(missing)}, which is missing: restore it "
                         "(git checkout), or remove the lesson's TOML from tlcourse/lessons/")
    return paths


def sync(root: Path = ROOT, path: Path | None = None, check: bool = False) -> list[str]:
    """Fill (or with ``check`` only compare) every block; return the files that were stale."""
    path = path or ledger.default_path()
    stale = []
    data = ledger.load(path)
    for nb_path in notebooks(root):
        text = nb_path.read_text(encoding="utf-8")
        nb = json.loads(text)
        before = dump(nb)  # its content in the course's one JSON form (the file may be in another)
        value = lesson_time(nb_path.stem, path)
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            new = fill_numbers(fill(src, value), nb_path.stem, data)
            if new != src:
                cell["source"] = new.splitlines(keepends=True) if isinstance(cell["source"], list) else new
        if dump(nb) != before:
            stale.append(str(nb_path.relative_to(root)))
            if not check:
                if nb_path.read_text(encoding="utf-8") != text:  # someone saved it meanwhile
                    raise SystemExit(f"{nb_path} changed while syncing; run `make times` again")
                ledger.write_atomic(nb_path, dump(nb))
    for name in TABLE_FILES:  # README's map and the instructor guide show the same table
        doc = root / name
        if not doc.is_file() and name != "README.md":
            continue
        text = doc.read_text(encoding="utf-8")
        start, end = text.find(README_BEGIN), text.find(README_END)
        if start < 0 or end < start:
            raise SystemExit(f"{name} has no {README_BEGIN} ... {README_END} block")
        new = text[:start] + readme_block([p.stem for p in notebooks(root)], path) + text[end + len(README_END):]
        if new != text:
            stale.append(name)
            if not check:
                ledger.write_atomic(doc, new)
    return stale


def missing_markers(root: Path = ROOT) -> list[str]:
    """Lessons whose first markdown cell has no time block."""
    out = []
    for nb_path in notebooks(root):
        cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
        first = next((c for c in cells if c["cell_type"] == "markdown"), None)
        src = "".join(first["source"]) if first else ""
        if not TIME.search(src):
            out.append(nb_path.name)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report stale blocks")
    args = parser.parse_args(argv)
    try:
        stale = sync(check=args.check)
    except ledger.LedgerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name in missing_markers():
        print(f"note: {name} has no `<!-- tl:time -->...<!-- /tl:time -->` block in its first cell")
    if args.check and stale:
        print("times or numbers differ from docs/results.json in: " + ", ".join(stale) + "; run `make times`")
        return 1
    print(("updated: " + ", ".join(stale)) if stale else "all time and number blocks match docs/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
