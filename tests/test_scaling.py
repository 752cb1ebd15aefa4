"""The scaling appendix's claims, run for real: 2 CPU processes (gloo) with torchrun + DDP and with
`accelerate launch`, against one process on the same data (scripts/scale_finetune.py)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "scale_finetune.py"
BIN = Path(sys.executable).parent
TINY = ["--per-class", "8", "--test-per-class", "4", "--global-batch", "16", "--max-steps", "3",
        "--image-size", "32"]
WEIGHT_TOL = 1e-4  # measured gap to the single process: 3e-8 (SGD; round-off of the all-reduce)


def _run(cmd, out):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.run([*cmd, "--out", str(out), *TINY], capture_output=True, text=True,
                          timeout=900, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(len(list(out.glob("rank*.json"))))]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("scaling")
    out = {
        "single": _run([sys.executable, str(SCRIPT), "--engine", "single"], base / "single"),
        "ddp": _run([str(BIN / "torchrun"), "--standalone", "--nproc_per_node", "2", str(SCRIPT),
                     "--engine", "ddp"], base / "ddp"),
        "accelerate": _run([str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2",
                            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                            str(SCRIPT), "--engine", "accelerate"], base / "accelerate"),
    }
    yield base, out
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("engine", ["ddp", "accelerate"])
def test_both_ranks_ran_and_replicas_stay_identical(runs, engine):
    _, out = runs
    ranks = out[engine]
    assert [r["rank"] for r in ranks] == [0, 1] and all(r["world_size"] == 2 for r in ranks)
    for r in ranks:
        assert r["steps"] == 3 and r["per_rank_batch"] == 8 and r["examples_seen"] == 24
        assert r["replica_gap_per_step"] == [0.0] * 4, \
            f"{engine} rank {r['rank']}: replicas differ after a step: {r['replica_gap_per_step']}"


@pytest.mark.parametrize("engine", ["ddp", "accelerate"])
def test_matches_single_process(runs, engine):
    import torch

    base, out = runs
    single = torch.load(base / "single" / "model.pt", weights_only=True)
    multi = torch.load(base / engine / "model.pt", weights_only=True)
    assert single.keys() == multi.keys()
    gap = max(float((single[k].double() - multi[k].double()).abs().max()) for k in single)
    assert gap <= WEIGHT_TOL, f"{engine}: weights differ from the single process by {gap:.2e}"
    assert out["single"][0]["weight_change"] > 10 * WEIGHT_TOL, "training must move the weights"
    losses_1, losses_2 = out["single"][0]["losses"], out[engine][0]["losses"]
    assert len(losses_1) == len(losses_2) == 3
    assert max(abs(a - b) for a, b in zip(losses_1, losses_2, strict=True)) <= 1e-4, (losses_1, losses_2)
    assert out["single"][0]["global_batch"] == out[engine][0]["global_batch"] == 16


