"""Installed assets work through the libraries' standard loading calls, with no network."""

from __future__ import annotations

import shutil

import torch
import torchvision

import tlcourse as tl


def test_torchvision_standard_call_uses_the_installed_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hub = tl.assets.torch_hub_checkpoints()
    assert hub == tmp_path / "torch" / "hub" / "checkpoints"
    assert not hub.exists()
    tl.fetch("mobilenet_v2_imagenet")  # already cached: only installs into the new hub dir

    def refuse(*args, **kwargs):
        raise AssertionError("torchvision tried to download although the file is installed")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    model = torchvision.models.mobilenet_v2(weights="IMAGENET1K_V1")
    assert sum(p.numel() for p in model.parameters()) == 3_504_872
    shutil.rmtree(tmp_path / "torch")


def test_minilm_loads_with_auto_classes_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = tl.fetch("minilm_l6_v2")
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    assert model.config.num_hidden_layers == 6 and model.config.model_type == "bert"
    out = model(**tok(["a fine film"], return_tensors="pt"))
    assert out.logits.shape == (1, 2)
