"""tlcourse.checks.forecast: lesson 06's exercise checks."""

from __future__ import annotations

import numpy as np

from tlcourse.checks import forecast as F


def test_window_count_check_explains_off_by_one_and_forgotten_horizon():
    assert F.window_count(168, 48, 24)(168 - 48 - 24 + 1) is None
    assert "one short" in F.window_count(168, 48, 24)(168 - 48 - 24)
    assert "forgets the horizon" in F.window_count(168, 48, 24)(168 - 48 + 1)
    assert "non-overlapping" in F.window_count(168, 48, 24)(168 // 72)
    assert "int" in F.window_count(168, 48, 24)(97.0)


def test_lstm_trainable_check_counts_gates_and_frozen_layers():
    class Layer:
        def __init__(self, n, units=None):
            self.n, self.units = n, units

        def count_params(self):
            return self.n

    lstm1, lstm2, dense = 4 * 50 * (1 + 50 + 1), 4 * 50 * (50 + 50 + 1), 50 * 24 + 24
    model = type("M", (), {"layers": [Layer(lstm1, 50), Layer(lstm2, 50), Layer(dense)]})()
    assert F.lstm_trainable(model, (0,))(lstm2 + dense) is None
    assert "every parameter" in F.lstm_trainable(model, (0,))(lstm1 + lstm2 + dense)
    assert "frozen layers" in F.lstm_trainable(model, (0,))(lstm1)
    assert "biases" in F.lstm_trainable(model, (0,))(lstm2 + dense - 200)
    assert "4 * u * (d + u + 1)" in F.lstm_trainable(model, (0,))(123)


def test_train_only_scaler_check_names_leakage():
    parts = {"train": np.array([1.0, 2, 3, 4]), "val": np.array([10.0]), "test": np.array([20.0])}
    assert F.train_only_scaler(parts)((2.5, np.std([1, 2, 3, 4]))) is None
    everything = np.array([1.0, 2, 3, 4, 10, 20])
    assert "leaked" in F.train_only_scaler(parts)((everything.mean(), everything.std()))
    assert "ddof" in F.train_only_scaler(parts)((2.5, np.std([1, 2, 3, 4], ddof=1)))
    assert "tuple" in F.train_only_scaler(parts)(3.0)


def test_seasonal_naive_check_accepts_tiling_and_names_common_mistakes():
    def right(x):
        return np.tile(x[:, -24:, 0], (1, 2))

    assert F.seasonal_naive_fn(24, 48, 72)(right) is None
    assert "first" in F.seasonal_naive_fn(24, 48, 72)(lambda x: np.tile(x[:, :24, 0], (1, 2)))
    assert "naive forecast" in F.seasonal_naive_fn(24, 48, 72)(lambda x: np.repeat(x[:, -1:, 0], 48, 1))
    assert "shape" in F.seasonal_naive_fn(24, 48, 72)(lambda x: x[:, -24:, 0])
    assert "raised" in F.seasonal_naive_fn(24, 48, 72)(lambda x: x.nope)
    assert "tile" in F.seasonal_naive_fn(24, 48, 72)(lambda x: np.zeros((5, 48)))


def test_chosen_on_validation_check_rejects_choosing_on_test():
    val = {"a": 1.0, "b": 2.0}
    test = {"a": 1.5, "b": 1.2}
    assert F.method_choice(val, test)(("a", 1.5)) is None
    assert "choosing on test" in F.method_choice(val, test)(("b", 1.2))
    assert "validation score" in F.method_choice(val, test)(("a", 1.0))
    assert "not one of" in F.method_choice(val, test)(("c", 1.0))
    assert "tuple" in F.method_choice(val, test)("a")
