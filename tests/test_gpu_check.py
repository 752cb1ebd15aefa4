"""`make gpu-check` as far as a CPU allows: it refuses without a GPU and, with a (faked) GPU, runs
verify in the full profile with TensorFlow's memory growth on; tlcourse picks CUDA when present."""

import importlib.util
import os
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture()
def gpu_check(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPTS / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("TLCOURSE_PROFILE", "smoke")
    return module


def test_refuses_without_gpu(gpu_check, monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    called = []
    monkeypatch.setattr(gpu_check.verify, "main", lambda argv: called.append(argv) or 0)
    assert gpu_check.main([]) == 2
    assert not called
    assert "no CUDA GPU" in capsys.readouterr().err


def test_runs_verify_full_profile_on_gpu(gpu_check, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "NVIDIA Fake GPU")
    monkeypatch.delenv("TF_FORCE_GPU_ALLOW_GROWTH", raising=False)
    called = []
    monkeypatch.setattr(gpu_check.verify, "main", lambda argv: called.append(argv) or 0)
    assert gpu_check.main(["--lessons", "03", "--seeds", "2"]) == 0
    assert called == [["--profile", "full", "--seeds", "2", "--lessons", "03"]]
    assert os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert os.environ["TLCOURSE_PROFILE"] == "full"


def test_full_profile_and_cuda_device_when_a_gpu_is_present(monkeypatch):
    import torch

    import tlcourse as tl
    from tlcourse import profiles

    monkeypatch.delenv("TLCOURSE_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert profiles.active_profile() == "full"
    assert tl.torch_device().type == "cuda"
    assert os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH") == "true", \
        "import tlcourse must turn TensorFlow's GPU memory growth on (before TF loads)"
