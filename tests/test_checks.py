"""tlcourse.checks: the shared checks (one "choose on validation, report test" check for every lesson)."""

import tlcourse as tl
from tlcourse.checks import detection, finetune, forecast, types


def test_chosen_on_validation_explains_each_mistake(capsys):
    table = {"a": (0.80, 0.70), "b": (0.75, 0.78), "c": (0.80, 0.71)}
    test = tl.checks.chosen_on_validation(table, "k")
    assert test(("a", 0.70)) is None and test(("c", 0.71)) is None  # ties on validation are fine
    assert "best validation accuracy" in capsys.readouterr().out
    assert "*test* accuracy" in test(("b", 0.78))  # chose by test
    assert "that is the validation accuracy" in test(("a", 0.80))
    assert "its test accuracy is 0.7" in test(("a", 0.5))
    assert "not one of the candidates" in test(("z", 0.5))
    assert "tuple" in test("a")
    assert "as a number" in test(("a", "high"))
    table["d"] = (0.60, 0.60)
    assert "has validation accuracy 0.600; 'a' has the best, 0.800" in tl.checks.chosen_on_validation(table, "k")(("d", 0.60))


def test_lower_is_better_for_errors():
    test = tl.checks.chosen_on_validation({"ets": (1.2, 1.1), "lstm": (0.9, 1.3)}, "method", metric="MASE",
                                          lower_is_better=True)
    assert test(("lstm", 1.3)) is None
    assert "best *test* MASE" in test(("ets", 1.1))


def test_every_lessons_choice_check_is_the_shared_one():
    """Lessons 01, 03, 05 and 06 keep their table shapes; each adapter gives the shared verdicts."""
    by_test = "best *test*"
    t01 = types.choose_on_validation({"a": {"val": 0.8, "test": 0.7}, "b": {"val": 0.7, "test": 0.9}})
    t03 = finetune.lr_choice({1.0: {"val": 0.8, "test": 0.7}, 0.1: {"val": 0.7, "test": 0.9}})
    t05 = detection.choose_run({"a": {"val_map50_95": 0.8, "test_map50_95": 0.7},
                                "b": {"val_map50_95": 0.7, "test_map50_95": 0.9}})
    for test, right, wrong in ((t01, ("a", 0.7), ("b", 0.9)), (t03, (1.0, 0.7), (0.1, 0.9)), (t05, ("a", 0.7), ("b", 0.9))):
        assert test(right) is None and by_test in test(wrong)
    assert "mAP50-95" in t05(("b", 0.9))
    val, test = {"a": 1.0, "b": 2.0}, {"a": 1.5, "b": 1.2}  # lesson 06: MASE, lower is better
    assert forecast.method_choice(val, test)(("a", 1.5)) is None
    assert by_test in forecast.method_choice(val, test)(("b", 1.2))
