"""Exercise checks of the scaling appendix (09).

Each function is a factory: it returns ``test(answer)``, which is ``None`` when the answer is right,
else a message that explains the mistake; pass it as the ``test`` of :func:`tlcourse.checks.exercise`.
"""

from __future__ import annotations

from typing import Any

from . import Test


def effective_batch(per_process: int, processes: int, accumulation: int) -> Test:
    """Exercise 1: examples behind one optimizer step = per-process batch x processes x accumulation."""

    def test(answer: Any) -> str | None:
        want = per_process * processes * accumulation
        if not isinstance(answer, int):
            return f"answer with a whole number of examples, not {type(answer).__name__}."
        if answer == want:
            return None
        if answer == per_process * processes:
            return f"{answer} leaves out gradient accumulation: {accumulation} micro-batches add up per step."
        if answer == per_process * accumulation:
            return f"{answer} is one process's share; all {processes} processes' gradients are averaged."
        if answer == per_process:
            return f"{answer} is the per-process batch; the optimizer step sees every process's examples."
        return f"{answer} is not per-process batch x processes x accumulation steps."

    return test


def shard(n: int, replicas: int, rank: int, seed: int, epoch: int) -> Test:
    """Exercise 2: the indices ``DistributedSampler`` gives ``rank`` in ``epoch``."""

    def test(answer: Any) -> str | None:
        import torch

        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
        want = order[rank::replicas]
        try:
            got = [int(i) for i in answer]
        except TypeError:
            return "answer with the list of indices (list(sampler))."
        if got == want:
            return None
        stale = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()[rank::replicas]
        if got == stale and epoch:
            return "these are epoch 0's indices: call sampler.set_epoch(1) before iterating."
        if sorted(got) == sorted(want):
            return "the right indices in the wrong order: iterate the sampler, do not sort."
        if got == list(range(rank, n, replicas)):
            return "that is the unshuffled shard: shuffle=True shuffles before sharding."
        return f"rank {rank} of {replicas} takes every {replicas}-th index of the shuffled order from position {rank}."

    return test
