"""Exercise checks for the vision lessons (feature extraction, fine-tuning).

Each function returns a ``test(answer) -> message | None`` for :func:`tlcourse.checks.exercise`;
the expected value is computed from the learner's own objects, so a check stays right whatever
profile, backbone or dataset the notebook runs with::

    tl.checks.exercise("Exercise 1: frozen parameters", n_frozen,
                       vision.frozen_params(backbone), hint="...")
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import close

Test = Callable[[Any], str | None]


def _frozen_count(model: Any) -> int:
    """Scalars in frozen weights: ``requires_grad=False`` (torch) or non-trainable (Keras)."""
    if hasattr(model, "named_parameters"):  # torch.nn.Module
        return sum(p.numel() for p in model.parameters() if not p.requires_grad)
    return sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)


def frozen_params(model: Any) -> Test:
    """Answer: how many parameters (scalars) of ``model`` are frozen (torch or Keras)."""
    expected = _frozen_count(model)

    def test(answer: Any) -> str | None:
        if not isinstance(answer, (int, np.integer)):
            return f"answer with an int (a number of scalars), got {type(answer).__name__}."
        if answer == expected:
            return None
        if hasattr(model, "named_parameters"):
            total = sum(p.numel() for p in model.parameters())
            if answer == total - expected:
                return "that is the number of *trainable* parameters; count requires_grad=False."
            if answer == sum(1 for p in model.parameters() if not p.requires_grad):
                return "that counts parameter tensors; count their scalars with p.numel()."
        return f"{answer:,} is not the number of frozen parameters of this model."

    return test


def feature_map(image_size: int, channels: int, total_stride: int = 32) -> Test:
    """Answer: ``(channels, side)`` of a backbone's last feature map for ``image_size`` px input.

    ``side`` is ``ceil(image_size / total_stride)`` ("same"-style padding, as in MobileNetV2).
    """
    side = math.ceil(image_size / total_stride)

    def test(answer: Any) -> str | None:
        if not (isinstance(answer, tuple) and len(answer) == 2):
            return "answer with a tuple (channels, side), e.g. (512, 7)."
        c, s = answer
        if c != channels:
            return f"channels: {c} is not the width of the features the head reads."
        if s != side:
            return (
                f"side: {s} is wrong. Five stride-2 stages divide {image_size} px by "
                f"{total_stride} (rounding up)."
            )
        return None

    return test


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
        return close(value, expected, tol, f"{k}-NN test accuracy")

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
    })  # fmt: skip
