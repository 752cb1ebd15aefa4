"""Exercise checks for lesson 01, the types of transfer learning.

Each function returns a ``test(answer) -> message | None`` for :func:`tlcourse.checks.exercise`;
expected values come from the learner's own numbers, so a check holds in every profile::

    tl.checks.exercise("Exercise 1: name the type", answers, types.transfer_types(), hint="...")
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from . import Test, chosen_on_validation

# Pan & Yang (2010) settings, by where labels exist and what differs between source and target.
TYPES = ("inductive", "transductive", "unsupervised")

# Scenario -> (type, why). The exercise's wording is in the lesson; the keys must match it.
SCENARIOS: dict[str, tuple[str, str]] = {
    "a": ("inductive", "the target task (spam vs not) differs from the source's (next-word prediction) "
                       "and you have some labelled target e-mails: inductive, whatever the domains."),
    "b": ("transductive", "same task (sentiment), different domain (movie reviews -> tweets), labels only "
                          "in the source: transductive (domain adaptation)."),
    "c": ("unsupervised", "no labels anywhere and the target task is clustering: unsupervised transfer."),
    "d": ("inductive", "self-taught learning: unlabelled source images, a few labelled target images; "
                       "Pan & Yang put it under inductive transfer (target labels exist, tasks differ)."),
    "e": ("inductive", "multi-task learning: labels in both tasks, learned together; Pan & Yang list it "
                       "under inductive transfer."),
    "f": ("transductive", "same task (digit recognition), the target domain (scanned, noisy) has no labels: "
                          "transductive, even though the feature space is the same."),
}


def transfer_types() -> Test:
    """Answer: ``{scenario letter: "inductive" | "transductive" | "unsupervised"}`` for :data:`SCENARIOS`."""

    def test(answer: Any) -> str | None:
        if not isinstance(answer, Mapping):
            return "answer with a dict {'a': 'inductive', 'b': ..., ...}."
        missing = sorted(set(SCENARIOS) - set(answer))
        if missing:
            return f"scenario(s) {', '.join(missing)} have no answer."
        bad = {k: v for k, v in answer.items() if v not in TYPES}
        if bad:
            return f"{bad}: each answer is one of {', '.join(TYPES)}."
        wrong = [k for k, (right, _) in SCENARIOS.items() if answer[k] != right]
        if wrong:
            return "not quite:\n" + "\n".join(
                f"  ({k}) you said {answer[k]}; {SCENARIOS[k][0]}: {SCENARIOS[k][1]}" for k in wrong
            )
        return None

    return test


def accuracy_drop(clean_acc: float, shifted_acc: float) -> Test:
    """Answer: the accuracy lost by moving the test images to the shifted domain (a fraction)."""
    expected = float(clean_acc) - float(shifted_acc)

    def test(answer: Any) -> str | None:
        if not isinstance(answer, int | float) or isinstance(answer, bool) or not math.isfinite(answer):
            return f"answer with a number (a fraction of test images), got {answer!r}."
        if abs(answer - expected) <= 1e-6:
            return None
        if abs(answer + expected) <= 1e-6:
            return "the sign is flipped: the drop is clean accuracy minus shifted accuracy."
        if abs(answer - 100 * expected) <= 1e-4:
            return "that is in percentage points; give a fraction (0.12, not 12)."
        if abs(answer - float(shifted_acc)) <= 1e-6 or abs(answer - float(clean_acc)) <= 1e-6:
            return "that is one of the two accuracies; the drop is their difference."
        return f"{answer:.4f} is not clean minus shifted accuracy ({expected:.4f})."

    return test


def choose_on_validation(results: Mapping[str, Mapping[str, float]]) -> Test:
    """Answer: ``(name, test accuracy)`` of the candidate with the best *validation* accuracy.

    ``results``: ``{candidate: {"val": accuracy, "test": accuracy}}`` (lesson 01's table), checked by
    :func:`tlcourse.checks.chosen_on_validation`.
    """
    return chosen_on_validation({k: (v["val"], v["test"]) for k, v in results.items()}, "candidate")


def transfer_verdict() -> Test:
    """Answer: a function ``verdict(transfer_val, scratch_val, spread) -> str``.

    It compares validation accuracies of a transferred model and the target-only baseline,
    each a list over seeds, and returns ``"positive"`` when the transferred model's mean is more
    than ``spread`` above the baseline's, ``"negative"`` when more than ``spread`` below, else
    ``"inconclusive"``.
    """
    cases = [
        (([0.80, 0.82, 0.81], [0.70, 0.71, 0.69], 0.02), "positive",
         "transfer beats the baseline by 0.11, far more than the spread"),
        (([0.60, 0.62, 0.61], [0.70, 0.71, 0.69], 0.02), "negative",
         "transfer is 0.09 below the target-only baseline: negative transfer"),
        (([0.71, 0.70, 0.72], [0.70, 0.71, 0.69], 0.02), "inconclusive",
         "a difference of 0.01 is within the spread of 0.02"),
        (([0.73, 0.73, 0.73], [0.70, 0.70, 0.70], 0.05), "inconclusive",
         "a gain of 0.03 with a spread of 0.05 is not yet evidence"),
    ]

    def test(answer: Any) -> str | None:
        if not callable(answer):
            return "answer with a function verdict(transfer_val, scratch_val, spread) -> str."
        for args, want, why in cases:
            try:
                got = answer(*args)
            except Exception as exc:  # noqa: BLE001  (the learner's code: report, do not crash)
                return f"verdict{args} raised {type(exc).__name__}: {exc}"
            if got != want:
                return f"verdict{args} returned {got!r}, expected {want!r}: {why}."
        return None

    return test
