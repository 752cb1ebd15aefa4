"""tlcourse.checks.forecast: lesson 06's exercise checks."""

from __future__ import annotations

import numpy as np

from tlcourse.checks import forecast as F


def test_window_count_check_explains_off_by_one_and_forgotten_horizon():
    assert F.window_count(168 - 48 - 24 + 1, 168, 48, 24) is None
    assert "one short" in F.window_count(168 - 48 - 24, 168, 48, 24)
    assert "forgets the horizon" in F.window_count(168 - 48 + 1, 168, 48, 24)
    assert "non-overlapping" in F.window_count(168 // 72, 168, 48, 24)
    assert "int" in F.window_count(97.0, 168, 48, 24)


def test_lstm_trainable_check_counts_gates_and_frozen_layers():
    class Layer:
        def __init__(self, n, units=None):
            self.n, self.units = n, units

        def count_params(self):
            return self.n

    lstm1, lstm2, dense = 4 * 50 * (1 + 50 + 1), 4 * 50 * (50 + 50 + 1), 50 * 24 + 24
    model = type("M", (), {"layers": [Layer(lstm1, 50), Layer(lstm2, 50), Layer(dense)]})()
    assert F.lstm_trainable(lstm2 + dense, model, (0,)) is None
    assert "every parameter" in F.lstm_trainable(lstm1 + lstm2 + dense, model, (0,))
    assert "frozen layers" in F.lstm_trainable(lstm1, model, (0,))
    assert "biases" in F.lstm_trainable(lstm2 + dense - 200, model, (0,))
    assert "4 * u * (d + u + 1)" in F.lstm_trainable(123, model, (0,))


def test_train_only_scaler_check_names_leakage():
    parts = {"train": np.array([1.0, 2, 3, 4]), "val": np.array([10.0]), "test": np.array([20.0])}
    assert F.train_only_scaler((2.5, np.std([1, 2, 3, 4])), parts) is None
    everything = np.array([1.0, 2, 3, 4, 10, 20])
    assert "leaked" in F.train_only_scaler((everything.mean(), everything.std()), parts)
    assert "ddof" in F.train_only_scaler((2.5, np.std([1, 2, 3, 4], ddof=1)), parts)
    assert "tuple" in F.train_only_scaler(3.0, parts)


def test_seasonal_naive_check_accepts_tiling_and_names_common_mistakes():
    def right(x):
        return np.tile(x[:, -24:, 0], (1, 2))

    assert F.seasonal_naive_fn(right, 24, 48, 72) is None
    assert "first" in F.seasonal_naive_fn(lambda x: np.tile(x[:, :24, 0], (1, 2)), 24, 48, 72)
    assert "naive forecast" in F.seasonal_naive_fn(lambda x: np.repeat(x[:, -1:, 0], 48, 1), 24, 48, 72)
    assert "shape" in F.seasonal_naive_fn(lambda x: x[:, -24:, 0], 24, 48, 72)
    assert "raised" in F.seasonal_naive_fn(lambda x: x.nope, 24, 48, 72)
    assert "tile" in F.seasonal_naive_fn(lambda x: np.zeros((5, 48)), 24, 48, 72)


def test_chosen_on_validation_check_rejects_choosing_on_test():
    val = {"a": 1.0, "b": 2.0}
    test = {"a": 1.5, "b": 1.2}
    assert F.chosen_on_validation(("a", 1.5), val, test) is None
    assert "choosing on test" in F.chosen_on_validation(("b", 1.2), val, test)
    assert "validation score" in F.chosen_on_validation(("a", 1.0), val, test)
    assert "not one of" in F.chosen_on_validation(("c", 1.0), val, test)
    assert "tuple" in F.chosen_on_validation("a", val, test)
