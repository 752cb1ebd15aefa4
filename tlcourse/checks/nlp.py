"""Checks for the NLP lesson's exercises (``notebooks/04_bert_sentiment.ipynb``).

Each ``*_problem`` function returns ``None`` when a learner's answer is right (and prints why it
is right) and otherwise a message that says what is wrong; pass it as the ``test`` of
:func:`tlcourse.checks.exercise`. :func:`pooling_choice` returns such a test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import Test, chosen_on_validation

# Eight reviews, two classes. Row-wise argmax gives predictions [0, 1, 1, 0, 1, 0, 1, 0]: accuracy,
# macro-F1, positive-class F1 and balanced accuracy all differ, so each mistake shows.
_LOGITS = np.array(
    [[2.0, -1.0], [0.1, 0.3], [-1.0, 1.0], [3.0, 0.0], [0.0, 2.0], [1.0, 0.5], [-0.5, 0.5],
     [0.4, 0.2]],
    dtype=np.float32,
)
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
    print(f"right: on eight crafted examples accuracy {ref['accuracy']:.3f}, macro-F1 {ref['f1']:.3f} and "
          f"balanced accuracy {ref['balanced_accuracy']:.3f} all match; they differ from each other "
          "because the classes are unbalanced (3 negative, 5 positive).")
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
    print(f"right: {ref:.4f} on validation, the split meant for design choices like this one.")
    return None


def loose_label_problem(answer: Any, ratings: np.ndarray, pos: float, neg: float) -> str | None:
    """Check the number of snippets labelled with thresholds ``pos`` / ``neg`` (mean ratings)."""
    ratings = np.asarray(ratings, dtype=float)
    expected = int(((ratings >= pos) | (ratings <= neg)).sum())
    if isinstance(answer, bool) or not isinstance(answer, int | np.integer):
        return f"expected an int (a number of snippets), got {type(answer).__name__}."
    if answer == len(ratings):
        return f"{answer:,} is every snippet: the lukewarm ones between {neg} and {pos} are dropped."
    if answer == int((ratings >= pos).sum()):
        return f"{answer:,} counts the positives only; the negatives (rating <= {neg}) get a label too."
    if answer != expected:
        return f"{answer:,} is not the number of snippets with rating >= {pos} or <= {neg}."
    strict = int((np.abs(ratings) >= 1.0).sum())
    print(f"right: {expected:,} of {len(ratings):,} snippets get a label at +/-{pos:g} (at +/-1: "
          f"{strict:,}). Looser thresholds give more examples but noisier labels: near 0 the raters "
          "themselves disagree about the sign.")
    return None


def head_logits_problem(answer: Any, model: Any, batch: Mapping[str, Any], tol: float = 1e-5) -> str | None:
    """Check logits computed by hand from a ``BertForSequenceClassification``'s parts.

    ``model`` must be in eval mode; ``batch`` is the tokenizer's output (tensors). Expected:
    ``model(**batch).logits`` (batch, 2), which is classifier(dropout(pooler(hidden[:, 0]))).
    """
    import torch

    if not isinstance(answer, torch.Tensor):
        return f"expected a tensor of logits (batch, 2), got {type(answer).__name__}."
    with torch.no_grad():
        want = model(**batch).logits
        hidden = model.base_model(**batch).last_hidden_state
        no_pooler = model.classifier(hidden[:, 0])
        mean = (hidden * batch["attention_mask"].unsqueeze(-1)).sum(1) / batch["attention_mask"].sum(1, keepdim=True)
        from_mean = model.classifier(model.base_model.pooler(mean.unsqueeze(1)))
    if tuple(answer.shape) != tuple(want.shape):
        return f"shape {tuple(answer.shape)}, expected {tuple(want.shape)}: one row of 2 logits per sentence."
    answer = answer.detach().to(want.dtype)
    if torch.allclose(answer, no_pooler, atol=tol):
        return ("that is the linear classifier applied to the raw [CLS] vector; BERT's head first passes "
                "it through the pooler (dense + tanh): model.base_model.pooler.")
    if torch.allclose(answer, from_mean, atol=tol):
        return "that pools the mean of the tokens; the head reads the [CLS] token (position 0) only."
    if not torch.allclose(answer, want, atol=tol):
        return f"your logits differ from model(**batch).logits by up to {(answer - want).abs().max():.3g}."
    print("right: the head reads only the [CLS] vector, through the pretrained pooler (dense + tanh), "
          "dropout (a no-op in eval mode) and the new linear layer; the other tokens reach it only "
          "through attention.")
    return None


def pooling_choice(
    feats: Mapping[str, tuple[np.ndarray, np.ndarray]],
    labels: Mapping[str, np.ndarray],
    C: float,
) -> Test:
    """Decision: mean pooling or [CLS]? Answer ``(pooling, test accuracy)``.

    ``feats``: split ("train", "val", "test") -> (mean-pooled, [CLS]) features, each (n, hidden);
    ``labels``: split -> (n,). The reference fits ``LogisticRegression(C=C, max_iter=3000)`` on each
    pooling's training features; the answer must be the pooling with the best validation accuracy
    ("mean" or "[CLS]") and that pooling's test accuracy.
    """
    from sklearn.linear_model import LogisticRegression

    table = {}
    for k, name in enumerate(("mean", "[CLS]")):
        fit = LogisticRegression(C=C, max_iter=3000).fit(feats["train"][k], labels["train"])
        table[name] = (fit.score(feats["val"][k], labels["val"]), fit.score(feats["test"][k], labels["test"]))
    return chosen_on_validation(table, "pooling")


def loose_labels(ratings: np.ndarray, pos: float, neg: float) -> Test:
    """Exercise 1's test: the number of snippets labelled at thresholds ``pos`` / ``neg``
    (:func:`loose_label_problem` on ``ratings``, the mean ratings of one domain)."""
    return lambda answer: loose_label_problem(answer, ratings, pos, neg)


def metrics_function() -> Test:
    """Exercise 2's test: a ``compute_metrics(eval_pred)`` for ``Trainer`` (:func:`compute_metrics_problem`)."""
    return compute_metrics_problem


def head_logits(model: Any, batch: Mapping[str, Any]) -> Test:
    """Exercise 3's test: logits computed by hand from ``model``'s parts on ``batch``
    (:func:`head_logits_problem`; ``model`` in eval mode)."""
    return lambda answer: head_logits_problem(answer, model, batch)
