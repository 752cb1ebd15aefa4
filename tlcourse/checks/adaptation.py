"""Exercise checks for the domain-adaptation lesson (07).

Each function returns ``None`` when the answer is right, else a message explaining the mistake;
pass it as the ``test`` of :func:`tlcourse.checks.exercise`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any


def dann_lambda(p: float, gamma: float = 10.0) -> float:
    """The DANN adaptation factor at training progress ``p`` in [0, 1]: 2 / (1 + exp(-gamma p)) - 1."""
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


def lambda_progress(answer: Any, lam: float, gamma: float = 10.0) -> str | None:
    """Check ``answer``: the training progress p at which :func:`dann_lambda` reaches ``lam``,
    p = ln((1 + lam) / (1 - lam)) / gamma."""
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        return f"answer with a number (the progress p in [0, 1]), got {type(answer).__name__}."
    want = math.log((1 + lam) / (1 - lam)) / gamma
    if abs(answer - want) <= 1e-4:
        return None
    if abs(answer - math.log((1 + lam) / (1 - lam))) <= 1e-3:
        return f"{answer:.4g} forgets to divide by gamma = 10 (p must lie in [0, 1])."
    if 0.0 <= answer <= 1.0:
        at = dann_lambda(float(answer), gamma)
        return (f"at p = {answer:.4g} the schedule gives lambda = {at:.3f}, not {lam}; "
                "invert 2 / (1 + exp(-10 p)) - 1 step by step.")  # fmt: skip
    return f"{answer:.4g} is outside [0, 1]: p is the fraction of training done."


def mmd_linear(answer: Any, torch: Any) -> str | None:
    """Check ``answer(fs, ft)``: the squared MMD with a linear kernel, ``||mean(fs) - mean(ft)||^2``."""
    if not callable(answer):
        return f"give a function of two feature tensors [n, d] and [m, d], got {type(answer).__name__}."
    gen = torch.Generator().manual_seed(0)
    fs = torch.randn(32, 5, generator=gen)
    ft = torch.randn(24, 5, generator=gen) * 2.0 + 0.5
    try:
        got = answer(fs, ft)
        same = answer(fs, fs)
    except Exception as exc:  # noqa: BLE001
        return f"your function raised {type(exc).__name__}: {exc}."
    if not (torch.is_tensor(got) and got.dim() == 0):
        return "return a scalar tensor (0-dim), so it can be added to the loss and back-propagated."
    want = ((fs.mean(0) - ft.mean(0)) ** 2).sum()
    if abs(float(same)) > 1e-6:
        return "the MMD of a sample with itself must be 0."
    if abs(float(got) - float(want)) > 1e-4 * max(1.0, float(want)):
        if abs(float(got) - float(want) ** 0.5) < 1e-4:
            return "that is the distance, not its square: drop the square root."
        if abs(float(got) - float(((fs.mean(0) - ft.mean(0)) ** 2).mean())) < 1e-5:
            return "you averaged over the d features; the squared norm sums over them."
        return f"got {float(got):.4f}, expected ||mean(fs) - mean(ft)||^2 = {float(want):.4f}."
    return None


def adabn(answer: Any, model: Any, x_target: Any, torch: Any, batch: int = 64) -> str | None:
    """Check ``answer(model_copy, x_target)``: AdaBN in place from batches of ``batch`` images.

    Every weight must be unchanged and every BatchNorm layer's statistics must be the average over
    the target batches (means within 0.1 standard deviations, variances within 15% of the
    reference: reset statistics, ``momentum=None``, the batches forwarded in training mode).
    """
    if not callable(answer):
        return f"give a function (model, x_target) -> None, got {type(answer).__name__}."
    bn_types = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)
    mine = copy.deepcopy(model)
    before = {k: v.clone() for k, v in mine.state_dict().items()}
    try:
        with torch.no_grad():
            answer(mine, x_target)
    except Exception as exc:  # noqa: BLE001
        return f"your function raised {type(exc).__name__}: {exc}."
    after = mine.state_dict()
    weights = [k for k in before if "running" not in k and "num_batches" not in k]
    changed = [k for k in weights if not torch.equal(before[k], after[k])]
    if changed:
        return f"AdaBN changes no weight, but {changed[:3]} changed: did an optimizer step run?"
    bn_keys = [k for k in before if k.endswith("running_mean")]
    if all(torch.equal(before[k], after[k]) for k in bn_keys):
        return ("no BatchNorm statistic changed: BatchNorm only updates them in training mode "
                "(model.train()), and the images must go through the model.")  # fmt: skip
    # The reference: the same batches, statistics reset, a cumulative average (momentum=None).
    ref = copy.deepcopy(model)
    for m in ref.modules():
        if isinstance(m, bn_types):
            m.reset_running_stats()
            m.momentum = None
    ref.train()
    with torch.no_grad():
        for k in range(0, len(x_target), batch):
            ref(x_target[k : k + batch])
    ref_state = ref.state_dict()
    for name, m in ref.named_modules():
        if not isinstance(m, bn_types):
            continue
        got_mean, want_mean = after[f"{name}.running_mean"], ref_state[f"{name}.running_mean"]
        want_var = ref_state[f"{name}.running_var"]
        if bool(((got_mean - want_mean).abs() > 0.1 * want_var.sqrt() + 1e-4).any()):
            gap = float((got_mean - want_mean).abs().max())
            return (f"layer {name}: the running mean is off by up to {gap:.3g} from the target "
                    "statistics. With the default momentum 0.1 it is an exponential average that "
                    "still remembers the source; reset_running_stats() and momentum = None give "
                    "the exact average over the target batches.")  # fmt: skip
        if bool(((after[f"{name}.running_var"] - want_var).abs() > 0.15 * want_var + 1e-4).any()):
            return f"layer {name}: the running variance differs from the target statistics."
    return None


def choose_on_validation(answer: Any, table: Mapping[str, Mapping[str, float]]) -> str | None:
    """Check ``(method, reported)``: the method with the best ``"target val"`` accuracy and its
    ``"target test"`` accuracy. ``table[method]`` holds both numbers."""
    if not (isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], str)):
        return "answer with a tuple (method name, the test accuracy you report)."
    method, reported = answer
    if method not in table:
        return f"{method!r} is not one of the methods: {', '.join(table)}."
    best_val = max(table, key=lambda m: table[m]["target val"])
    best_test = max(table, key=lambda m: table[m]["target test"])
    if table[method]["target val"] < table[best_val]["target val"]:
        if method == best_test:
            return (f"you chose {method!r}, the best on the *test* split: choosing on test turns it "
                    f"into a validation split and the number you report is optimistic. Choose on "
                    f"the labelled target validation split ({best_val!r}).")  # fmt: skip
        return (f"{method!r} is not the best on the target validation split; {best_val!r} is "
                f"({table[best_val]['target val']:.3f}).")  # fmt: skip
    if abs(float(reported) - table[method]["target test"]) > 1e-9:
        if abs(float(reported) - table[method]["target val"]) < 1e-9:
            return ("you reported the validation accuracy: it was used for the choice, so it is "
                    "biased upwards; report the chosen method's test accuracy.")  # fmt: skip
        return f"report the chosen method's target test accuracy ({table[method]['target test']:.3f})."
    return None
