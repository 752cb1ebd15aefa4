"""tlcourse.checks.interview: the drills of lessons 00 and 08 (find the bug, from scratch, decisions)."""

import copy
import re
import time

import pytest

import tlcourse.interview as iv
from tlcourse.checks import interview as drills

NB08 = iv.SOLUTIONS / "08_interview_prep.ipynb"


def _cells(path):
    """(cell type, source) of every cell of a notebook."""
    import json

    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"]) for c in nb["cells"]]


def test_drill_replaced_head():
    import torchvision
    from torch import nn

    model = torchvision.models.mobilenet_v2(weights=None)
    ref = {k: v.clone() for k, v in model.state_dict().items()}
    good = copy.deepcopy(model)
    good.requires_grad_(False)
    good.classifier[1] = nn.Linear(good.last_channel, 5)
    assert drills.replaced_head(5, ref)(good) is None
    unfrozen = copy.deepcopy(model)
    unfrozen.classifier[1] = nn.Linear(unfrozen.last_channel, 5)
    assert "still train" in drills.replaced_head(5, ref)(unfrozen)
    frozen_head = copy.deepcopy(good)
    frozen_head.requires_grad_(False)
    assert "head is frozen" in drills.replaced_head(5, ref)(frozen_head)
    assert "has 5 outputs" in drills.replaced_head(7, ref)(good)
    changed = copy.deepcopy(good)
    with __import__("torch").no_grad():
        changed.features[0][0].weight.add_(1.0)
    assert "changed" in drills.replaced_head(5, ref)(changed)


def _llrd(blocks, head, decay=0.8, wd=0.01):
    groups = []
    for depth, module in [(None, head)] + [(len(blocks) - 1 - i, b) for i, b in enumerate(blocks)]:
        lr = 1e-3 if depth is None else 1e-4 * decay**depth
        ps = list(module.parameters())
        groups.append({"params": [p for p in ps if p.ndim > 1], "lr": lr, "weight_decay": wd})
        groups.append({"params": [p for p in ps if p.ndim <= 1], "lr": lr, "weight_decay": 0.0})
    return groups


def test_drill_llrd_groups():
    from torch import nn

    blocks = [nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3)) for _ in range(4)]
    head = nn.Linear(3, 2)
    check = drills.llrd_groups(blocks, head, 1e-3, 1e-4, 0.8, 0.01)
    assert check(_llrd(blocks, head)) is None
    assert "expected 5.12e-05" in check(_llrd(blocks, head, decay=0.5))
    assert "bias or normalisation" in check([{**g, "weight_decay": 0.01} for g in _llrd(blocks, head)])
    assert "weight matrix" in check([{**g, "weight_decay": 0.0} for g in _llrd(blocks, head)])
    assert "in no group" in check(_llrd(blocks, head)[2:])
    groups = _llrd(blocks, head)
    assert "repeats a parameter" in check(groups + [groups[0]])
    assert "lacks the key(s) weight_decay" in check([{"params": [], "lr": 1.0}])
    assert "belong to neither" in check(groups + [{"params": [nn.Parameter(nn.init.zeros_(nn.Linear(1, 1).weight))],
                                                   "lr": 1.0, "weight_decay": 0.01}])


def _keras_pair():
    import keras

    base = keras.Sequential([
        keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, name="c1"),
        keras.layers.BatchNormalization(name="b1"), keras.layers.Conv2D(4, 3, name="c2"),
        keras.layers.BatchNormalization(name="b2"), keras.layers.Conv2D(4, 3, name="c3"),
        keras.layers.BatchNormalization(name="b3"), keras.layers.GlobalAveragePooling2D(),
    ])
    model = keras.Sequential([base, keras.layers.Dense(3)])
    base.trainable = False
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return keras, base, model


def test_drill_keras_two_stage_counts_convolution_layers():
    keras, base, model = _keras_pair()
    assert "c2 should be trainable" in drills.keras_two_stage(base, 2, 1e-3)(model)
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name in ("c3", "b3")  # the old "top 2 weighted layers": a conv and its BN
    assert "c2 should be trainable" in drills.keras_two_stage(base, 2, 1e-3)(model)
    base.get_layer("c2").trainable = True
    assert "b3 is trainable" in drills.keras_two_stage(base, 2, 1e-3)(model)
    base.get_layer("b3").trainable = False
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    assert "10x less" in drills.keras_two_stage(base, 2, 1e-3)(model)
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
    assert drills.keras_two_stage(base, 2, 1e-3)(model) is None
    base.get_layer("c1").trainable = True
    assert "c1 should be frozen" in drills.keras_two_stage(base, 2, 1e-3)(model)


def test_parameter_count_of_lesson_00():
    from torch import nn

    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))  # 8 + 3 parameters
    model[0].requires_grad_(False)
    check = drills.parameter_count(model)
    assert check(11) is None
    assert "only the trainable" in check(3)
    assert "is not the total" in check(10)
    assert "whole number" in check(11.0) and "whole number" in check(True)


def test_decision_report_choice():
    table = {"a": {"val": 0.80, "test": 0.70}, "b": {"val": 0.75, "test": 0.78}}
    assert drills.report_choice(table)(("a", 0.70)) is None
    assert "best *test*" in drills.report_choice(table)(("b", 0.78))
    assert "report the chosen option's test accuracy" in drills.report_choice(table)(("a", 0.80))
    assert "validation accuracy" in drills.report_choice({**table, "b": {"val": 0.7, "test": 0.7}})(("b", 0.70))
    assert "tuple" in drills.report_choice(table)("a")
    assert "not one of" in drills.report_choice(table)(("c", 0.1))


def _bug_scripts():
    """The seeded bugs of lesson 08 and their fixes, read from its solution notebook."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    ns = {"torch": torch, "nn": nn, "F": F}
    for kind, src in _cells(NB08):
        if kind == "code" and re.search(r"^def (buggy_|fit_head|build|pick|classify)", src, re.M):
            body = src.split("\nbug")[0] if "\nbug" in src else src
            body = "\n".join(ln for ln in body.splitlines()
                             if not ln.startswith(("# ", "assert", "bug", "print", "checkpoints =")))
            exec(body, ns)  # noqa: S102 - the course's own notebook
    return ns


@pytest.mark.parametrize("check, buggy, fixed, message", [
    (drills.bug_batchnorm(), "buggy_fit_head", "fit_head", "BatchNorm running statistics moved"),
    (drills.bug_optimizer(), "buggy_build", "build", "never trains"),
    (drills.bug_selection(), "buggy_pick", "pick", "best *test*"),
    (drills.bug_tokenizer(), "buggy_classify", "classify", "same checkpoint"),
])
def test_find_the_bug_drills_catch_the_bug_pass_the_fix_and_are_fast(check, buggy, fixed, message):
    ns = _bug_scripts()
    started = time.perf_counter()
    assert message in check(ns[buggy])
    assert check(ns[fixed]) is None
    assert time.perf_counter() - started < 2.0
    assert "give the fixed function" in check(None)


def test_bug_optimizer_rejects_frozen_parameters_in_the_optimizer():
    import torch
    from torch import nn

    def leaky(model, n):
        model.requires_grad_(False)
        model.fc = nn.Linear(model.fc.in_features, n)
        return model, torch.optim.Adam(model.parameters())

    def unfrozen(model, n):
        model.fc = nn.Linear(model.fc.in_features, n)
        return model, torch.optim.Adam(model.parameters())

    assert "frozen parameters" in drills.bug_optimizer()(leaky)
    assert "only the new head should be trainable" in drills.bug_optimizer()(unfrozen)


def test_from_scratch_grad_reverse():
    import torch

    assert drills.grad_reverse()(drills.reference_grad_reverse) is None
    assert "identity" in drills.grad_reverse()(lambda x, lam: x * 2)
    assert "-lambda" in drills.grad_reverse()(lambda x, lam: x)  # forgot to reverse

    class Scaled(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, lam):
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return -g, None  # ignores lambda

    assert "-lambda" in drills.grad_reverse()(lambda x, lam: Scaled.apply(x, lam))


def test_from_scratch_coral():
    assert drills.coral_loss()(drills.reference_coral_loss) is None

    def biased(fs, ft):
        cov = lambda x: (x - x.mean(0)).T @ (x - x.mean(0)) / len(x)  # noqa: E731
        return ((cov(fs) - cov(ft)) ** 2).sum() / (4 * fs.shape[1] ** 2)

    def uncentred(fs, ft):
        cov = lambda x: x.T @ x / (len(x) - 1)  # noqa: E731
        return ((cov(fs) - cov(ft)) ** 2).sum() / (4 * fs.shape[1] ** 2)

    assert "divide by n - 1" in drills.coral_loss()(biased)
    assert "the formula gives" in drills.coral_loss()(uncentred)
    assert "scalar" in drills.coral_loss()(lambda fs, ft: fs.mean(0))


def test_from_scratch_lora():
    import torch
    from torch import nn

    ref = drills.reference_lora_class()
    assert drills.lora_layer()(ref) is None

    class NoScale(ref):
        def forward(self, x):
            return self.base(x) + x @ self.A.T @ self.B.T

    class RandomB(ref):
        def __init__(self, base, r, alpha):
            super().__init__(base, r, alpha)
            self.B = nn.Parameter(torch.randn(base.out_features, r))

    class BaseTrains(ref):
        def __init__(self, base, r, alpha):
            super().__init__(base, r, alpha)
            base.requires_grad_(True)

    assert "alpha / r" in drills.lora_layer()(NoScale)
    assert "start B at zero" in drills.lora_layer()(RandomB)
    assert "only A and B may train" in drills.lora_layer()(BaseTrains)
    assert "give the class" in drills.lora_layer()(ref(nn.Linear(2, 2), 1, 1.0))
