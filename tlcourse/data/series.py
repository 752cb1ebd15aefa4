"""Regular time series for forecasting (lesson 06): load, check, split, scale, window.

The asset ``vega_hourly_temps_2010`` (from the ``vega_datasets`` 0.9.0 wheel, MIT; the data are
public-domain NOAA observations) holds the hourly temperatures of Seattle and San Francisco in
2010, one CSV per city with a ``date`` (local wall-clock time) and a ``temp`` (degrees Fahrenheit)
column. Both files lack 2010-03-14 03:00, the hour the clocks jumped forward.

The pipeline, each step a function with a clear error on bad input::

    s = load_city("seattle")                          # pd.Series, hourly DatetimeIndex, deg C
    s, filled = fill_gaps(s, max_gap=1)               # explicit: interpolate gaps of <= 1 step
    check_series(s)                                   # regular, sorted, unique, finite
    parts = chronological_split(s, {"train": 2000, "val": 300, "test": 600})
    scaler = Scaler.fit(parts["train"])               # statistics of the training part only
    w = split_windows(parts, scaler, lookback=48, horizon=24)
    w["train"].x.shape, w["train"].y.shape            # (n, 48, 1), (n, 24)

A window is one supervised sample: ``lookback`` past values as input, the next ``horizon``
values as target. Windows of a later part (val, test) may take their input from the end of the
part before it (the past is known at forecast time), but their targets always lie inside the part.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..validate import read_text, whole_number

ASSET_ID = "vega_hourly_temps_2010"
CITY_FILES = {"seattle": "seattle-temps.csv", "san_francisco": "sf-temps.csv"}
FREQ = "h"


class SeriesError(ValueError):
    """A series cannot be used as it is (gap, NaN, unsorted or duplicated time, bad window)."""


def fahrenheit_to_celsius(values: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    """Degrees Fahrenheit to degrees Celsius: ``(F - 32) * 5 / 9``."""
    return (values - 32.0) * 5.0 / 9.0


def read_temperatures(path: str | Path) -> pd.Series:
    """Read one vega_datasets temperature CSV (``date``, ``temp`` in F) as a Series in deg C.

    The index is the parsed ``date`` column (named ``time``), in file order; nothing is sorted,
    deduplicated or filled here (:func:`check_series` and :func:`fill_gaps` do that explicitly).
    An empty ``temp`` cell is a missing value (NaN); a value that is not a number (``50F``) is an
    error naming the file and line, never a silent NaN. The file must be UTF-8 CSV text.
    """
    fix = f"Restore the file, or delete it and run: python -m tlcourse fetch {ASSET_ID}"
    text = read_text(path, error=SeriesError, fix=fix)
    try:
        with warnings.catch_warnings():  # a row with an extra field: an error, not a shifted row
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(io.StringIO(text), index_col=False)
    except (ValueError, pd.errors.ParserError, pd.errors.ParserWarning) as err:  # EmptyDataError: a ValueError
        raise SeriesError(f"{path}: not a readable CSV table ({' '.join(str(err).split())}). {fix}") from None
    missing = {"date", "temp"} - set(df.columns)
    if missing:
        raise SeriesError(f"{path}: expected columns 'date' and 'temp', missing {sorted(missing)}.")
    try:
        times = pd.to_datetime(df["date"], format="mixed")
    except (ValueError, TypeError) as err:
        raise SeriesError(f"{path}: the 'date' column does not parse as times ({err}).") from err
    temps = pd.to_numeric(df["temp"], errors="coerce")
    unreadable = (temps.isna() | ~np.isfinite(temps.to_numpy(float))) & df["temp"].notna()
    if unreadable.any():
        row = int(np.argmax(unreadable.to_numpy()))
        raw = df["temp"].iloc[row]
        raise SeriesError(
            f"{path}, line {row + 2}: temp {raw if isinstance(raw, str) else format(raw, 'g')!r} is not a finite number "
            f"({int(unreadable.sum())} such value(s)); write plain numbers in degrees Fahrenheit "
            "(e.g. 50 or 50.5), or leave the cell empty for a missing hour."
        )
    return pd.Series(fahrenheit_to_celsius(temps.to_numpy(float)), index=pd.DatetimeIndex(times, name="time"),
                     name="temp_c")  # fmt: skip


def load_city(city: str) -> pd.Series:
    """Hourly 2010 temperatures (deg C) of ``seattle`` or ``san_francisco``, as in the file."""
    from .. import assets

    if city not in CITY_FILES:
        raise SeriesError(f"Unknown city {city!r}; choose one of {', '.join(CITY_FILES)}.")
    return read_temperatures(assets.fetch(ASSET_ID, progress=False) / CITY_FILES[city])


def check_series(s: pd.Series, freq: str = FREQ) -> None:
    """Raise :class:`SeriesError` unless ``s`` is a regular, sorted, unique, finite series.

    Checked in this order: a DatetimeIndex, not empty, no duplicated time, increasing time, finite
    values (no NaN / inf), and exactly one ``freq`` step between neighbours (no gaps).
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


def split_windows(parts: Mapping[str, pd.Series], scaler: Scaler, lookback: int,
                  horizon: int) -> dict[str, Windows]:  # fmt: skip
    """Scaled windows of each part of :func:`chronological_split` (parts in time order).

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
            x, y = make_windows(scaler.transform(series), lookback, horizon)
        except SeriesError as err:
            raise SeriesError(f"part {name!r} ({len(part)} steps): {err}") from None
        out[name] = Windows(x, y, pd.DatetimeIndex(series.index[lookback : lookback + len(y)]))
        prev = part
    return out
