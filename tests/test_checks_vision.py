"""tlcourse.checks.vision: exercise checks that explain what is wrong."""

import numpy as np
import pytest

import tlcourse as tl
from tlcourse.checks import vision


def test_knn_choice_picks_by_validation_and_rejects_a_choice_by_test():
    """Noisy labels where validation prefers k=5 (0.80 vs 0.55 and 0.70) and test prefers k=1 (0.75 vs 0.70)."""
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 3))
    y = (x[:, 0] + 0.8 * rng.normal(size=90) > 0).astype(int)
    test = vision.knn_choice(x[:50], y[:50], x[50:70], y[50:70], x[70:], y[70:], ks=(1, 3, 5))
    fit = {k: KNeighborsClassifier(n_neighbors=k).fit(x[:50], y[:50]) for k in (1, 3, 5)}
    val = {k: m.score(x[50:70], y[50:70]) for k, m in fit.items()}
    acc = {k: m.score(x[70:], y[70:]) for k, m in fit.items()}
    by_val, by_test = max(val, key=val.get), max(acc, key=acc.get)
    assert (by_val, by_test) == (5, 1)  # the data makes the two choices differ
    assert test((by_val, acc[by_val])) is None
    assert "*test* accuracy" in test((by_test, acc[by_test]))  # chosen by test: refused, and told why
    assert "report the chosen option's test accuracy" in test((by_val, val[by_val]))  # its validation number


def test_labels_to_match(capsys):
    test = vision.labels_to_match([2, 10, 100, 500], [0.3, 0.6, 0.75, 0.82], target=0.8)
    assert test(500) is None and "500 per class" in capsys.readouterr().out
    assert "still below" in test(100)
    assert "not one of the curve's sizes" in test(7)
    never = vision.labels_to_match([2, 10], [0.3, 0.6], target=0.8)
    assert never(float("inf")) is None
    assert "still below" in never(10)


def test_lr_choice_and_augmentation_quiz():
    from tlcourse.checks import finetune

    sweep = {1.0: {"val": 0.7, "test": 0.72}, 0.1: {"val": 0.8, "test": 0.79}, 0.01: {"val": 0.78, "test": 0.81}}
    test = finetune.lr_choice(sweep)
    assert test((0.1, 0.79)) is None
    assert "*test* accuracy" in test((0.01, 0.81))
    quiz = finetune.augmentation_quiz()
    assert quiz("c") is None
    assert "keep the label" in quiz("a") or "label" in quiz("a")


def test_knn_accuracy():
    """Points on a line, answers worked out by hand (k matters for the test point at 3.0)."""
    train_x = np.array([[0.0], [1.0], [2.0], [3.2], [10.0], [11.0], [12.0]])
    train_y = np.array([0, 0, 0, 1, 1, 1, 1])  # 3.2 is a class-1 outlier among the 0s
    test_x = np.array([[0.5], [11.5], [1.5], [3.0]])
    test_y = np.array([0, 1, 1, 0])
    # k=3: 0.5 -> 0 right, 11.5 -> 1 right, 1.5 -> 0 wrong, 3.0 -> {3.2, 2, 1} = 0 right: 3/4
    # k=1: the same, except 3.0 -> 3.2 = 1 wrong: 2/4
    test3 = vision.knn_accuracy(train_x, train_y, test_x, test_y, k=3)
    assert test3(0.75) is None
    assert "expected 0.75" in test3(0.5)  # the 1-NN accuracy is not the 3-NN one
    assert "fraction" in test3(75)
    assert vision.knn_accuracy(train_x, train_y, test_x, test_y, k=1)(0.5) is None


def test_choice(capsys):
    test = vision.choice("b", {"a": "no, because A", "b": "yes, because B"})
    assert test(" B ") is None
    assert "because B" in capsys.readouterr().out
    assert test("a") == "(a) no, because A"
    assert "one of a, b" in test("z")


def test_with_exercise_not_attempted_and_wrong(capsys):
    test = vision.caching_quiz()
    assert tl.checks.exercise("Ex", None, test, hint="h") is None
    assert "not attempted" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="learning rate"):
        tl.checks.exercise("Ex", "d", test, hint="h")


def test_caching_quiz():
    test = vision.caching_quiz()
    assert test("b") is None
    assert "augmentation" not in test("a") and "epochs" in test("a")
