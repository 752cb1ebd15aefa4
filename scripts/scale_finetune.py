"""Fine-tune MobileNetV2 on Fashion-MNIST with one process, with DDP (torchrun), or with Accelerate.

The script the scaling appendix (solutions/09_appendix_scaling.ipynb) launches::

    python scripts/scale_finetune.py --engine single --out OUT                      # 1 process
    torchrun --standalone --nproc_per_node 2 scripts/scale_finetune.py --engine ddp --out OUT
    accelerate launch --multi_gpu --num_processes 2 scripts/scale_finetune.py --engine accelerate --out OUT

All three see the same global batches in the same order and take the same optimizer steps: the
top blocks and a new head train, BatchNorm stays frozen (eval mode, as in lesson 03), so a
2-process run must end with the single-process weights up to floating-point summation order.
(``--multi_gpu`` picks Accelerate's torchrun-based launcher; without a GPU its processes run on the
CPU with the gloo backend. Accelerate's ``--cpu`` would start one process: its multi-CPU mode goes
through MPI.) Each process writes ``OUT/rank<r>.json`` (what it ran and saw, the loss of each global
batch, and how far its weights are from rank 0's after every step); rank 0 writes ``OUT/model.pt`` (the trained tensors) and
``OUT/result.json`` (test accuracy).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import tlcourse as tl  # noqa: E402  (before anything could import TensorFlow)
from tlcourse.data.small import fashion_subset  # noqa: E402
from tlcourse.models import IMAGENET_MEAN, IMAGENET_STD, torch_backbone  # noqa: E402


class EpochPermutation(Sampler[int]):
    """The order ``torch.utils.data.DistributedSampler`` shuffles with, for one process.

    ``torch.randperm(n)`` seeded with ``seed + epoch``: exactly the permutation DistributedSampler
    (shuffle=True) splits between ranks, so a single process can see the same global batches.
    """

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Shuffle differently in each epoch (call before iterating, like DistributedSampler)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


def data(per_class: int, test_per_class: int, size: int, seed: int) -> tuple[TensorDataset, TensorDataset]:
    """Fashion-MNIST train/test tensors: 3 channels, ``size`` pixels, ImageNet-normalised."""
    splits = fashion_subset(list(range(10)), {"train": per_class, "test": test_per_class}, seed=seed)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    out = []
    for split in ("train", "test"):
        x, y = splits[split]
        x = torch.from_numpy(x).unsqueeze(1)
        x = nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        out.append(TensorDataset((x.repeat(1, 3, 1, 1) - mean) / std, torch.from_numpy(y).long()))
    return out[0], out[1]


def model(top_blocks: int) -> nn.Module:
    """MobileNetV2 (ImageNet) with a new 10-class head; the top ``top_blocks`` blocks train."""
    net, dim = torch_backbone("mobilenet_v2")
    net.classifier = nn.Sequential(nn.Dropout(0.0), nn.Linear(dim, 10))
    net.requires_grad_(False)
    for block in net.features[len(net.features) - top_blocks :]:
        for m in block.modules():
            if isinstance(m, nn.Conv2d):  # convolutions train; BatchNorm stays frozen
                m.requires_grad_(True)
    net.classifier.requires_grad_(True)
    return net


def train_mode(net: nn.Module) -> None:
    """Train mode for dropout etc., BatchNorm kept in eval mode (frozen statistics, lesson 03)."""
    net.train()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()


def flat(net: nn.Module) -> torch.Tensor:
    """All trainable tensors as one vector (to compare replicas)."""
    return torch.cat([p.detach().reshape(-1) for p in net.parameters() if p.requires_grad])


def accuracy(net: nn.Module, ds: TensorDataset) -> float:
    """Test accuracy, one pass, eval mode."""
    net.eval()
    with torch.inference_mode():
        device = next(net.parameters()).device
        logits = torch.cat([net(x.to(device)).cpu() for x, _ in DataLoader(ds, batch_size=256)])
    return float((logits.argmax(1) == ds.tensors[1]).float().mean())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=["single", "ddp", "accelerate"], required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--global-batch", type=int, default=32, help="examples per optimizer step, all processes")
    ap.add_argument("--per-class", type=int, default=32, help="training images per class")
    ap.add_argument("--test-per-class", type=int, default=20)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--top-blocks", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: no limit)")
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)

    # CPU: one thread per process (2 processes on 2 cores), and the single run the same kernels.
    tl.seed_everything(args.seed, threads=1)
    accelerator = None
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if args.engine == "ddp":
        import torch.distributed as dist

        # torchrun sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR/PORT; NCCL on GPUs, gloo on CPUs.
        dist.init_process_group("nccl" if cuda else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        if cuda:
            device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
            torch.cuda.set_device(device)
    elif args.engine == "accelerate":
        from accelerate import Accelerator

        accelerator = Accelerator(cpu=not cuda)  # picks the GPU (or CPU) and the backend itself
        rank, world, device = accelerator.process_index, accelerator.num_processes, accelerator.device
    else:
        rank, world = 0, 1
    if args.global_batch % world:
        raise SystemExit(f"--global-batch {args.global_batch} must be divisible by {world} processes")
    per_rank = args.global_batch // world
    train, test = data(args.per_class, args.test_per_class, args.image_size, args.seed)
    torch.manual_seed(args.seed)  # the same new head on every process
    net = model(args.top_blocks).to(device)
    # SGD with momentum: its update is linear in the gradient, so 2 processes agree with 1 to
    # round-off. (Adam divides by sqrt(v): for a weight whose gradient is near zero, round-off flips
    # the sign of the step, and runs that computed the same math differ by up to 2 x lr.)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=args.lr, momentum=0.9)

    if args.engine == "ddp":
        from torch.nn.parallel import DistributedDataParallel as DDP
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True,
                                     seed=args.seed, drop_last=True)
        loader = DataLoader(train, batch_size=per_rank, sampler=sampler, drop_last=True)
        net = DDP(net, device_ids=[device.index] if cuda else None)  # broadcasts rank 0's weights,
        # then all-reduces (averages) the gradients during every backward pass
    elif args.engine == "accelerate":
        sampler = EpochPermutation(len(train), args.seed)
        loader = DataLoader(train, batch_size=per_rank, sampler=sampler, drop_last=True)
        net, opt, loader = accelerator.prepare(net, opt, loader)  # shards batches, wraps in DDP
    else:
        sampler = EpochPermutation(len(train), args.seed)
        loader = DataLoader(train, batch_size=per_rank, sampler=sampler, drop_last=True)

    def replica_gap() -> float:
        """Largest |w - w_rank0| over all trainable weights (0 on one process)."""
        if world == 1:
            return 0.0
        import torch.distributed as dist

        mine = flat(net)
        ref = mine.clone()  # (NCCL needs these on the GPU, where flat() leaves them)
        dist.broadcast(ref, src=0)
        gap = (mine - ref).abs().max()
        dist.all_reduce(gap, op=dist.ReduceOp.MAX)
        return float(gap)

    def global_mean(value: torch.Tensor) -> float:
        """The mean of a per-process scalar over all processes: the loss of the global batch."""
        if world == 1:
            return float(value)
        import torch.distributed as dist

        total = value.clone()
        dist.all_reduce(total)
        return float(total) / world

    initial = flat(net).clone()
    gaps, seen, step, losses = [replica_gap()], 0, 0, []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        train_mode(net)
        for x, y in loader:
            x, y = x.to(device), y.to(device)  # (Accelerate's loader already did this)
            loss = nn.functional.cross_entropy(net(x), y)
            opt.zero_grad()
            if accelerator is not None:
                accelerator.backward(loss)
            else:
                loss.backward()  # DDP: gradients are averaged over processes during backward
            opt.step()
            seen += len(y)
            step += 1
            losses.append(global_mean(loss.detach()))
            gaps.append(replica_gap())
            if args.max_steps and step >= args.max_steps:
                break
        if args.max_steps and step >= args.max_steps:
            break
    seconds = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    bare = net.module if hasattr(net, "module") else net
    (args.out / f"rank{rank}.json").write_text(json.dumps({
        "engine": args.engine, "rank": rank, "world_size": world, "per_rank_batch": per_rank,
        "global_batch": per_rank * world, "steps": step, "examples_seen": seen,
        "replica_gap_per_step": gaps, "losses": losses, "seconds": seconds,
        "weight_change": float((flat(net) - initial).abs().max())}, indent=1))
    if rank == 0:
        torch.save({k: v.cpu() for k, v in bare.state_dict().items()}, args.out / "model.pt")
        (args.out / "result.json").write_text(json.dumps({
            "engine": args.engine, "world_size": world, "steps": step,
            "test_accuracy": accuracy(bare, test), "seconds": seconds}, indent=1))
    if args.engine == "ddp":
        import torch.distributed as dist

        dist.destroy_process_group()
    elif accelerator is not None:
        accelerator.end_training()


if __name__ == "__main__":
    main()
