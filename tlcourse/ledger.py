"""The results ledger: headline numbers a lesson quotes, measured by ``make verify``.

A lesson records each number its text quotes with :func:`record`; ``make verify`` runs every
solution notebook over several seeds (``TLCOURSE_SEED``), collects what was recorded (the
notebook writes JSON lines to ``$TLCOURSE_RECORD``) and writes ``docs/results.json``: per profile
and notebook the wall time of each run and, per key, the mean, standard deviation, minimum and
maximum over seeds. :func:`check` then compares a new run with that ledger, within a tolerance
taken from the measured spread::

    acc = tl.ledger.record(cfg, "finetune_test_acc", acc)   # prints, and records under verify
    tl.ledger.check(cfg, "finetune_test_acc", acc, min_tol=0.01)

Where the ledger has no entry for this lesson, key and profile (the smoke profile, a new key, a
changed setup) :func:`check` says so and returns False: run ``make verify`` to measure it.

The file's shape (``make verify`` writes it through :func:`update` and :func:`merge_run`)::

    {"profiles": {"cpu": {"03_fine_tuning": {
        "lesson": "fine_tuning", "code": "<sha256 of the code cells and lesson TOML>",
        "runs": {"42": {"seconds", "date", "machine", "threads", "load_start", "load_end",
                        "values": {"key": value}}},
        "summary": {"seconds": {"mean", "min", "max", "n"},
                    "values": {"key": {"mean", "std", "min", "max", "n"}}}}}}}

Runs of an older version of a notebook (another ``code`` digest) are dropped when a new run is
merged, so a summary never mixes two versions of a lesson.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEDGER = Path(__file__).resolve().parent.parent / "docs" / "results.json"
MIN_RUNS = 3  # fewer seeds than this give no spread worth a tolerance


@dataclass(frozen=True)
class Expected:
    """One ledger entry: a number's mean and spread over ``n`` seeded runs."""

    mean: float
    std: float
    min: float
    max: float
    n: int

    def tolerance(self, min_tol: float = 0.0) -> float:
        """Allowed distance from the mean: the larger of the observed range, 3 std and ``min_tol``."""
        return max(min_tol, self.max - self.min, 3.0 * self.std)

    def __str__(self) -> str:
        return f"{self.mean:.3f} +/- {self.std:.3f} (range {self.min:.3f}-{self.max:.3f}, {self.n} seeds)"


def _profile_and_lesson(cfg: Any) -> tuple[str, str]:
    return str(cfg.profile), str(cfg.lesson)


def load(path: Path | None = None) -> dict[str, Any]:
    """The whole ledger (an empty one when the file does not exist yet)."""
    path = path or LEDGER
    if not path.is_file():
        return {"profiles": {}}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); restore it with git checkout.") from err


def record(cfg: Any, key: str, value: float, *, quiet: bool = False) -> float:
    """Record a headline number of the running lesson and return it unchanged.

    Prints ``key = value``. When ``$TLCOURSE_RECORD`` names a file (``make verify`` sets it), one
    JSON line ``{"lesson", "profile", "seed", "key", "value"}`` is appended to it.
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{key} = {value}: a headline number must be finite.")
    profile, lesson = _profile_and_lesson(cfg)
    if not quiet:
        print(f"{key} = {value:.4g}")
    target = os.environ.get("TLCOURSE_RECORD")
    if target:
        line = {"lesson": lesson, "profile": profile, "seed": int(cfg.seed), "key": key,
                "value": value}  # fmt: skip
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
    return value


def expected(cfg: Any, key: str, path: Path | None = None) -> Expected | None:
    """The ledger's entry for ``key`` in this lesson and profile, or None if it has none."""
    profile, lesson = _profile_and_lesson(cfg)
    notebooks = load(path).get("profiles", {}).get(profile, {})
    for entry in notebooks.values():
        if entry.get("lesson") != lesson:
            continue
        stats = entry.get("summary", {}).get("values", {}).get(key)
        if stats:
            return Expected(float(stats["mean"]), float(stats["std"]), float(stats["min"]),
                            float(stats["max"]), int(stats["n"]))  # fmt: skip
    return None


def check(cfg: Any, key: str, value: float, *, min_tol: float = 0.0, applies: bool = True,
          path: Path | None = None) -> bool:  # fmt: skip
    """Assert that ``value`` agrees with the ledger; True if compared, False if not applicable.

    ``applies=False`` (the learner changed the lesson's parameters) skips the comparison with a
    note, as does a ledger without at least ``MIN_RUNS`` seeded runs for this key and profile.
    """
    if not applies:
        print(f"{key}: parameters differ from the lesson's defaults; not compared with the ledger.")
        return False
    exp = expected(cfg, key, path)
    if exp is None or exp.n < MIN_RUNS:
        print(f"{key} = {float(value):.3f}: no ledger entry for the {cfg.profile} profile "
              f"(run `make verify` to measure one).")  # fmt: skip
        return False
    tol = exp.tolerance(min_tol)
    assert abs(float(value) - exp.mean) <= tol, (
        f"{key} = {float(value):.3f}, but the ledger measured {exp}; allowed distance {tol:.3f}. "
        "If you changed the code or the data, re-measure with `make verify`; otherwise report it."
    )
    print(f"{key} = {float(value):.3f}: within {tol:.3f} of the ledger's {exp}")
    return True


def table(cfg: Any, numbers: Mapping[str, float], *, min_tol: float = 0.0, applies: bool = True,
          path: Path | None = None) -> Any:  # fmt: skip
    """Record and :func:`check` each of ``numbers``; return them next to the ledger as a table.

    The result is a pandas Styler: per key this run's value, the ledger's mean, standard
    deviation, min and max, and its number of seeds (NaN and 0 where it has none yet).
    """
    import pandas as pd

    rows = {}
    for key, value in numbers.items():
        record(cfg, key, value, quiet=True)
        check(cfg, key, value, min_tol=min_tol, applies=applies, path=path)
        e = expected(cfg, key, path)
        nan = float("nan")
        rows[key] = {"this run": float(value), "ledger mean": e.mean if e else nan,
                     "std": e.std if e else nan, "min": e.min if e else nan,
                     "max": e.max if e else nan, "seeds": e.n if e else 0}  # fmt: skip
    frame = pd.DataFrame.from_dict(rows, orient="index")
    return frame.style.format("{:.3f}", subset=["this run", "ledger mean", "std", "min", "max"])


def seconds(notebook: str, profile: str, path: Path | None = None) -> dict[str, float] | None:
    """Measured wall time of one notebook (file stem) in one profile: mean/min/max/n, or None."""
    entry = load(path).get("profiles", {}).get(profile, {}).get(notebook)
    if not entry:
        return None
    return entry.get("summary", {}).get("seconds")


def stats(xs: list[float]) -> dict[str, float | int]:
    """Mean, sample standard deviation (0 for one value), min, max and count of ``xs``."""
    if not xs:
        raise ValueError("no values to summarise")
    std = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return {"mean": statistics.fmean(xs), "std": std, "min": min(xs), "max": max(xs), "n": len(xs)}


def summarize(runs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The summary of a notebook's runs: wall seconds (mean/min/max/n) and stats per key."""
    seconds = stats([float(r["seconds"]) for r in runs.values()])
    seconds.pop("std")
    keys = sorted({k for r in runs.values() for k in r["values"]})
    values = {k: stats([float(r["values"][k]) for r in runs.values() if k in r["values"]])
              for k in keys}  # fmt: skip
    return {"seconds": seconds, "values": values}


def merge_run(data: dict[str, Any], *, profile: str, notebook: str, lesson: str, code: str,
              seed: int, run: dict[str, Any]) -> str | None:  # fmt: skip
    """Put one successful run into ``data`` (in place) and recompute the notebook's summary.

    A run of the same seed replaces the old one. If the ledger's runs of this notebook were made
    with other code (``code`` digest differs), they are dropped; the returned note says so.
    """
    for field in ("seconds", "values"):
        if field not in run:
            raise ValueError(f"a run needs {field!r}; got {sorted(run)}")
    notebooks = data.setdefault("profiles", {}).setdefault(profile, {})
    entry = notebooks.get(notebook)
    note = None
    if entry is not None and entry.get("code") != code:
        stale = sorted(entry.get("runs", {}), key=int)
        note = (f"{notebook} ({profile}): its code changed since seeds {', '.join(stale)} were "
                "measured; those runs were dropped.")  # fmt: skip
        entry = None
    if entry is None:
        entry = {"lesson": lesson, "code": code, "runs": {}}
    entry["lesson"] = lesson
    entry["runs"][str(int(seed))] = dict(run)
    entry["runs"] = dict(sorted(entry["runs"].items(), key=lambda kv: int(kv[0])))
    entry["summary"] = summarize(entry["runs"])
    notebooks[notebook] = entry
    data["profiles"][profile] = dict(sorted(notebooks.items()))
    return note


def dump(data: Mapping[str, Any]) -> str:
    """The ledger as the committed text (sorted keys, one-space indent, trailing newline)."""
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


@contextmanager
def locked(path: Path | None = None, timeout: float = 600.0) -> Iterator[dict[str, Any]]:
    """Lock the ledger, yield its current content, and write it back (atomically) on success.

    Several ``make verify`` runs may finish at the same time: each re-reads the file under the
    lock, so none overwrites what another merged meanwhile. The lock is ``<ledger>.lock``.
    """
    from filelock import FileLock

    path = path or LEDGER
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=timeout):
        data = load(path)
        yield data
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(dump(data), encoding="utf-8")
        os.replace(tmp, path)
