"""tlcourse.checks.scaling: lesson 09's exercise checks."""


def test_exercise_checks_explain():
    import torch
    from torch.utils.data import DistributedSampler, TensorDataset

    from tlcourse.checks import scaling

    assert scaling.effective_batch(16, 4, 2)(128) is None
    assert "accumulation" in scaling.effective_batch(16, 4, 2)(64)
    assert "one process" in scaling.effective_batch(16, 4, 2)(32)
    assert "whole number" in scaling.effective_batch(16, 4, 2)(12.5)
    toy = TensorDataset(torch.arange(12))
    s = DistributedSampler(toy, num_replicas=3, rank=2, shuffle=True, seed=5)
    s.set_epoch(1)
    assert scaling.shard(12, 3, 2, 5, 1)(list(s)) is None
    s.set_epoch(0)
    assert "set_epoch" in scaling.shard(12, 3, 2, 5, 1)(list(s))
    assert "unshuffled" in scaling.shard(12, 3, 2, 5, 1)([2, 5, 8, 11])
