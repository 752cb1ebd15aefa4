"""`make gpu-check`: every solution notebook on a GPU kernel in the ``full`` profile, into the ledger.

    python scripts/gpu_check.py [--lessons 03 04 | all] [--seeds 1]

The same runs and ledger as ``make verify`` (scripts/verify.py), with the ``full`` profile and two
guards for a GPU machine: it refuses to start without a CUDA GPU that PyTorch sees (a CPU run of the
``full`` profile would take hours and record nothing about GPUs), and it lets TensorFlow allocate
GPU memory as needed (``TF_FORCE_GPU_ALLOW_GROWTH=true``) so that TensorFlow does not reserve the
whole GPU before PyTorch runs in the same kernel. The ledger's machine field names the GPU.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import verify  # noqa: E402  (scripts/verify.py)


def gpu_name() -> str | None:
    """The first CUDA GPU's name, or None when PyTorch sees none."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lessons", nargs="*", default=["all"])
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args(argv)
    name = gpu_name()
    if name is None:
        print("gpu-check: PyTorch sees no CUDA GPU here. Run it on a GPU machine (with the tf-gpu extra: "
              "make setup TF_EXTRA=tf-gpu); on a CPU use `make verify` (cpu profile).", file=sys.stderr)
        return 2
    os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"  # the kernels inherit it
    os.environ["TLCOURSE_PROFILE"] = "full"
    print(f"gpu-check on {name}: full profile, {args.seeds} seed(s)", flush=True)
    return verify.main(["--profile", "full", "--seeds", str(args.seeds), "--lessons", *args.lessons])


if __name__ == "__main__":
    sys.exit(main())
