"""tlcourse.checks.vision: exercise checks that explain what is wrong."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import tlcourse as tl
from tlcourse.checks import vision


def partly_frozen() -> torch.nn.Module:
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))  # 15 + 8 params
    model[0].requires_grad_(False)
    return model


def test_frozen_params_torch_and_keras_like():
    test = vision.frozen_params(partly_frozen())
    assert test(15) is None
    assert "trainable" in test(8)
    assert "tensors" in test(2)
    assert "int" in test(15.0)
    assert "not the number" in test(16)
    keras_like = SimpleNamespace(non_trainable_weights=[np.zeros((2, 3)), np.zeros(4)])
    assert vision.frozen_params(keras_like)(10) is None


def test_feature_map():
    test = vision.feature_map(64, 1280)
    assert test((1280, 2)) is None
    assert "channels" in test((320, 2))
    assert "rounding up" in test((1280, 3))
    assert "tuple" in test([1280, 2])
    assert vision.feature_map(65, 1280)((1280, 3)) is None  # ceil(65 / 32)


def test_knn_accuracy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] > 0).astype(int)
    test = vision.knn_accuracy(x[:40], y[:40], x[40:], y[40:], k=3)
    from sklearn.neighbors import KNeighborsClassifier

    right = KNeighborsClassifier(n_neighbors=3).fit(x[:40], y[:40]).score(x[40:], y[40:])
    assert test(right) is None
    assert "fraction" in test(100 * right)
    assert "expected" in test(right - 0.2)


def test_choice(capsys):
    test = vision.choice("b", {"a": "no, because A", "b": "yes, because B"})
    assert test(" B ") is None
    assert "because B" in capsys.readouterr().out
    assert test("a") == "(a) no, because A"
    assert "one of a, b" in test("z")


def test_with_exercise_not_attempted_and_wrong(capsys):
    test = vision.feature_map(32, 1280)
    assert tl.checks.exercise("Ex", None, test, hint="h") is False
    assert "not attempted" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="channels"):
        tl.checks.exercise("Ex", (10, 1), test, hint="h")


def test_caching_quiz():
    test = vision.caching_quiz()
    assert test("b") is None
    assert "augmentation" not in test("a") and "epochs" in test("a")
