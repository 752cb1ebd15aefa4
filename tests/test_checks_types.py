"""tlcourse.checks.types: lesson 01's exercise checks explain what is wrong."""

import pytest

import tlcourse as tl
from tlcourse.checks import types


def test_transfer_types():
    test = types.transfer_types()
    right = {k: v for k, (v, _) in types.SCENARIOS.items()}
    assert test(right) is None
    assert "dict" in test(["inductive"])
    assert "no answer" in test({"a": "inductive"})
    assert "one of" in test({**right, "a": "self-taught"})
    msg = test({**right, "d": "unsupervised"})
    assert "(d) you said unsupervised" in msg and "self-taught" in msg
    assert "(a)" not in msg


def test_accuracy_drop():
    test = types.accuracy_drop(0.85, 0.40)
    assert test(0.85 - 0.40) is None
    assert "sign" in test(0.40 - 0.85)
    assert "percentage" in test(45.0)
    assert "one of the two" in test(0.40)
    assert "not clean minus" in test(0.3)
    assert "number" in test("0.45")


def test_choose_on_validation():
    results = {"scratch": {"val": 0.70, "test": 0.72}, "transfer": {"val": 0.80, "test": 0.78},
               "lucky": {"val": 0.75, "test": 0.81}}
    test = types.choose_on_validation(results)
    assert test(("transfer", 0.78)) is None
    assert "best *test*" in test(("lucky", 0.81))
    assert "best, 0.800" in test(("scratch", 0.72))
    assert "validation accuracy" in test(("transfer", 0.80))
    assert "not one of the candidates" in test(("nope", 0.5))
    assert "tuple" in test("transfer")


def test_transfer_verdict():
    test = types.transfer_verdict()

    def right(transfer, scratch, spread):
        gap = sum(transfer) / len(transfer) - sum(scratch) / len(scratch)
        return "positive" if gap > spread else "negative" if gap < -spread else "inconclusive"

    assert test(right) is None
    assert "function" in test(0.5)
    assert "expected 'inconclusive'" in test(lambda t, s, d: "positive" if sum(t) > sum(s) else "negative")
    assert "raised ZeroDivisionError" in test(lambda t, s, d: 1 / 0)


def test_exercise_wrapper_with_a_types_check(capsys):
    assert tl.checks.exercise("x", None, types.accuracy_drop(0.9, 0.5), "hint") is None
    assert "not attempted" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="sign is flipped"):
        tl.checks.exercise("x", -0.4, types.accuracy_drop(0.9, 0.5), "hint")
