"""Tests for tlcourse.data.embed: mean-pooled sentence embeddings from a local encoder (lesson 07's real shift)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tlcourse.data.embed import sentence_encoder


def unpadded_mean(folder, text):
    """The oracle: one sentence alone (no padding), the plain mean of its last hidden states."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()
    with torch.no_grad():
        return model(**tokenizer([text], return_tensors="pt")).last_hidden_state[0].mean(0).numpy()


def test_embeddings_are_the_unpadded_mean_in_the_callers_order(tiny_model_dir):
    texts = ["not good film bad film not good", "good", "bad film", "good"]
    out = sentence_encoder(tiny_model_dir, batch_size=3)(texts)  # "good" shares a batch with longer texts
    assert out.shape == (4, 16) and out.dtype == np.float32
    for row, text in zip(out, texts, strict=True):
        np.testing.assert_allclose(row, unpadded_mean(tiny_model_dir, text), atol=1e-5)
    np.testing.assert_array_equal(out[1], out[3])


def test_truncation_keeps_max_length_tokens(tiny_model_dir):
    long = " ".join(["good", "bad"] * 20)
    short = sentence_encoder(tiny_model_dir, max_length=4)([long])[0]
    np.testing.assert_allclose(short, unpadded_mean(tiny_model_dir, "good bad"), atol=1e-5)  # [CLS] good bad [SEP]


def test_a_folder_without_a_model_or_bad_sizes_is_a_clear_error(tmp_path, tiny_model_dir):
    with pytest.raises(FileNotFoundError, match="no config.json.*tlcourse fetch minilm_l6_v2"):
        sentence_encoder(tmp_path)
    with pytest.raises(ValueError, match="max_length >= 2"):
        sentence_encoder(tiny_model_dir, max_length=1)
    with pytest.raises(ValueError, match="batch_size >= 1"):
        sentence_encoder(tiny_model_dir, batch_size=0)
