"""Exercise checks for the LSTM forecasting lesson (06).

Each function is a factory, like every lesson's checks: it returns ``test(answer)`` -> ``None`` when the
answer is right, else a message explaining the mistake; pass it as the ``test`` of
:func:`tlcourse.checks.exercise`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import Test, chosen_on_validation


def window_count(n_steps: int, lookback: int, horizon: int) -> Test:
    """Check the number of stride-1 windows of ``lookback`` inputs + ``horizon`` targets in
    ``n_steps`` values: ``n_steps - lookback - horizon + 1`` (0 if the window does not fit)."""

    def test(answer: Any) -> str | None:
        if isinstance(answer, bool) or not isinstance(answer, int | np.integer):
            return f"answer with an int (a number of windows), got {type(answer).__name__}."
        expected = max(0, n_steps - lookback - horizon + 1)
        if answer == expected:
            return None
        if answer == expected - 1:
            return (f"{answer} is one short: with n values, the last window starts at index "
                    f"n - lookback - horizon, so there are n - lookback - horizon + 1 of them.")
        if answer == n_steps - lookback + 1 or answer == n_steps - lookback:
            return f"{answer} forgets the horizon: every window also needs {horizon} target values after its inputs."
        if answer == n_steps // (lookback + horizon):
            return f"{answer} counts non-overlapping windows; make_windows slides by one step (stride 1)."
        return f"{answer} is not the number of windows ({expected} expected)."

    return test


def lstm_trainable(model: Any, frozen: tuple[int, ...]) -> Test:
    """Check the trainable parameter count of a Keras ``LSTM -> LSTM -> Dense`` model when the
    layers at the indices ``frozen`` are frozen. An LSTM of ``u`` units on ``d`` inputs has
    ``4 * u * (d + u + 1)`` parameters (4 gates, each with input weights, recurrent weights, bias)."""

    def test(answer: Any) -> str | None:
        if isinstance(answer, bool) or not isinstance(answer, int | np.integer):
            return f"answer with an int (a number of parameters), got {type(answer).__name__}."
        sizes = [layer.count_params() for layer in model.layers]
        expected = sum(n for i, n in enumerate(sizes) if i not in frozen)
        if answer == expected:
            return None
        if answer == sum(sizes):
            return f"{answer:,} counts every parameter; the frozen layers' parameters do not train."
        if answer == sum(sizes[i] for i in frozen):
            return f"{answer:,} counts the frozen layers; the question asks for the trainable ones."
        units = [getattr(layer, "units", None) for layer in model.layers]
        if any(u and answer == expected - 4 * u for u in units):
            return f"{answer:,} misses the biases: each of an LSTM's 4 gates has one bias per unit."
        return (f"{answer:,} is not the trainable count ({expected:,} expected); an LSTM of u units on "
                f"d inputs has 4 * u * (d + u + 1) parameters, a Dense layer d * out + out.")

    return test


def train_only_scaler(parts: Mapping[str, Any]) -> Test:
    """Check ``(mean, std)`` of a standard scaler fitted on ``parts['train']`` only (population
    std, as :class:`tlcourse.data.series.Scaler` computes it)."""

    def test(answer: Any) -> str | None:
        try:
            mean, std = (float(v) for v in answer)
        except (TypeError, ValueError):
            return "answer with a tuple (mean, std) of two numbers."
        train = np.asarray(parts["train"], dtype=float)
        if np.isclose(mean, train.mean(), atol=1e-6) and np.isclose(std, train.std(), atol=1e-6):
            return None
        everything = np.concatenate([np.asarray(p, dtype=float) for p in parts.values()])
        if np.isclose(mean, everything.mean(), atol=1e-6):
            return ("these are the statistics of all parts: the validation and test periods leaked into "
                    "the scaling. A forecaster in production only knows the past; fit on train only.")
        if np.isclose(mean, train.mean(), atol=1e-6) and np.isclose(std, train.std(ddof=1), atol=1e-6):
            return "right data, but use the population std (numpy's default ddof=0), as Scaler does."
        return f"({mean:.4g}, {std:.4g}) are not the training part's mean and std."

    return test


def seasonal_naive_fn(season: int, horizon: int, lookback: int) -> Test:
    """Check ``fn(x) -> [n, horizon]``, the seasonal-naive forecast from windows ``x``
    [n, lookback, 1]: step ``h`` (0-based) repeats the value one season before it,
    ``x[:, lookback - season + (h % season), 0]``, i.e. the last season tiled over the horizon."""

    def test(fn: Any) -> str | None:
        if not callable(fn):
            return f"answer with a function of x, got {type(fn).__name__}."
        rng = np.random.default_rng(0)
        x = rng.normal(size=(5, lookback, 1)).astype(np.float32)
        steps = lookback - season + (np.arange(horizon) % season)
        expected = x[:, steps, 0]
        try:
            got = np.asarray(fn(x), dtype=float)
        except Exception as err:  # noqa: BLE001  (any error in the learner's code is the message)
            return f"calling your function on x of shape {x.shape} raised {type(err).__name__}: {err}"
        if got.shape != expected.shape:
            return f"the forecast has shape {got.shape}, expected (n, horizon) = {expected.shape}."
        if np.allclose(got, expected, atol=1e-6):
            return None
        if np.allclose(got, x[:, np.arange(horizon) % season, 0], atol=1e-6):
            return "that repeats the *first* season of the window; seasonal-naive repeats the most recent one."
        if np.allclose(got, np.repeat(x[:, -1:, 0], horizon, axis=1), atol=1e-6):
            return "that is the naive forecast (last value repeated), not the seasonal one."
        return ("step h should repeat the value exactly one season before it: for h >= season that is "
                "again a value of the last season (tile the last season, np.tile or % season).")

    return test


def method_choice(val: Mapping[str, float], test: Mapping[str, float], lower_is_better: bool = True) -> Test:
    """Answer ``(method, its test score)``: the method with the best validation score in ``val`` (method ->
    score; lower is better by default) and its score in ``test``: :func:`tlcourse.checks.chosen_on_validation`
    on lesson 06's two tables."""
    table = {k: (val[k], test[k]) for k in val}
    return chosen_on_validation(table, "method", metric="score", lower_is_better=lower_is_better)
