"""Checks for the NLP lesson's exercises (``notebooks/04_bert_sentiment.ipynb``).

Each ``*_problem`` function returns ``None`` when a learner's answer is right and otherwise a
message that says what is wrong; pass it as the ``test`` of :func:`tlcourse.checks.exercise`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

# Eight reviews, two classes. Row-wise argmax gives predictions [0, 1, 1, 0, 1, 0, 1, 0]: accuracy,
# macro-F1, positive-class F1 and balanced accuracy all differ, so each mistake shows.
_LOGITS = np.array(
    [[2.0, -1.0], [0.1, 0.3], [-1.0, 1.0], [3.0, 0.0], [0.0, 2.0], [1.0, 0.5], [-0.5, 0.5],
     [0.4, 0.2]],
    dtype=np.float32,
)  # fmt: skip
_LABELS = np.array([0, 1, 0, 0, 1, 1, 1, 1])


def reference_metrics(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy, macro-F1 and balanced accuracy of ``logits`` (n, classes) vs ``labels`` (n,)."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    preds = np.asarray(logits).argmax(axis=-1)
    return {
        "accuracy": float(accuracy_score(labels, preds)),
        "f1": float(f1_score(labels, preds, average="macro")),
        "balanced_accuracy": float(balanced_accuracy_score(labels, preds)),
    }


def compute_metrics_problem(
    fn: Callable[[Any], Mapping[str, Any]],
    required: tuple[str, ...] = ("accuracy", "f1", "balanced_accuracy"),
    tol: float = 1e-6,
) -> str | None:
    """Test a ``compute_metrics(eval_pred)`` written for ``transformers.Trainer``.

    It is called with an ``EvalPrediction`` of eight crafted examples (logits, labels) and must
    return a dict with float values for every name in ``required`` ("f1" meaning macro-F1).
    """
    from transformers import EvalPrediction

    if not callable(fn):
        return f"expected a function compute_metrics(eval_pred), got {type(fn).__name__}."
    try:
        out = fn(EvalPrediction(predictions=_LOGITS.copy(), label_ids=_LABELS.copy()))
    except Exception as exc:  # the learner's code may fail in any way
        return (
            f"calling it on an EvalPrediction raised {type(exc).__name__}: {exc}. "
            "Unpack it with `logits, labels = eval_pred`."
        )
    if not isinstance(out, Mapping):
        return f"it must return a dict of metric name -> number, got {type(out).__name__}."
    missing = [k for k in required if k not in out]
    if missing:
        return f"the returned dict lacks {missing}; it has {sorted(out)}."
    ref = reference_metrics(_LOGITS, _LABELS)
    for name in required:
        try:
            value = float(out[name])
        except (TypeError, ValueError):
            return f"{name!r} must be a single number, got {out[name]!r}."
        if abs(value - ref[name]) > tol:
            hint = ""
            if name == "f1":
                from sklearn.metrics import f1_score

                preds = _LOGITS.argmax(-1)
                if abs(value - f1_score(_LABELS, preds)) <= tol:
                    hint = " That is the positive class's F1; use average='macro'."
            return f"{name!r} is {value:.4f} on the test batch, expected {ref[name]:.4f}.{hint}"
    return None


def probe_accuracy_problem(
    answer: Any,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    C: float,
    tol: float = 1e-6,
) -> str | None:
    """Check a validation accuracy of ``LogisticRegression(C=C, max_iter=3000)`` on features.

    The reference is refit here on ``X_train`` (n, d) / ``y_train`` (n,) and scored on ``X_val`` /
    ``y_val``, so a learner's number is compared with the same recipe on the same features.
    """
    from sklearn.linear_model import LogisticRegression

    if isinstance(answer, bool) or not isinstance(answer, int | float | np.floating):
        return f"expected a number (an accuracy between 0 and 1), got {type(answer).__name__}."
    if not 0.0 <= float(answer) <= 1.0:
        return f"an accuracy lies between 0 and 1, got {answer}."
    ref = LogisticRegression(C=C, max_iter=3000).fit(X_train, y_train).score(X_val, y_val)
    if abs(float(answer) - ref) > tol:
        return (
            f"validation accuracy {float(answer):.4f}, expected {ref:.4f}. Fit on the training "
            "features, score on the validation ones (not the test split), with the same C."
        )
    return None
