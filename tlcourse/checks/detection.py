"""Exercise checks for the YOLO detection lesson (05).

Each function returns ``None`` when the answer is right, else a message explaining the mistake;
pass it as the ``test`` of :func:`tlcourse.checks.exercise` (the factories return such a test).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import Test, chosen_on_validation

# The YOLOv5 repository's train.py flags and the ultralytics train() arguments they became.
FLAG_TO_ARG = {"--img": "imgsz", "--batch": "batch", "--epochs": "epochs", "--data": "data",
               "--weights": "model", "--freeze": "freeze"}


def yolo_line(image_size: tuple[int, int], box_xyxy: tuple[float, float, float, float],
              cls: int) -> Callable[[Any], str | None]:
    """Test for "write the YOLO label line of this pixel box" (``image_size`` = (width, height))."""
    w_img, h_img = image_size
    x0, y0, x1, y1 = box_xyxy
    want = [cls, (x0 + x1) / 2 / w_img, (y0 + y1) / 2 / h_img, (x1 - x0) / w_img, (y1 - y0) / h_img]

    def test(answer: Any) -> str | None:
        if not isinstance(answer, str):
            return f"answer with the line as a string, e.g. '0 0.5 0.5 0.2 0.1', got {type(answer).__name__}."
        fields = answer.split()
        if len(fields) != 5:
            return f"a YOLO box line has 5 fields (class cx cy w h), yours has {len(fields)}."
        try:
            got = [int(fields[0])] + [float(v) for v in fields[1:]]
        except ValueError:
            return "the class must be an integer and the other four fields numbers."
        if got[0] != cls:
            return f"the class id is {got[0]}, the box is of class {cls}."
        if max(got[1:]) > 1.0:
            return "some values are above 1: YOLO coordinates are fractions of the image width/height, not pixels."
        close = [abs(a - b) < 1e-3 for a, b in zip(got[1:], want[1:], strict=True)]
        if all(close):
            return None
        corner = [x0 / w_img, y0 / h_img]
        if all(abs(a - b) < 1e-3 for a, b in zip(got[1:3], corner, strict=True)):
            return "you gave the top-left corner; YOLO wants the box *centre* (cx, cy)."
        if all(abs(a - b) < 1e-3 for a, b in zip(got[3:], [x1 / w_img, y1 / h_img], strict=True)):
            return "the last two fields are the bottom-right corner; YOLO wants width and height."
        if close[:2] == [True, True] and abs(got[3] - want[4]) < 1e-3:
            return "width and height are swapped: w is along x (divide by the image width)."
        return (f"expected {cls} {want[1]:.4f} {want[2]:.4f} {want[3]:.4f} {want[4]:.4f}: centre, then "
                "size, each divided by the image width (x) or height (y).")

    return test


def train_kwargs(command: str) -> Callable[[Any], str | None]:
    """Test for "translate this YOLOv5 ``train.py`` command into ``YOLO(model).train(**kwargs)``".

    The answer is a dict with the ``model`` (what ``YOLO(...)`` gets) and the train() arguments.
    """
    tokens = command.split()
    want: dict[str, Any] = {}
    for flag, value in zip(tokens, tokens[1:], strict=False):
        if flag in FLAG_TO_ARG:
            want[FLAG_TO_ARG[flag]] = int(value) if value.isdigit() else value

    def test(answer: Any) -> str | None:
        if not isinstance(answer, Mapping):
            return "answer with a dict, e.g. {'model': ..., 'data': ..., 'imgsz': ...}."
        for old, new in (("img", "imgsz"), ("weights", "model"), ("img_size", "imgsz")):
            if old in answer:
                return f"'{old}' is the old train.py flag; ultralytics calls it '{new}'."
        missing = sorted(set(want) - set(answer))
        if missing:
            return f"missing {missing}: every flag of the command has an ultralytics argument."
        extra = sorted(set(answer) - set(want))
        if extra:
            return f"{extra} are not in the command; leave them at ultralytics' defaults."
        for k, v in want.items():
            if answer[k] != v:
                return f"{k} = {answer[k]!r}, the command says {v!r}."
        return None

    return test


def trainable_count(expected: int, total: int, frozen_layers: int) -> Callable[[Any], str | None]:
    """Test for "how many parameters train with ``freeze=frozen_layers``" (``expected`` measured)."""

    def test(answer: Any) -> str | None:
        if not isinstance(answer, int):
            return f"answer with an int (a number of parameters), got {type(answer).__name__}."
        if answer == expected:
            return None
        if answer == total:
            return "that is every parameter: freeze=10 stops gradients for layers model.0 to model.9."
        if answer == total - expected:
            return "that is the number of *frozen* parameters; the question asks for the trainable ones."
        return (f"{answer:,} is not it ({expected:,} train). Sum p.numel() over named_parameters() whose "
                f"name does not start with model.0. ... model.{frozen_layers - 1}. (and note that "
                "ultralytics always freezes the DFL layer, '.dfl').")

    return test


def choose_run(runs: Mapping[str, Mapping[str, float]], key: str = "map50_95") -> Test:
    """Test for "choose a run on validation, report its test number" (:func:`tlcourse.checks.chosen_on_validation`).

    ``runs`` maps run name -> {"val_<key>": ..., "test_<key>": ...}; the answer is (name, test value).
    """
    return chosen_on_validation({r: (v[f"val_{key}"], v[f"test_{key}"]) for r, v in runs.items()}, "run",
                                metric=key.replace("map", "mAP").replace("_", "-", 1) if key.startswith("map") else key)


def iou_function(fn: Any) -> str | None:
    """Check an ``iou(a, b)`` for two boxes ``(x0, y0, x1, y1)`` in pixels."""
    if not callable(fn):
        return "give a function iou(a, b)."
    cases = [
        (((0, 0, 10, 10), (0, 0, 10, 10)), 1.0, "identical boxes"),
        (((0, 0, 10, 10), (5, 0, 15, 10)), 50 / 150, "half-overlapping boxes (intersection 50, union 150)"),
        (((0, 0, 10, 10), (10, 0, 20, 10)), 0.0, "boxes that only touch"),
        (((0, 0, 10, 10), (20, 20, 30, 30)), 0.0, "disjoint boxes (clamp a negative overlap to 0)"),
        (((0, 0, 10, 10), (2, 2, 4, 4)), 4 / 100, "a box inside another"),
    ]
    for (a, b), want, what in cases:
        try:
            got = float(fn(a, b))
        except Exception as err:  # a learner's function: report any failure in plain words
            return f"iou{a, b} raised {type(err).__name__}: {err}."
        if abs(got - want) > 1e-6:
            hint = " Did you forget the union (area a + area b - intersection)?" if abs(got - want) > 0.1 else ""
            return f"for {what} iou should be {want:.4f}, yours gives {got:.4f}.{hint}"
        if abs(float(fn(b, a)) - got) > 1e-9:
            return "iou(a, b) and iou(b, a) differ; IoU is symmetric."
    return None


def ap_at_threshold(expected: float, ap50: float, threshold: float, tol: float = 0.05) -> Callable[[Any], str | None]:
    """Test for "compute one class's AP at IoU ``threshold``" (``expected``: ultralytics' value).

    ``ap50`` is the same class's AP at IoU 0.5, to recognise the threshold left at 0.5. ``tol``: lesson 05
    recomputes AP from the predictions ultralytics writes to text files (6 significant digits). With
    ultralytics' in-memory predictions the same matching gives exactly its AP at IoU 0.5 and 0.75 (checked
    on seed 48); through the files the two differed by at most 0.002 at IoU 0.5 but by 0.032 at 0.75 on one
    of seeds 42-48 (a strict threshold turns near-ties into different matches). The threshold left at 0.5
    and an AP above AP50 are recognised before the tolerance is used.
    """

    def test(answer: Any) -> str | None:
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            return f"answer with a number (the AP), got {type(answer).__name__}."
        got = float(answer)
        if abs(got - expected) <= tol:
            return None
        if abs(got - ap50) <= 1e-9 and abs(expected - ap50) > tol:
            return f"that is the AP at IoU 0.5; pass threshold={threshold}."
        if got > ap50 + tol:
            return (f"{got:.3f} is above the AP at IoU 0.5 ({ap50:.3f}): a stricter threshold can only turn "
                    "true positives into false ones, so AP cannot rise.")
        return (f"ultralytics gives {expected:.3f} for this class at IoU {threshold}, yours {got:.3f}: call "
                f"average_precision(focus, {threshold}, iou) with your iou from Exercise 5.")

    return test


ORDER_WORDS = {"A>B": "higher", "B>A": "lower", "no reliable difference": "no reliable difference"}


def predicted_order(verdict: str, change: str, baseline: str) -> Callable[[Any], str | None]:
    """Test for "predict whether ``change`` scores higher, lower or no differently than ``baseline``".

    ``verdict`` is the course's rule over the ledger's seeds for "change beats baseline"
    (:data:`tlcourse.claims.VERDICTS`: ``"A>B"``, ``"B>A"`` or ``"no reliable difference"``).
    """
    if verdict not in ORDER_WORDS:
        raise ValueError(f"verdict must be one of {sorted(ORDER_WORDS)}, got {verdict!r} (too few seeds to grade)")
    want = ORDER_WORDS[verdict]

    def test(answer: Any) -> str | None:
        if answer not in ORDER_WORDS.values():
            return f"answer with one of {sorted(ORDER_WORDS.values())}, got {answer!r}."
        if answer == want:
            return None
        if want == "no reliable difference":
            return (f"over the ledger's seeds {change} is sometimes above and sometimes below {baseline} (or too "
                    "close to call): one run's order is not a result.")
        return f"over the ledger's seeds {change} scores {want} than {baseline}, on every seed."

    return test
