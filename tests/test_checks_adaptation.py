"""Exercise checks of lesson 07 (tlcourse.checks.adaptation): right answers pass, typical wrong ones
get a message that names the mistake."""

import math

import torch
from torch import nn

from tlcourse.checks import adaptation as ck


def test_lambda_progress():
    right = math.log(19) / 10
    assert ck.lambda_progress(right, 0.9) is None
    assert abs(ck.dann_lambda(right) - 0.9) < 1e-9
    assert "divide by gamma" in ck.lambda_progress(math.log(19), 0.9)
    assert "lambda = " in ck.lambda_progress(0.5, 0.9)
    assert "a number" in ck.lambda_progress("0.29", 0.9)


def test_mmd_linear():
    assert ck.mmd_linear(lambda a, b: ((a.mean(0) - b.mean(0)) ** 2).sum(), torch) is None
    assert "square root" in ck.mmd_linear(lambda a, b: (a.mean(0) - b.mean(0)).norm(), torch)
    assert "averaged" in ck.mmd_linear(lambda a, b: ((a.mean(0) - b.mean(0)) ** 2).mean(), torch)
    assert "scalar" in ck.mmd_linear(lambda a, b: a.mean(0) - b.mean(0), torch)


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 5), nn.BatchNorm1d(5))  # fmt: skip


def test_adabn():
    model = _model()
    x = torch.randn(256, 3, 8, 8) * 2 + 1  # a "target" far from BatchNorm's initial statistics

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

    assert ck.adabn(right, model, x, torch) is None
    assert ck.adabn(one_pass, model, x, torch) is None
    assert "momentum" in ck.adabn(default_momentum, model, x, torch)
    assert "training mode" in ck.adabn(eval_mode, model, x, torch)


def test_choose_on_validation():
    table = {"a": {"target val": 0.5, "target test": 0.40}, "b": {"target val": 0.45, "target test": 0.48}}
    assert ck.choose_on_validation(("a", 0.40), table) is None
    assert "*test* split" in ck.choose_on_validation(("b", 0.48), table)
    assert "validation accuracy" in ck.choose_on_validation(("a", 0.5), table)
    assert "not one of" in ck.choose_on_validation(("c", 0.5), table)
