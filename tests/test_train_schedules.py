"""tlcourse.train.train_torch with learning-rate schedules stepped per epoch or per batch."""

from __future__ import annotations

try:  # triton (loaded lazily by torch) segfaults if loaded after TensorFlow: load it first
    import triton  # noqa: F401
except ImportError:
    pass

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tlcourse.models import small_cnn
from tlcourse.train import count_params, train_torch

CPU = torch.device("cpu")


def loader(n: int = 40, batch: int = 10) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=batch)


class Recorder:
    """A scheduler stand-in that records the optimizer step count at each of its steps."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer, self.calls = optimizer, []

    def step(self) -> None:
        state = next(iter(self.optimizer.state.values()), {})
        self.calls.append(int(state.get("step", 0)))


@pytest.mark.parametrize(("per_batch", "expected"), [(False, [4, 8, 12]), (True, list(range(1, 13)))])
def test_scheduler_steps_per_epoch_or_per_batch(per_batch, expected):
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    rec = Recorder(opt)
    train_torch(model, loader(), None, epochs=3, optimizer=opt, device=CPU, scheduler=rec,
                scheduler_per_batch=per_batch, log=False)
    assert rec.calls == expected  # 4 batches per epoch; per batch: right after each optimizer step


def test_warmup_then_cosine_reaches_zero_after_the_last_batch():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    total, warm = 12, 3
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=warm),
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warm),
    ], milestones=[warm])
    train_torch(model, loader(), None, epochs=3, optimizer=opt, device=CPU, scheduler=sched,
                scheduler_per_batch=True, log=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_small_cnn_shapes_and_size():
    model = small_cnn(10)
    assert count_params(model) == (24_346, 24_346)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
