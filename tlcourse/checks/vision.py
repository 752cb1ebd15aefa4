"""Exercise checks for the vision lessons (feature extraction, fine-tuning).

Each function returns a ``test(answer) -> message | None`` for :func:`tlcourse.checks.exercise`;
the expected value is computed from the learner's own objects, so a check stays right whatever
profile, backbone or dataset the notebook runs with::

    tl.checks.exercise("Exercise 3: choose k on validation", answer,
                       vision.knn_choice(...), hint="...")
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import Test, chosen_on_validation, close


def knn_accuracy(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    k: int,
    tol: float = 0.005,
) -> Test:
    """Answer: test accuracy (fraction in [0, 1]) of a ``k``-nearest-neighbour classifier.

    Recomputed here with scikit-learn's ``KNeighborsClassifier(n_neighbors=k)`` on the same arrays.
    """
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=k).fit(train_x, train_y)
    expected = float(knn.score(test_x, test_y))

    def test(answer: Any) -> str | None:
        value = float(answer)
        if value > 1.0:
            return "give accuracy as a fraction in [0, 1], not a percentage."
        problem = close(value, expected, tol, f"{k}-NN test accuracy")
        if problem is None:
            print(f"right: {k}-NN on the cached features scores {expected:.3f} without training any "
                  "weight; the features alone put most images near others of their class.")
        return problem

    return test


def knn_choice(
    train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
    test_x: np.ndarray, test_y: np.ndarray, ks: Sequence[int],
) -> Test:
    """Answer ``(k, test accuracy)``: the ``k`` of ``ks`` with the best k-NN validation accuracy."""
    from sklearn.neighbors import KNeighborsClassifier

    table = {}
    for k in ks:
        knn = KNeighborsClassifier(n_neighbors=k).fit(train_x, train_y)
        table[k] = (float(knn.score(val_x, val_y)), float(knn.score(test_x, test_y)))
    return chosen_on_validation(table, "k")


def labels_to_match(sizes: Sequence[int], curve: Sequence[float], target: float) -> Test:
    """Answer: the smallest size in ``sizes`` where ``curve`` reaches ``target``, or
    ``float("inf")`` if it never does on this curve."""
    reached = [n for n, acc in zip(sizes, curve, strict=True) if acc >= target]
    expected = reached[0] if reached else math.inf

    def test(answer: Any) -> str | None:
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return "answer with a number of labels per class (one of the curve's sizes) or float('inf')."
        if value == expected:
            where = (f"{expected} per class is the first size where it reaches {target:.3f}"
                     if reached else f"it stays below {target:.3f} at every size up to {sizes[-1]}")
            print(f"right: {where}. Read it as a rough ratio: each label is worth more with "
                  "pretrained features, but the advantage shrinks as labels grow.")
            return None
        if value in sizes and value < expected:
            i = list(sizes).index(value)
            return f"at {int(value)} per class the curve is {curve[i]:.3f}, still below {target:.3f}."
        if value in sizes:
            return f"{int(value)} per class reaches {target:.3f}, but a smaller size already does."
        return f"{answer} is not one of the curve's sizes {list(sizes)} (or float('inf'))."

    return test


def choice(correct: str, why: Mapping[str, str]) -> Test:
    """Answer: one letter of a multiple-choice question; ``why`` explains each letter."""

    def test(answer: Any) -> str | None:
        letter = str(answer).strip().lower()
        if letter not in why:
            return f"answer with one of {', '.join(sorted(why))}."
        if letter != correct:
            return f"({letter}) {why[letter]}"
        print(f"({letter}) {why[letter]}")
        return None

    return test


def caching_quiz() -> Test:
    """Lesson 02: which change makes cached training features wrong to reuse? Answer a, b, c or d.

    (a) three times as many head epochs; (b) random crops and flips, new ones every epoch;
    (c) a bigger head; (d) a different learning rate for the head.
    """
    return choice("b", {
        "a": "more epochs reuse the same features: caching helps even more.",
        "b": "right: a cached feature is f(image) for one fixed image; augmentation makes a new image "
             "every epoch, which needs a new forward pass through the frozen network.",
        "c": "any head can train on the cached features; only the network before the cache must stay "
             "fixed.",
        "d": "the learning rate only changes how the head trains; the features stay the same.",
    })
