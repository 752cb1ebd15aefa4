"""Devices, seeding, the environment banner."""

from __future__ import annotations

import random

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
])  # fmt: skip
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
