"""Exercise checks that explain instead of just asserting.

A student notebook leaves an exercise's answer as ``None``; :func:`exercise` then prints a hint
(so the notebook still runs top to bottom). A wrong answer raises an ``AssertionError`` whose
message says what is wrong; a right one prints that it is right. It returns nothing, so a cell that
ends with the call shows only the printed verdict (no ``_ =`` or ``;`` to hide a value).
In a learner's workspace each outcome is also kept there, never sent anywhere (``tlcourse.room``).
Lesson-specific checks live in submodules (``tl.checks.vision``, ``tl.checks.nlp``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
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
