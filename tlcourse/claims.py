"""The course's rule for what a lesson may claim from seeded runs, written once (docs/claims.md).

Two kinds of statement, two rules:

* **"A beats B"** (:func:`robust`): only from paired per-seed differences ``a_s - b_s`` over at
  least ``MIN_SEEDS`` (5) seeds, with the same sign on every seed and a mean at least ``MIN_SE``
  (3) standard errors from zero. Anything less is "no reliable difference" (with fewer than 5
  seeds: "too few seeds"), and the lesson then asserts nothing about the order.
* **"this run's number agrees with the ledger"** (:func:`prediction_tolerance`): a prediction
  interval for one new run, ``t(1 - ALPHA / 2, n - 1) * s * sqrt(1 + 1 / n)``, never below the
  check's ``min_tol``. ``ALPHA`` is sized for a lesson of up to ``LESSON_CHECKS`` (60) checks to
  fail by chance in at most ``LESSON_FALSE_FAILURE`` (1 in 200) runs on a new seed (Bonferroni:
  0.005 / 60 = 0.0000833 per check; conservative whatever the checks' correlation). The
  t-quantile is 109.5 for 3 seeds, 16.3 for 5, 8.1 for 8 and 6.7 for 10: with 3 seeds the spread
  is barely known, and the interval says so.

Both assume the per-seed numbers are independent draws around a fixed mean (each seed draws other
data splits and another initialisation) and roughly normal.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MIN_SEEDS = 5  # paired seeds a comparison needs before it may be claimed
MIN_SE = 3.0  # the mean difference must be this many standard errors from zero
LESSON_CHECKS = 60  # checks a lesson may hold (lesson 01 has 54) ...
LESSON_FALSE_FAILURE = 0.005  # ... and the chance that any of them fails on a new seed by chance
ALPHA = LESSON_FALSE_FAILURE / LESSON_CHECKS  # per check, two-sided: 0.0000833

A_WINS, B_WINS, NO_DIFFERENCE, TOO_FEW = "A>B", "B>A", "no reliable difference", "too few seeds"
VERDICTS = (A_WINS, B_WINS, NO_DIFFERENCE, TOO_FEW)


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"a t quantile needs df >= 1, got {df}")
    # scipy comes with scikit-learn; imported here to keep `import tlcourse` cheap
    from scipy import stats

    return float(stats.t.ppf(p, df))


def prediction_tolerance(std: float, n: int, min_tol: float = 0.0, alpha: float = ALPHA) -> float:
    """Half-width of the two-sided ``1 - alpha`` prediction interval for one new run, floored at ``min_tol``.

    ``std`` is the sample standard deviation of ``n`` earlier runs (n >= 2).
    """
    if n < 2:
        raise ValueError(f"a prediction interval needs at least 2 runs, got {n}")
    if not (math.isfinite(std) and std >= 0):
        raise ValueError(f"std must be a finite number >= 0, got {std}")
    return max(float(min_tol), t_quantile(1 - alpha / 2, n - 1) * std * math.sqrt(1 + 1 / n))


@dataclass(frozen=True)
class Claim:
    """What paired per-seed runs say about "A beats B"; ``str()`` is a sentence a lesson can print."""

    a: str
    b: str
    verdict: str  # one of VERDICTS
    mean: float  # mean of the per-seed differences a - b (NaN without seeds)
    std: float  # their sample standard deviation (0 for one seed, NaN without seeds)
    n: int  # paired seeds
    positive: int  # seeds where a > b
    negative: int  # seeds where a < b
    min: float
    max: float

    @property
    def se_units(self) -> float:
        """The mean difference in standard errors (inf when every seed gave the same nonzero difference)."""
        if self.n < 2 or not math.isfinite(self.mean):
            return math.nan
        se = self.std / math.sqrt(self.n)
        if se == 0:
            return math.inf if self.mean != 0 else 0.0
        return abs(self.mean) / se

    @property
    def holds(self) -> bool:
        """True when the runs support an order (either way)."""
        return self.verdict in (A_WINS, B_WINS)

    def __str__(self) -> str:
        if self.n == 0:
            return f"{self.a} vs {self.b}: no paired seeds"
        spread = (f"{self.mean:+.3f} +/- {self.std:.3f} (range {self.min:+.3f} to {self.max:+.3f}, "
                  f"{self.n} seeds; {self.a} higher on {self.positive}, lower on {self.negative}")
        se = self.se_units
        spread += (f", {se:.1f} standard errors)" if math.isfinite(se) else
                   ", the same difference on every seed)" if se == math.inf else ")")
        head = f"{self.a} - {self.b}: {spread}: "
        if self.verdict == A_WINS:
            return head + f"{self.a} beats {self.b}"
        if self.verdict == B_WINS:
            return head + f"{self.b} beats {self.a}"
        if self.verdict == TOO_FEW:
            return head + f"too few seeds to claim an order (a claim needs {MIN_SEEDS})"
        return head + "no reliable difference at this size"


def _pairs(a: Mapping[str, float] | Sequence[float], b: Mapping[str, float] | Sequence[float]) -> list[float]:
    if isinstance(a, Mapping) != isinstance(b, Mapping):
        raise TypeError("give both runs as {seed: value} mappings or both as sequences")
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        seeds = [s for s in a if s in b]
        return [float(a[s]) - float(b[s]) for s in seeds]
    if len(a) != len(b):
        raise ValueError(f"paired runs need as many values of A as of B: {len(a)} and {len(b)}")
    return [float(x) - float(y) for x, y in zip(a, b, strict=True)]


def robust(a: Mapping[str, float] | Sequence[float], b: Mapping[str, float] | Sequence[float] | float = 0.0,
           *, names: tuple[str, str] = ("A", "B")) -> Claim:
    """Does A beat B over paired seeded runs? The course's rule (module docstring), as a :class:`Claim`.

    ``a`` and ``b`` are per-seed values: two ``{seed: value}`` mappings (paired by seed; seeds in
    only one are ignored) or two equally long sequences (paired by position). ``b`` may be a
    number (compare A with a constant, e.g. a gain with 0).
    """
    if isinstance(b, int | float):
        b = {s: float(b) for s in a} if isinstance(a, Mapping) else [float(b)] * len(a)
    diffs = _pairs(a, b)
    if not all(math.isfinite(d) for d in diffs):
        raise ValueError(f"{names[0]} - {names[1]}: a per-seed value is not finite: {diffs}")
    n = len(diffs)
    nan = math.nan
    mean = statistics.fmean(diffs) if diffs else nan
    std = statistics.stdev(diffs) if n > 1 else (0.0 if n else nan)
    claim = Claim(names[0], names[1], TOO_FEW, mean, std, n, sum(d > 0 for d in diffs),
                  sum(d < 0 for d in diffs), min(diffs, default=nan), max(diffs, default=nan))
    if n < MIN_SEEDS:
        return claim
    same_sign = claim.positive == n or claim.negative == n
    verdict = NO_DIFFERENCE
    if same_sign and claim.se_units >= MIN_SE:
        verdict = A_WINS if mean > 0 else B_WINS
    return Claim(**{**claim.__dict__, "verdict": verdict})
