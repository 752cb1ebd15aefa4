"""Devices, seeding, the environment banner."""

from __future__ import annotations

import random

import numpy as np
import torch

import tlcourse as tl


def test_seed_everything_repeats_random_streams():
    tl.seed_everything(7)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    tl.seed_everything(7)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    tl.seed_everything(8)
    assert np.random.rand() != first[1]


def test_torch_device_here_is_cpu_and_can_be_forced():
    expected = "cuda" if torch.cuda.is_available() else None
    if expected is None and not torch.backends.mps.is_available():
        assert tl.torch_device().type == "cpu"
    assert tl.torch_device("cpu").type == "cpu"


def test_env_report_names_profile_cache_and_assets(monkeypatch, capsys):
    monkeypatch.setenv("TLCOURSE_PROFILE", "smoke")
    text = tl.env_report("unit-test")
    assert "profile     smoke" in text
    assert str(tl.assets.cache_dir()) in text
    assert "assets      present:" in text
    assert "torch       device" in text
    assert capsys.readouterr().out.strip() == text.strip()
