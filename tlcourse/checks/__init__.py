"""Exercise checks that explain instead of just asserting.

A student notebook leaves an exercise's answer as ``None``; :func:`exercise` then prints a hint
(so the notebook still runs top to bottom). A wrong answer raises an ``AssertionError`` whose
message says what is wrong; a right one prints that it is right. It returns nothing, so a cell that
ends with the call shows only the printed verdict (no ``_ =`` or ``;`` to hide a value).
In a learner's workspace each outcome is also kept there, never sent anywhere (``tlcourse.room``).
Lesson-specific checks live in submodules (``tl.checks.vision``, ``tl.checks.nlp``, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..room import record

Test = Callable[[Any], str | None]  # what a check factory returns: ``test(answer)`` -> None or the mistake


def exercise(title: str, answer: Any, test: Test, hint: str) -> None:
    """Check one exercise: print the verdict, or raise ``AssertionError`` when the answer is wrong.

    ``test(answer)`` returns ``None`` when the answer is right, else a message that explains the
    mistake; ``test`` comes from a factory of the lesson's checks module
    (``tl.checks.vision.knn_accuracy(...)``). An answer of ``None`` is not attempted: a hint, no error.
    """
    if answer is None:
        record(title, "not attempted")
        print(f"[ ] {title}: not attempted yet. Hint: {hint}")
        return
    problem = test(answer)
    if problem:
        record(title, "wrong", problem)
        raise AssertionError(f"{title}: {problem}\nHint: {hint}")
    record(title, "solved")
    print(f"[x] {title}: correct.")


def close(actual: float, expected: float, tol: float, what: str) -> str | None:
    """A message when ``actual`` is further than ``tol`` from ``expected`` (for :func:`exercise`)."""
    if abs(float(actual) - float(expected)) > tol:
        return f"{what} is {actual:.4g}, expected {expected:.4g} +/- {tol:.2g}."
    return None


def chosen_on_validation(table: Mapping[Any, tuple[float, float]], what: str, *, metric: str = "accuracy",
                         lower_is_better: bool = False) -> Test:
    """The course's one check of "choose on validation, report test once".

    ``table`` maps each option to ``(validation score, test score)``; the answer is ``(option, its
    test score)`` for an option with the best validation score (ties all count as best). The messages
    say which mistake it was: chosen by test, a worse option, the validation score reported instead
    of the test score. ``lower_is_better`` for errors (MASE, loss). The lessons' checks modules only
    turn their own tables into this shape.
    """
    best_of = min if lower_is_better else max
    best_val = best_of(v for v, _ in table.values())
    best_test_option = best_of(table, key=lambda k: table[k][1])

    def test(answer: Any) -> str | None:
        if not (isinstance(answer, tuple | list) and len(answer) == 2):
            return f"answer with a tuple (chosen {what}, its test {metric})."
        option, reported = answer
        if option not in table:
            return f"{option!r} is not one of the candidates {list(table)}."
        val, test_score = table[option]
        if val != best_val:
            better = next(k for k, (v, _) in table.items() if v == best_val)
            if option == best_test_option:
                return (f"{what} = {option!r} has the best *test* {metric}, but choosing on test turns the test "
                        f"split into a second validation split and its number into an optimistic one. Choose on "
                        f"validation ({better!r} is best there).")
            return f"{what} = {option!r} has validation {metric} {val:.3f}; {better!r} has the best, {best_val:.3f}."
        try:
            reported = float(reported)
        except (TypeError, ValueError):
            return f"report the test {metric} as a number, not {reported!r}."
        if abs(reported - test_score) > 1e-6 * max(1.0, abs(test_score)):
            if abs(reported - val) <= 1e-6 * max(1.0, abs(val)):
                return (f"that is the validation {metric} of {option!r}; report the chosen option's test "
                        f"{metric} (validation chose it, so its own number is biased).")
            return (f"you chose {what} = {option!r} (right), but its test {metric} is {test_score:.4g}, not "
                    f"{reported:.4g}: report the chosen option's test {metric}, once.")
        note = ("" if best_test_option == option else
                f" (on test, {best_test_option!r} would have looked better: {table[best_test_option][1]:.3f}; "
                "that is noise you may not select on)")
        print(f"right: {what} = {option!r} has the best validation {metric} ({val:.3f}); its test {metric} "
              f"{test_score:.3f} is an honest estimate because the test split played no part in the choice{note}.")
        return None

    return test
