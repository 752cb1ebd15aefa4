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
"""

from __future__ import annotations

import json
import math
import os
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


def seconds(notebook: str, profile: str, path: Path | None = None) -> dict[str, float] | None:
    """Measured wall time of one notebook (file stem) in one profile: mean/min/max/n, or None."""
    entry = load(path).get("profiles", {}).get(profile, {}).get(notebook)
    if not entry:
        return None
    return entry.get("summary", {}).get("seconds")
