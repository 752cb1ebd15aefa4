"""The claim rule (tlcourse/claims.py): hand-computed cases for "A beats B" and the prediction interval."""

from __future__ import annotations

import math

import pytest

from tlcourse import claims


def test_a_robust_gain_needs_five_seeds_the_same_sign_and_three_standard_errors():
    # differences 0.02, 0.03, 0.04, 0.05, 0.06: mean 0.04, sd 0.0158, se 0.00707, 5.66 se
    c = claims.robust([0.82, 0.83, 0.84, 0.85, 0.86], [0.80] * 5, names=("fine-tune", "scratch"))
    assert c.verdict == "A>B" and c.n == 5 and (c.positive, c.negative) == (5, 0)
    assert c.mean == pytest.approx(0.04) and c.std == pytest.approx(math.sqrt(0.00025))
    assert c.se_units == pytest.approx(0.04 / (math.sqrt(0.00025) / math.sqrt(5)))
    assert str(c) == ("fine-tune - scratch: +0.040 +/- 0.016 (range +0.020 to +0.060, 5 seeds; fine-tune higher "
                      "on 5, lower on 0, 5.7 standard errors): fine-tune beats scratch")
    assert claims.robust([0.80] * 5, [0.82, 0.83, 0.84, 0.85, 0.86]).verdict == "B>A"


def test_one_seed_of_the_other_sign_or_a_small_mean_is_no_reliable_difference():
    flip = claims.robust([0.05, 0.06, 0.07, 0.08, -0.001], 0.0)  # the seed-45 situation: one flips
    assert flip.verdict == "no reliable difference" and (flip.positive, flip.negative) == (4, 1)
    assert "no reliable difference at this size" in str(flip)
    # same sign everywhere but one outlier: mean 0.2008, sd 0.4468, se 0.1998 -> 1.005 se < 3
    outlier = claims.robust([0.001, 0.001, 0.001, 0.001, 1.0], 0.0)
    assert outlier.positive == 5 and outlier.se_units == pytest.approx(1.005, abs=1e-3)
    assert outlier.verdict == "no reliable difference"
    assert claims.robust([0.0] * 6, 0.0).verdict == "no reliable difference"


def test_too_few_seeds_never_claims_an_order():
    c = claims.robust([0.9, 0.9, 0.9, 0.9], [0.1, 0.1, 0.1, 0.1])
    assert c.verdict == "too few seeds" and not c.holds and "a claim needs 5" in str(c)
    assert str(claims.robust([], [])) == "A vs B: no paired seeds"


def test_seeds_are_paired_by_name_and_bad_input_is_refused():
    a = {"42": 1.5, "43": 2.5, "44": 3.5, "45": 4.5, "46": 5.5, "47": 6.5}
    b = {"42": 1.0, "43": 2.0, "44": 3.0, "45": 4.0, "46": 5.0}  # 47 has no partner
    c = claims.robust(a, b)
    assert c.n == 5 and c.mean == 0.5 and c.std == 0.0
    assert c.verdict == "A>B" and c.se_units == math.inf and "the same difference on every seed" in str(c)
    with pytest.raises(ValueError, match="as many values"):
        claims.robust([1.0, 2.0], [1.0])
    with pytest.raises(TypeError, match="both"):
        claims.robust(a, [1.0])
    with pytest.raises(ValueError, match="not finite"):
        claims.robust([1.0, math.nan, 1.0, 1.0, 1.0], 0.0)


def test_the_prediction_interval_is_sized_for_sixty_checks_per_lesson():
    assert claims.ALPHA == pytest.approx(0.005 / 60)
    # t(1 - 0.0000417, df): 109.54 (df 2), 16.28 (df 4); times sqrt(1 + 1/n)
    assert claims.prediction_tolerance(0.01, 3) == pytest.approx(0.01 * 109.54 * math.sqrt(4 / 3), rel=1e-3)
    assert claims.prediction_tolerance(0.01, 5) == pytest.approx(0.01 * 16.28 * math.sqrt(6 / 5), rel=1e-3)
    assert claims.prediction_tolerance(0.0, 5, min_tol=0.02) == 0.02  # the floor
    with pytest.raises(ValueError, match="at least 2"):
        claims.prediction_tolerance(0.01, 1)
    with pytest.raises(ValueError, match="finite"):
        claims.prediction_tolerance(math.inf, 5)


def test_a_lesson_of_sixty_checks_fails_by_chance_in_under_one_run_in_a_hundred():
    """Simulation: 60 independent normal numbers, each checked against 5 earlier runs."""
    import numpy as np

    rng = np.random.default_rng(0)
    trials = 20000
    past = rng.normal(size=(trials, 60, 5))
    new = rng.normal(size=(trials, 60))
    tol = claims.prediction_tolerance(1.0, 5) * past.std(axis=2, ddof=1)  # linear in the std
    failed = (np.abs(new - past.mean(axis=2)) > tol).any(axis=1).mean()
    assert 0.002 < failed < 0.008, failed  # 0.005 by construction
    old = np.maximum(np.ptp(past, axis=2), 3 * past.std(axis=2, ddof=1))  # the old rule: max(range, 3 std)
    assert (np.abs(new - past.mean(axis=2)) > old).any(axis=1).mean() > 0.9  # 88-99% of such lessons failed by chance
