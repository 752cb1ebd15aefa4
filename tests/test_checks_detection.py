"""tlcourse.checks.detection: lesson 05's exercise checks."""

from __future__ import annotations

import pytest

from tlcourse.checks import detection as chk


def test_yolo_line_check_explains_common_mistakes():
    test = chk.yolo_line((96, 96), (12, 30, 42, 78), 1)
    assert test("1 0.28125 0.5625 0.3125 0.5") is None
    assert "pixels" in test("1 27 54 30 48")
    assert "centre" in test("1 0.125 0.3125 0.3125 0.5")
    assert "bottom-right" in test("1 0.28125 0.5625 0.4375 0.8125")
    assert "swapped" in test("1 0.28125 0.5625 0.5 0.3125")
    assert "class id" in test("0 0.28125 0.5625 0.3125 0.5")
    assert "5 fields" in test("1 0.28 0.56 0.31")


def test_train_kwargs_check():
    test = chk.train_kwargs("python train.py --img 320 --batch 8 --epochs 30 --data my.yaml --weights yolov5s.pt")
    right = {"model": "yolov5s.pt", "data": "my.yaml", "imgsz": 320, "batch": 8, "epochs": 30}
    assert test(right) is None
    assert "imgsz" in test({**right, "img": 320})
    assert "missing ['epochs']" in test({k: v for k, v in right.items() if k != "epochs"})
    assert "batch = 16" in test({**right, "batch": 16})
    assert "not in the command" in test({**right, "freeze": 10})


def test_trainable_count_check():
    test = chk.trainable_count(expected=60, total=100, frozen_layers=10)
    assert test(60) is None
    assert "every parameter" in test(100)
    assert "frozen" in test(40)
    assert "int" in test(60.0)


def test_choose_run_check_rejects_choosing_by_test():
    runs = {"a": {"val_map50_95": 0.5, "test_map50_95": 0.40}, "b": {"val_map50_95": 0.4, "test_map50_95": 0.45}}
    test = chk.choose_run(runs)
    assert test(("a", 0.40)) is None
    assert "best *test* mAP50-95" in test(("b", 0.45))
    assert "that is the validation mAP50-95" in test(("a", 0.5))


def test_iou_check():
    def good(a, b):
        w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
        return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)

    def no_clamp(a, b):
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)

    assert chk.iou_function(good) is None
    assert "disjoint" in chk.iou_function(no_clamp)
    def over_area_a(a, b):  # intersection / area(a): not symmetric, not IoU
        w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
        return w * h / ((a[2] - a[0]) * (a[3] - a[1]))

    assert "union" in chk.iou_function(over_area_a)
    assert "function" in chk.iou_function(3)


def test_ap_at_threshold_check():
    test = chk.ap_at_threshold(expected=0.21, ap50=0.49, threshold=0.75)
    assert test(0.215) is None and test(0.242) is None  # the rounding of the saved predictions (0.032 seen)
    assert "pass threshold=0.75" in test(0.49)
    assert "cannot rise" in test(0.6)
    assert "ultralytics gives 0.210" in test(0.1)
    assert "number" in test("0.21") and "number" in test(True)


def test_predicted_order_check_grades_against_the_rule_not_one_run():
    lower = chk.predicted_order("B>A", "freeze=24", "freeze=10")
    assert lower("lower") is None
    assert "lower than freeze=10, on every seed" in lower("higher")
    assert "one of" in lower("worse")
    tie = chk.predicted_order("no reliable difference", "freeze=24", "freeze=10")
    assert tie("no reliable difference") is None
    assert "one run's order is not a result" in tie("lower")
    assert chk.predicted_order("A>B", "x", "y")("higher") is None
    with pytest.raises(ValueError, match="too few seeds"):
        chk.predicted_order("too few seeds", "x", "y")
