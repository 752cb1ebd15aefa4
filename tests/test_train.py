"""tlcourse.train: selection on validation, frozen BatchNorm statistics, evaluation, counts."""

from __future__ import annotations

try:  # triton (loaded lazily by torch) segfaults if loaded after TensorFlow: load it first
    import triton  # noqa: F401
except ImportError:
    pass

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tlcourse.train import (
    HISTORY_KEYS,
    count_params,
    evaluate_torch,
    freeze_bn_stats,
    frozen_batchnorms,
    train_torch,
)

CPU = torch.device("cpu")


def blobs(n: int = 64, seed: int = 0) -> TensorDataset:
    """Two separable 2-D Gaussian blobs: class = sign of the first coordinate."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 2, generator=g) * 0.3
    x[:, 0] += torch.where(y == 1, 2.0, -2.0)
    return TensorDataset(x, y)


class ScriptedOptimizer:
    """Not a real optimizer: step k sets the linear layer to the k-th scripted weights."""

    def __init__(self, layer: nn.Linear, script: list[torch.Tensor]) -> None:
        self.layer, self.script, self.steps = layer, script, 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.layer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        with torch.no_grad():
            self.layer.weight.copy_(self.script[self.steps])
            self.layer.bias.zero_()
        self.steps += 1


def test_train_torch_restores_best_validation_weights():
    ds = blobs()
    loader = DataLoader(ds, batch_size=len(ds))  # one step per epoch
    layer = nn.Linear(2, 2)
    good = torch.tensor([[-1.0, 0.0], [1.0, 0.0]])  # val acc 1.0
    script = [-good, good, -good, torch.zeros(2, 2)]  # best at epoch 2, then worse
    hist = train_torch(layer, loader, loader, epochs=4, optimizer=ScriptedOptimizer(layer, script),
                       device=CPU, log=False)
    assert hist["val_acc"] == [0.0, 1.0, 0.0, 0.5]
    assert torch.equal(layer.weight.detach(), good), "the best-val weights were not restored"
    assert evaluate_torch(layer, loader, CPU)["acc"] == 1.0


def test_train_torch_history_and_learning():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    train = DataLoader(blobs(64, 0), batch_size=16, shuffle=True)
    val = DataLoader(blobs(32, 1), batch_size=16)
    hist = train_torch(model, train, val, epochs=3, device=CPU, desc="blobs", log=False,
                       optimizer=torch.optim.Adam(model.parameters(), lr=0.05))
    assert set(hist) == set(HISTORY_KEYS)
    assert all(len(v) == 3 for v in hist.values())
    assert hist["epoch"] == [1, 2, 3]
    assert all(s > 0 for s in hist["seconds"])
    final = evaluate_torch(model, val, CPU)["acc"]
    assert final == max(hist["val_acc"]) and final > 0.9


def test_frozen_batchnorm_statistics_do_not_move():
    torch.manual_seed(0)

    def make() -> nn.Sequential:
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))

    x = torch.randn(32, 1, 8, 8) * 3 + 5  # statistics far from the initial (0, 1)
    y = torch.arange(32) % 2
    loader = DataLoader(TensorDataset(x, y), batch_size=8)

    frozen = make()
    frozen[0].requires_grad_(False)
    frozen[1].requires_grad_(False)
    assert frozen_batchnorms(frozen) == [frozen[1]]
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    train_torch(frozen, loader, loader, epochs=2, device=CPU, log=False,
                optimizer=torch.optim.SGD(frozen[5].parameters(), lr=0.1))
    after = frozen.state_dict()
    for key in ("0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var"):
        assert torch.equal(before[key], after[key]), f"{key} changed although frozen"
    assert not torch.equal(before["5.weight"], after["5.weight"]), "the head did not train"

    # Control: a trainable BatchNorm does update its running statistics (the test can fail).
    free = make()
    train_torch(free, loader, None, epochs=1, device=CPU, log=False,
                optimizer=torch.optim.SGD(free.parameters(), lr=0.1))
    assert not torch.equal(before["1.running_mean"], free.state_dict()["1.running_mean"])


def test_freeze_bn_stats_switches_only_frozen_layers():
    model = nn.Sequential(nn.BatchNorm1d(3), nn.BatchNorm1d(3), nn.BatchNorm1d(3, affine=False))
    model[0].requires_grad_(False)
    model.train()
    assert freeze_bn_stats(model) == 1
    assert [m.training for m in model] == [False, True, True]


def test_evaluate_torch_outputs():
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))
        layer.bias.zero_()
    ds = blobs(10)
    layer.train()
    out = evaluate_torch(layer, DataLoader(ds, batch_size=3), CPU)
    assert layer.training, "evaluate_torch must restore the model's mode"
    assert out["y_true"].dtype == np.int64 and out["y_true"].shape == (10,)
    assert out["probs"].shape == (10, 2)
    np.testing.assert_allclose(out["probs"].sum(axis=1), 1.0, rtol=1e-5)
    assert out["acc"] == 1.0 and np.array_equal(out["y_pred"], ds.tensors[1].numpy())


# --------------------------------------------------------------------------- numbers by hand

# Five 2-D points and fixed weights: logits z = W x (no bias), so every loss is computable by hand.
# The last example (alone in the last batch of 2, 2, 1) is badly wrong, so a mean of batch means
# weighs it 1/3 instead of 1/5.
HAND_X = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0], [0.0, 3.0]])
HAND_Y = torch.tensor([0, 1, 1, 0, 0])
HAND_W = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # z = (x0, 2 x1)
# z: (2, 0) (0, 2) (1, 2) (-1, 0) (0, 6) -> predicted 0, 1, 1, 1, 1; right: 1st-3rd -> accuracy 3/5


def hand_losses() -> list[float]:
    """Cross-entropy per example, -log softmax(z)[y] = logsumexp(z) - z[y], in plain Python."""
    out = []
    for (x0, x1), y in zip(HAND_X.tolist(), HAND_Y.tolist(), strict=True):
        z = (x0, 2 * x1)
        out.append(math.log(math.exp(z[0]) + math.exp(z[1])) - z[y])
    return out


def hand_layer() -> nn.Linear:
    layer = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(HAND_W)
    return layer


def test_hand_data_tells_the_two_averages_apart():
    losses = hand_losses()
    per_example = sum(losses) / 5
    per_batch = (sum(losses[:2]) / 2 + sum(losses[2:4]) / 2 + losses[4]) / 3  # batches of 2, 2, 1
    assert abs(per_example - per_batch) > 0.1, "the data would not catch a mean of batch means"


def test_evaluate_torch_loss_and_accuracy_by_hand():
    loader = DataLoader(TensorDataset(HAND_X, HAND_Y), batch_size=2)  # batches of 2, 2, 1
    out = evaluate_torch(hand_layer(), loader, CPU)
    assert out["loss"] == pytest.approx(sum(hand_losses()) / 5, rel=1e-6)
    assert out["acc"] == pytest.approx(3 / 5)
    assert out["y_pred"].tolist() == [0, 1, 1, 1, 1]


def test_train_torch_history_by_hand():
    """With a learning rate of 0 the weights stay put, so train and val numbers are the hand ones."""
    layer = hand_layer()
    loader = DataLoader(TensorDataset(HAND_X, HAND_Y), batch_size=2)
    hist = train_torch(layer, loader, loader, epochs=2, device=CPU, log=False,
                       optimizer=torch.optim.SGD(layer.parameters(), lr=0.0))
    expected = sum(hand_losses()) / 5
    for key in ("train_loss", "val_loss"):
        assert hist[key] == pytest.approx([expected, expected], rel=1e-6), key
    assert hist["train_acc"] == hist["val_acc"] == [3 / 5, 3 / 5]


def test_scheduler_sets_each_epochs_learning_rate():
    """StepLR halves the rate after every epoch: the updates are lr0 (1 + 1/2 + 1/4) x gradient."""
    layer = nn.Linear(1, 2, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
    x, y = torch.tensor([[3.0]]), torch.tensor([0])
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    def linear_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return logits[:, 0].sum() - logits[:, 1].sum()  # gradient wrt W: [[3], [-3]], constant

    train_torch(layer, DataLoader(TensorDataset(x, y), batch_size=1), None, epochs=3, device=CPU,
                optimizer=opt, scheduler=sched, loss_fn=linear_loss, log=False)
    step = 0.1 * (1 + 0.5 + 0.25)
    assert layer.weight.detach().flatten().tolist() == pytest.approx([-3 * step, 3 * step])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)


def test_count_params_and_errors():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))  # 16 + 10 parameters
    model[0].requires_grad_(False)
    assert count_params(model) == (10, 26)
    model.requires_grad_(False)
    loader = DataLoader(blobs(4), batch_size=2)
    with pytest.raises(ValueError, match="no trainable parameters"):
        train_torch(model, loader, loader, epochs=1, device=CPU,
                    optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    model.requires_grad_(True)
    with pytest.raises(ValueError, match="epochs"):
        train_torch(model, loader, loader, epochs=0, device=CPU,
                    optimizer=torch.optim.SGD(model.parameters(), lr=0.1))


# --------------------------------------------------------------------------- lesson 03's checks


