"""tlcourse.checks.finetune: lesson 03's exercise checks."""

from __future__ import annotations

import torch
from torch import nn


def tiny_backbone() -> tuple[list[nn.Module], nn.Module]:
    blocks = [nn.Linear(2, 3), nn.Linear(3, 3), nn.Linear(3, 4)]  # 9, 12, 16 parameters
    return blocks, nn.Linear(4, 2)  # head: 10


def test_unfrozen_count_check():
    from tlcourse.checks.finetune import unfrozen_count

    blocks, head = tiny_backbone()
    assert unfrozen_count(12 + 16 + 10, blocks, head, 2) is None
    assert "blocks only" in unfrozen_count(12 + 16, blocks, head, 2)
    assert "head alone" in unfrozen_count(10, blocks, head, 2)
    assert "*first*" in unfrozen_count(9 + 12 + 10, blocks, head, 2)
    assert "an int" in unfrozen_count(38.0, blocks, head, 2)


def test_param_groups_check():
    from tlcourse.checks.finetune import param_groups

    blocks, head = tiny_backbone()

    def groups(decay: float = 0.5, skip_head: bool = False) -> list[dict]:
        out = [] if skip_head else [{"params": list(head.parameters()), "lr": 1e-3}]
        return out + [{"params": list(b.parameters()), "lr": 1e-4 * decay ** (2 - i)}
                      for i, b in enumerate(blocks)]

    assert param_groups(groups(), blocks, head, 1e-3, 1e-4, 0.5) is None
    torch.optim.Adam(groups())  # what the check accepts is a valid optimizer argument
    assert "bottom block" in param_groups(groups(decay=0.9), blocks, head, 1e-3, 1e-4, 0.5)
    assert "in no group" in param_groups(groups(skip_head=True), blocks, head, 1e-3, 1e-4, 0.5)
    twice = groups() + [{"params": list(head.parameters()), "lr": 1e-3}]
    assert "repeats" in param_groups(twice, blocks, head, 1e-3, 1e-4, 0.5)
    assert "list of dicts" in param_groups(None, blocks, head, 1e-3, 1e-4, 0.5)


def test_bn_updates_check():
    from types import SimpleNamespace

    from tlcourse.checks.finetune import bn_updates

    class BatchNormalization(SimpleNamespace):  # stands in for keras' layer (matched by name)
        pass

    layers = [BatchNormalization(name=f"b{i}_bn") for i in range(4)]
    layers += [SimpleNamespace(name=f"b{i}_conv") for i in range(4)]
    base = SimpleNamespace(layers=layers)

    def block_of(name: str) -> int:
        return int(name[1])

    assert bn_updates((2, 0), base, block_of, 4, 2) is None  # blocks 2 and 3
    assert "overrides" in bn_updates((0, 0), base, block_of, 4, 2)
    assert "top 2 blocks (2)" in bn_updates((4, 0), base, block_of, 4, 2)
    assert "inference mode" in bn_updates((2, 2), base, block_of, 4, 2)
    assert "tuple" in bn_updates(2, base, block_of, 4, 2)
