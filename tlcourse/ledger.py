"""The results ledger: headline numbers a lesson quotes, measured by ``make verify``.

A lesson records each number its text quotes with :func:`record`; ``make verify`` runs every
solution notebook over several seeds (``TLCOURSE_SEED``), collects what was recorded (the
notebook writes JSON lines to ``$TLCOURSE_RECORD``) and writes ``docs/results.json``: per profile
and notebook the wall time of each run and, per key, the mean, standard deviation, minimum and
maximum over seeds. :func:`check` then compares a new run with that ledger, within a tolerance
taken from the measured spread::

    acc = tl.ledger.record(cfg, "finetune_test_acc", acc)   # prints, and records under verify
    tl.ledger.check(cfg, "finetune_test_acc", acc, min_tol=0.01)

Where the ledger has fewer than ``MIN_RUNS`` (3) runs for this lesson, key and profile (a new key,
a changed setup) :func:`check` says so and returns False: run ``make verify`` to measure it. The
allowed distance is a prediction interval for one new run (``tlcourse/claims.py``): with 3 seeds it
is wide, because 3 seeds barely measure a spread. A comparison ("A beats B") is :func:`claim`: the
course's rule over the ledger's paired per-seed runs (docs/claims.md).

``$TLCOURSE_LEDGER`` names another ledger file (``make verify --ledger`` sets it for the notebooks
it runs; tests and trials use it to leave docs/results.json alone). Every read is validated
(:func:`validate`): a damaged ledger is an error that names the file and the field, never a number
believed.

The file's shape (``make verify`` writes it through :func:`update` and :func:`merge_run`)::

    {"profiles": {"cpu": {"03_fine_tuning": {
        "lesson": "fine_tuning", "code": "<sha256: code cells, lesson TOML, modules, stack>",
        "modules": ["tlcourse.train", ...],  # the tlcourse modules the kernel had imported
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
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import claims
from .claims import Claim
from .locks import LockTimeout, hold

LEDGER = Path(__file__).resolve().parent.parent / "docs" / "results.json"
MIN_RUNS = 3  # fewer seeds than this give no spread worth a tolerance
RESTORE = "restore it with `git checkout docs/results.json` or re-measure with `make verify`"


class LedgerError(ValueError):
    """The ledger file is damaged; the message names the file, the field and what to do."""


_THIS_RUN: dict[tuple[str, str, str], float] = {}  # (profile, lesson, key) -> value recorded in this process


@dataclass(frozen=True)
class Expected:
    """One ledger entry: a number's mean and spread over ``n`` seeded runs."""

    mean: float
    std: float
    min: float
    max: float
    n: int

    def tolerance(self, min_tol: float = 0.0) -> float:
        """Allowed distance of one new run from the mean: the prediction interval of ``tlcourse.claims``.

        ``t(1 - 0.0000833 / 2, n - 1) * std * sqrt(1 + 1/n)``, at least ``min_tol``: a lesson of up
        to 60 checks fails by chance in at most 1 run in 200 (t = 109.5 for 3 seeds, 16.3 for 5).
        """
        return claims.prediction_tolerance(self.std, self.n, min_tol)

    def __str__(self) -> str:
        return f"{self.mean:.3f} +/- {self.std:.3f} (range {self.min:.3f}-{self.max:.3f}, {self.n} seeds)"


def _profile_and_lesson(cfg: Any) -> tuple[str, str]:
    return str(cfg.profile), str(cfg.lesson)


def default_path() -> Path:
    """The ledger in use: ``$TLCOURSE_LEDGER`` if set, else docs/results.json."""
    env = os.environ.get("TLCOURSE_LEDGER", "").strip()
    return Path(env) if env else LEDGER


_ENTRY_FIELDS = {"lesson", "code", "modules", "stack", "runs", "summary"}
_RUN_FIELDS = {"seconds", "date", "machine", "threads", "load_start", "load_end", "values"}
_STAT_FIELDS = {"mean", "std", "min", "max", "n"}


def _number(value: Any, where: str, *, minimum: float | None = None, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LedgerError(f"{where} = {value!r}: must be a finite number")
    if minimum is not None and value < minimum:
        raise LedgerError(f"{where} = {value!r}: must be >= {minimum:g}")


def _table(value: Any, where: str, fields: set[str] | None = None, required: set[str] = frozenset()) -> dict:
    if not isinstance(value, dict):
        raise LedgerError(f"{where}: must be a JSON object, got {type(value).__name__}")
    if fields is not None and (unknown := sorted(set(value) - fields)):
        raise LedgerError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(fields))})")
    if missing := sorted(required - set(value)):
        raise LedgerError(f"{where}: missing field(s) {', '.join(missing)}")
    return value


def _stats(value: Any, where: str, fields: set[str]) -> None:
    st = _table(value, where, fields, fields)
    for field in sorted(fields - {"n"}):
        _number(st[field], f"{where}.{field}", minimum=0.0 if field == "std" else None)
    n = st["n"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise LedgerError(f"{where}.n = {n!r}: must be a whole number >= 1")


def validate(data: Any) -> dict[str, Any]:
    """``data`` if it has the ledger's shape (module docstring) with finite numbers; else LedgerError."""
    top = _table(data, "the top level", {"profiles"}, {"profiles"})
    for profile, notebooks in _table(top["profiles"], "profiles").items():
        for stem, entry in _table(notebooks, f"profiles.{profile}").items():
            at = f"profiles.{profile}.{stem}"
            _table(entry, at, _ENTRY_FIELDS, {"lesson", "code", "runs", "summary"})
            for field in ("lesson", "code"):
                if not isinstance(entry[field], str):
                    raise LedgerError(f"{at}.{field} = {entry[field]!r}: must be a string")
            mods = entry.get("modules", [])
            if not isinstance(mods, list) or not all(isinstance(m, str) for m in mods):
                raise LedgerError(f"{at}.modules: must be a list of module names")
            stack = entry.get("stack", [])
            if not isinstance(stack, list) or not all(isinstance(p, str) and "==" in p for p in stack):
                raise LedgerError(f"{at}.stack: must be a list of name==version pins")
            for seed, run in _table(entry["runs"], f"{at}.runs").items():
                if not seed.isdigit():
                    raise LedgerError(f"{at}.runs: {seed!r} is not a seed (a whole number)")
                r = _table(run, f"{at}.runs.{seed}", _RUN_FIELDS, {"seconds", "values"})
                _number(r["seconds"], f"{at}.runs.{seed}.seconds", minimum=0.0)
                for field in ("load_start", "load_end"):
                    _number(r.get(field), f"{at}.runs.{seed}.{field}", optional=True)
                for key, value in _table(r["values"], f"{at}.runs.{seed}.values").items():
                    _number(value, f"{at}.runs.{seed}.values.{key}")
            summary = _table(entry["summary"], f"{at}.summary", {"seconds", "values"}, {"seconds", "values"})
            _stats(summary["seconds"], f"{at}.summary.seconds", _STAT_FIELDS - {"std"})
            for key, st in _table(summary["values"], f"{at}.summary.values").items():
                _stats(st, f"{at}.summary.values.{key}", _STAT_FIELDS)
    return data


def load(path: Path | None = None) -> dict[str, Any]:
    """The whole ledger, validated (an empty one when the file does not exist yet)."""
    path = path or default_path()
    if not path.is_file():
        return {"profiles": {}}
    try:
        return validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise LedgerError(f"{path} is not valid JSON ({err}); {RESTORE}.") from None
    except LedgerError as err:
        raise LedgerError(f"{path}: the ledger is damaged: {err}; {RESTORE}.") from None


def record(cfg: Any, key: str, value: float, *, quiet: bool = False) -> float:
    """Record a headline number of the running lesson and return it unchanged.

    Prints ``key = value``. When ``$TLCOURSE_RECORD`` names a file (``make verify`` sets it), one
    JSON line ``{"lesson", "profile", "seed", "key", "value"}`` is appended to it. When a learner
    runs the lesson from the workspace, the number also goes to their own file
    (:func:`tlcourse.interview.remember`).
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{key} = {value}: a headline number must be finite.")
    profile, lesson = _profile_and_lesson(cfg)
    _THIS_RUN[(profile, lesson, key)] = value
    if not quiet:
        print(f"{key} = {value:.4g}")
    target = os.environ.get("TLCOURSE_RECORD")
    if target:
        line = {"lesson": lesson, "profile": profile, "seed": int(cfg.seed), "key": key,
                "value": value}
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
    from .interview import remember  # the learner's own numbers, for lesson 08's evidence cards

    remember(lesson, profile, int(cfg.seed), key, value)
    return value


def _entries(cfg: Any, path: Path | None) -> list[dict[str, Any]]:
    profile, lesson = _profile_and_lesson(cfg)
    notebooks = load(path)["profiles"].get(profile, {})
    return [entry for entry in notebooks.values() if entry["lesson"] == lesson]


def expected(cfg: Any, key: str, path: Path | None = None) -> Expected | None:
    """The ledger's entry for ``key`` in this lesson and profile, or None if it has none."""
    for entry in _entries(cfg, path):
        stats = entry["summary"]["values"].get(key)
        if stats:
            return Expected(float(stats["mean"]), float(stats["std"]), float(stats["min"]),
                            float(stats["max"]), int(stats["n"]))
    return None


def per_seed(cfg: Any, key: str, path: Path | None = None) -> dict[str, float]:
    """``{seed: value}`` of ``key`` over the ledger's runs of this lesson and profile (empty if none)."""
    for entry in _entries(cfg, path):
        found = {seed: float(r["values"][key]) for seed, r in entry["runs"].items() if key in r["values"]}
        if found:
            return found
    return {}


def check(cfg: Any, key: str, value: float, *, min_tol: float = 0.0, applies: bool = True,
          path: Path | None = None) -> bool:
    """Assert that ``value`` agrees with the ledger; True if compared, False if not applicable.

    ``applies=False`` (the learner changed the lesson's parameters) skips the comparison with a
    note, as does a ledger without at least ``MIN_RUNS`` seeded runs for this key and profile.
    """
    if not applies:
        print(f"{key}: parameters differ from the lesson's defaults; not compared with the ledger.")
        return False
    exp = expected(cfg, key, path)
    if exp is None or exp.n < MIN_RUNS:
        seeds = f"{exp.n} seed(s)" if exp else "no entry"
        print(f"{key} = {float(value):.3f}: the ledger has {seeds} for the {cfg.profile} profile, "
              f"fewer than {MIN_RUNS}: not compared (run `make verify SEEDS={MIN_RUNS}` to measure).")
        return False
    tol = exp.tolerance(min_tol)
    assert abs(float(value) - exp.mean) <= tol, (
        f"{key} = {float(value):.3f}, but the ledger measured {exp}; allowed distance {tol:.3f} "
        "(a prediction interval for a new run). If you changed the code or the data, re-measure "
        "with `make verify`; otherwise report it."
    )
    print(f"{key} = {float(value):.3f}: within {tol:.3f} of the ledger's {exp}")
    return True


def claim(cfg: Any, a: str, b: str | float = 0.0, *, expect: str, this_run: float | None = None,
          min_tol: float = 0.0, applies: bool = True, path: Path | None = None) -> Claim:
    """The course's rule for "A beats B" (:func:`tlcourse.claims.robust`) over the ledger's seeds.

    ``a`` and ``b`` are recorded keys of this lesson (``b`` may be a number, e.g. 0 for a gain),
    paired by seed over the ledger's runs in this profile. Prints the verdict with the effect's
    spread. ``expect`` is what the lesson's text says (``"A>B"``, ``"B>A"`` or ``"no reliable
    difference"``): with at least 5 paired seeds the ledger's verdict must be it (else the text is
    stale: re-measure, then rewrite the claim); with fewer, nothing is asserted. This run's
    ``a - b`` (``this_run``; default: from what this kernel recorded under both keys) is then checked
    like one number (:func:`check`) against the ledger's differences: a single run is never asked
    to show the order by itself.
    """
    if expect not in claims.VERDICTS[:3]:
        raise ValueError(f"expect={expect!r}: one of {', '.join(claims.VERDICTS[:3])}")
    if this_run is None:
        here = [_THIS_RUN.get((*_profile_and_lesson(cfg), k)) if isinstance(k, str) else float(k) for k in (a, b)]
        this_run = here[0] - here[1] if None not in here else None
    runs_a = per_seed(cfg, a, path)
    runs_b = per_seed(cfg, b, path) if isinstance(b, str) else float(b)
    result = claims.robust(runs_a, runs_b, names=(a, str(b)))
    print(f"ledger ({cfg.profile} profile): {result}")
    if not applies:
        print("  parameters differ from the lesson's defaults: the claim is not checked.")
        return result
    if result.verdict == claims.TOO_FEW:
        print(f"  the text says {expect!r}; {result.n} paired seed(s) cannot show it: not asserted.")
    else:
        assert result.verdict == expect, (
            f"the text says {a} vs {b}: {expect!r}, but the ledger's seeds say {result.verdict!r} ({result}). "
            "If you changed the lesson, re-measure with `make verify SEEDS=5`, then rewrite the claim "
            "by the rule in docs/claims.md."
        )
    if this_run is not None and result.n >= MIN_RUNS:
        tol = claims.prediction_tolerance(result.std, result.n, min_tol)
        assert abs(float(this_run) - result.mean) <= tol, (
            f"this run's {a} - {b} = {float(this_run):+.3f}, but the ledger's seeds give "
            f"{result.mean:+.3f} +/- {result.std:.3f} ({result.n} seeds); allowed distance {tol:.3f}. "
            "If you changed the code or the data, re-measure with `make verify`; otherwise report it."
        )
        print(f"  this run: {float(this_run):+.3f}, within {tol:.3f} of the ledger's mean difference")
    return result


def table(cfg: Any, numbers: Mapping[str, float], *, min_tol: float = 0.0, applies: bool = True,
          path: Path | None = None) -> Any:
    """Record and :func:`check` each of ``numbers``; return them next to the ledger as a table.

    The result is a pandas Styler: per key this run's value and the ledger's :func:`spread` (mean,
    standard deviation, min and max over its seeds, and their number; NaN and 0 where it has none yet).
    """
    for key, value in numbers.items():
        record(cfg, key, value, quiet=True)
        check(cfg, key, value, min_tol=min_tol, applies=applies, path=path)
    frame = spread(cfg, list(numbers), path)
    frame.insert(0, "this run", [float(v) for v in numbers.values()])
    return frame.style.format("{:.3f}", subset=["this run", *SPREAD[:4]])


SPREAD = ("ledger mean", "std", "min", "max", "seeds")  # the columns of :func:`spread`


def spread(cfg: Any, keys: Iterable[str] | Mapping[Any, str], path: Path | None = None) -> Any:
    """The ledger's numbers for ``keys`` (this lesson, ``cfg``'s profile) as a pandas DataFrame, one
    row per key: mean, standard deviation, min and max over its seeds and their number (NaN and 0
    where it has none yet). Only reads the ledger (:func:`table` also records and checks).

    A mapping ``{row label: key}`` labels the rows, so the columns join onto a lesson's own table
    (``results.join(tl.ledger.spread(cfg, {(size, method): key, ...}))``; tuple labels give a
    MultiIndex).
    """
    import pandas as pd

    labels = dict(keys) if isinstance(keys, Mapping) else {key: key for key in keys}
    nan = float("nan")
    rows = []
    for key in labels.values():
        e = expected(cfg, key, path)
        rows.append((e.mean, e.std, e.min, e.max, e.n) if e else (nan, nan, nan, nan, 0))
    index = pd.MultiIndex.from_tuples(labels) if labels and all(isinstance(k, tuple) for k in labels) \
        else pd.Index(list(labels))
    return pd.DataFrame(rows, index=index, columns=list(SPREAD))


def seconds(notebook: str, profile: str, path: Path | None = None) -> dict[str, float] | None:
    """Measured wall time of one notebook (file stem) in one profile: mean/min/max/n, or None."""
    entry = load(path)["profiles"].get(profile, {}).get(notebook)
    if not entry:
        return None
    return entry["summary"]["seconds"]


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
              for k in keys}
    return {"seconds": seconds, "values": values}


def merge_run(data: dict[str, Any], *, profile: str, notebook: str, lesson: str, code: str,
              seed: int, run: dict[str, Any], modules: list[str] | None = None,
              stack: list[str] | None = None) -> str | None:
    """Put one successful run into ``data`` (in place) and recompute the notebook's summary.

    A run of the same seed replaces the old one. If the ledger's runs of this notebook were made
    with other code (``code`` digest differs), they are dropped; the returned note says so.
    ``modules`` (the ``tlcourse`` modules the run imported) and ``stack`` (the installed versions of
    the locked pins), both part of the digest, are stored with them.
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
                "measured; those runs were dropped.")
        entry = None
    if entry is None:
        entry = {"lesson": lesson, "code": code, "runs": {}}
    entry["lesson"] = lesson
    if modules is not None:
        entry["modules"] = sorted(modules)
    if stack is not None:
        entry["stack"] = sorted(stack)
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
    lock, so none overwrites what another merged meanwhile. The lock is ``<ledger>.lock``
    (:func:`tlcourse.locks.hold`: removed on release, released when its process dies).
    """
    path = path or default_path()
    lock = path.with_name(path.name + ".lock")
    held = False
    try:
        with hold(lock, timeout, waiting=f"waiting for another process writing {path.name} ..."):
            held = True
            data = load(path)
            yield data
            write_atomic(path, dump(validate(data)))
    except LockTimeout as exc:
        if held:
            raise
        raise LedgerError(f"{exc}: another `make verify` (or `make times`) is writing the ledger; "
                          "wait for it to finish and retry.") from None


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file next to it (``.NAME.PID.tmp``, git-ignored).

    On any failure (a full disk included) the temporary file is removed and ``path`` keeps its old
    content.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
