"""Devices, seeding, the environment banner."""

from __future__ import annotations

import os
import random
import sys
import types

import numpy as np
import pytest
import torch

import tlcourse as tl


def test_seed_everything_repeats_random_streams():
    tl.seed_everything(7)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    tl.seed_everything(7)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    tl.seed_everything(8)
    assert np.random.rand() != first[1]


@pytest.mark.parametrize(("cuda", "mps", "expected"), [
    (True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu"),
])
def test_torch_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert tl.torch_device().type == expected
    assert tl.torch_device("cpu").type == "cpu"  # an explicit choice wins


def test_torch_device_without_an_mps_backend(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delattr(torch.backends, "mps")
    assert tl.torch_device().type == "cpu"


def test_env_report_names_profile_cache_and_assets(monkeypatch, capsys):
    monkeypatch.setenv("TLCOURSE_PROFILE", "smoke")
    text = tl.env_report("unit-test")
    assert "profile     smoke" in text
    assert str(tl.assets.cache_dir()) in text
    assert "assets      present:" in text
    assert "torch       device" in text
    assert capsys.readouterr().out.strip() == text.strip()


def test_seed_everything_fixes_the_torch_thread_count(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("TLCOURSE_THREADS", raising=False)
        tl.seed_everything(1)
        assert torch.get_num_threads() == 2
        monkeypatch.setenv("TLCOURSE_THREADS", "1")
        tl.seed_everything(1)
        assert torch.get_num_threads() == 1
        tl.seed_everything(1, threads=3)
        assert torch.get_num_threads() == 3
        for bad in ("0", "two"):
            monkeypatch.setenv("TLCOURSE_THREADS", bad)
            with pytest.raises(ValueError, match="TLCOURSE_THREADS"):
                tl.seed_everything(1)
    finally:
        torch.set_num_threads(before)


class _FakeThreading:
    """tf.config.threading's four calls; ``started`` mimics a runtime that already ran an op."""

    def __init__(self, started: bool) -> None:
        self.started, self.intra, self.inter = started, 0, 0

    def get_intra_op_parallelism_threads(self) -> int:
        return self.intra

    def get_inter_op_parallelism_threads(self) -> int:
        return self.inter

    def set_intra_op_parallelism_threads(self, n: int) -> None:
        if self.started:
            raise RuntimeError("Intra op parallelism cannot be modified after initialization.")
        self.intra = n

    def set_inter_op_parallelism_threads(self, n: int) -> None:
        if self.started:
            raise RuntimeError("Inter op parallelism cannot be modified after initialization.")
        self.inter = n


@pytest.mark.parametrize("started", [False, True])
def test_seed_everything_fixes_tensorflow_threads(monkeypatch, capsys, started):
    """Env vars TensorFlow reads when its runtime starts; its API when it is imported, not yet run."""
    from tlcourse import device

    threading = _FakeThreading(started)
    fake_tf = types.SimpleNamespace(config=types.SimpleNamespace(threading=threading))
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tf)
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "9")
    monkeypatch.setenv("TLCOURSE_THREADS", "3")
    device._fix_tensorflow_threads(device.thread_count())
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == os.environ["TF_NUM_INTEROP_THREADS"] == "3"
    if started:
        assert "thread count stays as it was" in capsys.readouterr().out
    else:
        assert (threading.intra, threading.inter) == (3, 3)


def test_tensorflow_startup_filter_drops_only_its_two_known_lines(tmp_path, monkeypatch, capfd):
    """The lines as TensorFlow 2.21 writes them (file descriptor 2) vanish; any other line stays."""
    from tlcourse import device

    (tmp_path / "noisy_mod.py").write_text(
        "import os\n"
        "os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n')\n"
        "os.write(2, b'I0000 00:00:1796109788.876602   12444 port.cc:153] oneDNN custom operations are on. "
        "You may see slightly different numerical results due to floating-point round-off errors from different "
        "computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.\\n')\n"
        "os.write(2, b'E0000 00:00:1.0 1 cuda_dnn.cc:1] a real error stays\\n')\n"
        "VALUE = 1\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "noisy_mod", raising=False)
    finder = device.StartupFilter("noisy_mod", device.TF_STARTUP_NOISE)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    capfd.readouterr()
    import noisy_mod

    assert capfd.readouterr().err == "E0000 00:00:1.0 1 cuda_dnn.cc:1] a real error stays\n"
    assert noisy_mod.VALUE == 1 and finder not in sys.meta_path
    assert not isinstance(noisy_mod.__spec__.loader, device._FilteredLoader)
    monkeypatch.delitem(sys.modules, "noisy_mod")
