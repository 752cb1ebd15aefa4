"""Exercise checks of lesson 07 (tlcourse.checks.adaptation): right answers pass, typical wrong ones
get a message that names the mistake; the references agree with their formulas."""

import math

import numpy as np
import torch
from torch import nn

from tlcourse.checks import adaptation as ck


def test_lambda_progress():
    right = math.log(19) / 10
    test = ck.lambda_progress(0.9)
    assert test(right) is None
    assert abs(ck.dann_lambda(right) - 0.9) < 1e-9
    assert "divide by gamma" in test(math.log(19))
    assert "lambda = " in test(0.5)
    assert "a number" in test("0.29")


def test_mmd_linear():
    test = ck.mmd_linear()
    assert test(lambda a, b: ((a.mean(0) - b.mean(0)) ** 2).sum()) is None
    assert "square root" in test(lambda a, b: (a.mean(0) - b.mean(0)).norm())
    assert "averaged" in test(lambda a, b: ((a.mean(0) - b.mean(0)) ** 2).mean())
    assert "scalar" in test(lambda a, b: a.mean(0) - b.mean(0))


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lambd):
        ctx.lambd = lambd
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -ctx.lambd * g, None


class _NoMinus(_Reverse):
    @staticmethod
    def backward(ctx, g):
        return ctx.lambd * g, None


class _NoScale(_Reverse):
    @staticmethod
    def backward(ctx, g):
        return -g, None


class _OneGradient(_Reverse):
    @staticmethod
    def backward(ctx, g):
        return -ctx.lambd * g


def test_gradient_reversal():
    test = ck.gradient_reversal()
    assert test(ck.grad_reverse) is None
    assert test(_Reverse.apply) is None
    assert "minus sign" in test(_NoMinus.apply)
    assert "minus sign" in test(lambda x, lambd: x)  # plain identity: the gradient passes unchanged
    assert "not scaled" in test(_NoScale.apply)
    assert "(grad, None)" in test(_OneGradient.apply)
    assert "cut from the graph" in test(lambda x, lambd: x.detach())
    assert "identity" in test(lambda x, lambd: -lambd * x)
    assert "give a function" in test(None)


def test_coral_reference_matches_torch_cov():
    a, b = torch.randn(50, 4), torch.randn(30, 4) * 2
    want = ((torch.cov(a.T) - torch.cov(b.T)) ** 2).sum() / (4 * 4 * 4)
    assert torch.allclose(ck.coral_loss(a, b), want)
    assert float(ck.coral_loss(a, a + 7.0)) < 1e-10


def test_coral():
    test = ck.coral()

    def cov(x, n_minus=1):
        xc = x - x.mean(0)
        return xc.T @ xc / (x.shape[0] - n_minus)

    d2 = lambda fs: 4 * fs.shape[1] ** 2  # noqa: E731
    assert test(ck.coral_loss) is None
    assert test(lambda fs, ft: ((torch.cov(fs.T) - torch.cov(ft.T)) ** 2).sum() / d2(fs)) is None
    assert "1 / (4 d^2)" in test(lambda fs, ft: ((cov(fs) - cov(ft)) ** 2).sum())
    assert "squared" in test(lambda fs, ft: (cov(fs) - cov(ft)).norm() / d2(fs))
    assert "n - 1" in test(lambda fs, ft: ((cov(fs, 0) - cov(ft, 0)) ** 2).sum() / d2(fs))
    uncentred = lambda fs, ft: ((fs.T @ fs / (len(fs) - 1) - ft.T @ ft / (len(ft) - 1)) ** 2).sum() / d2(fs)  # noqa: E731
    assert "centred" in test(uncentred)
    assert "scalar" in test(lambda fs, ft: cov(fs) - cov(ft))
    assert "raised" in test(lambda fs, ft: fs @ ft)


def test_dev_risk_reference():
    # By hand: w l = [2, 0, 0, 2] (mean 1), w = [2, 1, 1, 2] (mean 1.5); Cov(w l, w) = 2/3, Var(w) = 1/3,
    # so eta = -2 and the risk is 1 + (-2)(1.5) + 2 = 0.
    assert abs(ck.dev_risk([1, 0, 0, 1], [2, 1, 1, 2])) < 1e-12
    rng = np.random.default_rng(1)
    errors = (rng.random(300) < 0.3).astype(float)
    w = rng.lognormal(0, 1, 300)
    assert abs(ck.dev_risk(errors, w) - ck.dev_risk(errors, list(w))) < 1e-12  # arrays or lists


def test_dev_selector():
    test = ck.dev_selector()
    assert test(ck.dev_risk) is None
    assert "control variate" in test(lambda e, w: float((w * e).mean()))
    assert "unweighted" in test(lambda e, w: float(e.mean()))
    assert "a float" in test(lambda e, w: "0.3")
    assert "expected" in test(lambda e, w: 0.5)


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 5), nn.BatchNorm1d(5))


def test_adabn():
    model = _model()
    x = torch.randn(256, 3, 8, 8) * 2 + 1  # a "target" far from BatchNorm's initial statistics
    test = ck.adabn(model, x)

    def right(m, xt):
        for layer in m.modules():
            if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):
                layer.reset_running_stats()
                layer.momentum = None
        m.train()
        for k in range(0, len(xt), 64):
            m(xt[k : k + 64])

    def default_momentum(m, xt):
        m.train()
        for k in range(0, len(xt), 64):
            m(xt[k : k + 64])

    def eval_mode(m, xt):
        m.eval()
        m(xt)

    def one_pass(m, xt):  # not a stream, but the same statistics up to batching: accepted
        for layer in m.modules():
            if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):
                layer.momentum = 1.0
        m.train()
        m(xt)

    assert test(right) is None
    assert test(one_pass) is None
    assert "momentum" in test(default_momentum)
    assert "training mode" in test(eval_mode)
