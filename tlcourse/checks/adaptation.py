"""Exercise checks for the domain-adaptation lesson (07), and the reference implementations they compare with.

Each check is a factory: it returns a ``test(answer) -> message | None`` for :func:`tlcourse.checks.exercise`
(``None`` when the answer is right, else a message explaining the mistake)::

    tl.checks.exercise("Exercise 1: the gradient reversal layer", grad_reverse, adaptation.gradient_reversal(), hint)

The references (:func:`grad_reverse`, :func:`coral_loss`, :func:`dev_risk`) are what the checks compare a learner's
function with; the lesson runs on them until the learner's own version is written.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np

Test = Callable[[Any], str | None]


def dann_lambda(p: float, gamma: float = 10.0) -> float:
    """The DANN adaptation factor at training progress ``p`` in [0, 1]: 2 / (1 + exp(-gamma p)) - 1."""
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


def grad_reverse(x: Any, lambd: float) -> Any:
    """Reference gradient reversal: the identity forward, the incoming gradient times ``-lambd`` backward.

    ``x``: a tensor of any shape; returns a new tensor with the same values.
    """
    import torch

    class _GradReverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor, lambd: float) -> torch.Tensor:
            ctx.lambd = lambd
            return x.view_as(x)

        @staticmethod
        def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
            return -ctx.lambd * grad_output, None

    return _GradReverse.apply(x, lambd)


def coral_loss(fs: Any, ft: Any) -> Any:
    """Reference Deep CORAL loss: ``||C_S - C_T||_F^2 / (4 d^2)``, C the unbiased covariance (Sun & Saenko 2016).

    ``fs``: source features [n_s, d]; ``ft``: target features [n_t, d] -> a scalar tensor.
    """
    d = fs.shape[1]

    def cov(x: Any) -> Any:
        xc = x - x.mean(dim=0, keepdim=True)
        return xc.T @ xc / (x.shape[0] - 1)

    return ((cov(fs) - cov(ft)) ** 2).sum() / (4 * d * d)


def dev_risk(errors: Any, weights: Any) -> float:
    """Reference Deep Embedded Validation (You et al. 2019): the target risk estimated from source validation.

    ``errors``: the loss of each source validation example [n] (here 0/1 errors); ``weights``: its density
    ratio p_T(x) / p_S(x) [n]. Importance weighting alone, ``mean(w l)``, is unbiased but noisy; DEV subtracts
    the control variate ``w`` (whose mean is 1)::

        eta = -Cov(w l, w) / Var(w);   risk = mean(w l) + eta * mean(w) - eta
    """
    err = np.asarray(errors, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    wl = w * err
    var_w = float(np.var(w, ddof=1))
    eta = -float(np.cov(wl, w, ddof=1)[0, 1]) / var_w if var_w > 0 else 0.0
    return float(wl.mean() + eta * w.mean() - eta)


def _call(answer: Any, *args: Any) -> tuple[Any, str | None]:
    try:
        return answer(*args), None
    except Exception as exc:  # noqa: BLE001  (a learner's bug, reported as a message)
        return None, f"your function raised {type(exc).__name__}: {exc}."


def gradient_reversal() -> Test:
    """Answer: ``grad_reverse(x, lambd)``, the identity forward and ``-lambd`` times the gradient backward."""
    import torch

    def test(answer: Any) -> str | None:
        if not callable(answer):
            return f"give a function grad_reverse(x, lambd), got {type(answer).__name__}."
        gen = torch.Generator().manual_seed(0)
        base = torch.randn(5, 3, generator=gen, requires_grad=True)
        upstream = torch.randn(5, 3, generator=gen)
        for lambd in (0.3, 1.0):
            x = base * 2.0  # a tensor inside a graph, as the features are
            y, problem = _call(answer, x, lambd)
            if problem:
                if "backward" in problem or "gradient" in problem:
                    problem += " backward must return one gradient per input of forward: (grad, None)."
                return problem
            if not torch.is_tensor(y) or y.shape != x.shape or not torch.allclose(y, x):
                return "the forward pass must return the input's values unchanged (the identity)."
            if not y.requires_grad:
                return "the output is cut from the graph (no requires_grad): did you return x.detach() or a copy?"
            base.grad = None
            _, problem = _call(lambda out: (out * upstream).sum().backward(), y)
            if problem:
                return problem + " backward must return one gradient per input of forward: (grad, None)."
            got, want = base.grad, -lambd * 2.0 * upstream
            if got is not None and torch.allclose(got, want, atol=1e-6):
                continue
            if got is None:
                return "no gradient reached x: backward must return the reversed gradient for x."
            if torch.allclose(got, -want) or torch.allclose(got, 2.0 * upstream):
                return "the gradient arrives unchanged or multiplied by +lambda: the reversal needs the minus sign."
            if torch.allclose(got, -2.0 * upstream):
                return "the gradient is negated but not scaled: multiply it by lambda as well."
            return f"with lambda = {lambd} the gradient should be -lambda times the incoming one; it is not."
        return None

    return test


def coral() -> Test:
    """Answer: ``coral_loss(fs, ft)``, Deep CORAL's ``||C_S - C_T||_F^2 / (4 d^2)`` as a scalar tensor."""
    import torch

    def test(answer: Any) -> str | None:
        if not callable(answer):
            return f"give a function coral_loss(fs, ft), got {type(answer).__name__}."
        gen = torch.Generator().manual_seed(0)
        fs, ft = torch.randn(40, 6, generator=gen), torch.randn(25, 6, generator=gen) * 1.7
        got, problem = _call(answer, fs, ft)
        if problem:
            return problem
        if not (torch.is_tensor(got) and got.dim() == 0):
            return "return a scalar tensor (0-dim), so it can be added to the loss and back-propagated."
        want = float(coral_loss(fs, ft))
        got = float(got)
        if abs(got - want) <= 1e-5 * max(1.0, want):
            shifted, problem = _call(answer, fs, ft + 3.0)
            if problem:
                return problem
            if abs(float(shifted) - want) > 1e-5 * max(1.0, want):
                return "the loss changes when the target is shifted by a constant: subtract each domain's mean."
            return None
        d = fs.shape[1]

        def biased(x: torch.Tensor) -> torch.Tensor:
            xc = x - x.mean(0)
            return xc.T @ xc / x.shape[0]

        sq = float(((torch.cov(fs.T) - torch.cov(ft.T)) ** 2).sum())
        if abs(got - sq) < 1e-4 * sq:
            return "that is ||C_S - C_T||_F^2 without the factor 1 / (4 d^2)."
        if abs(got - math.sqrt(sq) / (4 * d * d)) < 1e-6:
            return "the Frobenius norm must be squared: sum the squared differences, no square root."
        if abs(got - float(((biased(fs) - biased(ft)) ** 2).sum()) / (4 * d * d)) < 1e-6:
            return "the covariance divides by n - 1 (unbiased), not by n."
        if abs(got - float(((fs.T @ fs / 39 - ft.T @ ft / 24) ** 2).sum()) / (4 * d * d)) < 1e-5:
            return "subtract each domain's mean before the products: a covariance is centred."
        return f"got {got:.6f}, expected {want:.6f} = ||C_S - C_T||_F^2 / (4 d^2)."

    return test


def dev_selector() -> Test:
    """Answer: ``dev_risk(errors, weights)`` -> float, Deep Embedded Validation (see :func:`dev_risk`)."""

    def test(answer: Any) -> str | None:
        if not callable(answer):
            return f"give a function dev_risk(errors, weights) -> float, got {type(answer).__name__}."
        rng = np.random.default_rng(0)
        w = rng.lognormal(0.0, 1.0, 200)  # mean about 1.6: the control variate's term is not zero
        errors = (rng.random(200) < 0.2 + 0.3 * (w > 1)).astype(float)
        got, problem = _call(answer, errors, w)
        if problem:
            return problem
        if not isinstance(got, int | float | np.floating) or isinstance(got, bool):
            return f"return a float (the estimated target risk), got {type(got).__name__}."
        want = dev_risk(errors, w)
        if abs(float(got) - want) <= 1e-6:
            return None
        if abs(float(got) - float((w * errors).mean())) < 1e-6:
            return "that is plain importance weighting, mean(w * l): add DEV's control variate eta * (mean(w) - 1)."
        if abs(float(got) - float(errors.mean())) < 1e-6:
            return "that is the unweighted source error: weight each example by its density ratio."
        return f"got {float(got):.4f}, expected {want:.4f}: eta = -Cov(w l, w) / Var(w), risk = mean(w l) + eta (mean(w) - 1)."

    return test


def lambda_progress(lam: float, gamma: float = 10.0) -> Test:
    """Answer: the training progress p at which :func:`dann_lambda` reaches ``lam``, p = ln((1 + lam) / (1 - lam)) / gamma."""

    def test(answer: Any) -> str | None:
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
                    "invert 2 / (1 + exp(-10 p)) - 1 step by step.")
        return f"{answer:.4g} is outside [0, 1]: p is the fraction of training done."

    return test


def mmd_linear() -> Test:
    """Answer: ``mmd_linear(fs, ft)``, the squared MMD with a linear kernel, ``||mean(fs) - mean(ft)||^2``."""
    import torch

    def test(answer: Any) -> str | None:
        if not callable(answer):
            return f"give a function of two feature tensors [n, d] and [m, d], got {type(answer).__name__}."
        gen = torch.Generator().manual_seed(0)
        fs = torch.randn(32, 5, generator=gen)
        ft = torch.randn(24, 5, generator=gen) * 2.0 + 0.5
        got, problem = _call(answer, fs, ft)
        same, problem2 = _call(answer, fs, fs)
        if problem or problem2:
            return problem or problem2
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

    return test


def adabn(model: Any, x_target: Any, batch: int = 64) -> Test:
    """Answer: ``adabn_stream(model_copy, x_target)``, AdaBN in place from batches of ``batch`` images.

    Every weight must be unchanged and every BatchNorm layer's statistics must be the average over
    the target batches (means within 0.1 standard deviations, variances within 15% of the
    reference: reset statistics, ``momentum=None``, the batches forwarded in training mode).
    """
    import torch

    def test(answer: Any) -> str | None:
        if not callable(answer):
            return f"give a function (model, x_target) -> None, got {type(answer).__name__}."
        bn_types = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)
        mine = copy.deepcopy(model)
        before = {k: v.clone() for k, v in mine.state_dict().items()}
        with torch.no_grad():
            _, problem = _call(answer, mine, x_target)
        if problem:
            return problem
        after = mine.state_dict()
        weights = [k for k in before if "running" not in k and "num_batches" not in k]
        changed = [k for k in weights if not torch.equal(before[k], after[k])]
        if changed:
            return f"AdaBN changes no weight, but {changed[:3]} changed: did an optimizer step run?"
        bn_keys = [k for k in before if k.endswith("running_mean")]
        if all(torch.equal(before[k], after[k]) for k in bn_keys):
            return ("no BatchNorm statistic changed: BatchNorm only updates them in training mode "
                    "(model.train()), and the images must go through the model.")
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
                        "the exact average over the target batches.")
            if bool(((after[f"{name}.running_var"] - want_var).abs() > 0.15 * want_var + 1e-4).any()):
                return f"layer {name}: the running variance differs from the target statistics."
        return None

    return test
