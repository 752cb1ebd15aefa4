"""Sentence embeddings from a local transformer encoder (mean of the last hidden states over real tokens)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def sentence_encoder(model_dir: str | os.PathLike[str], *, max_length: int = 64,
                     batch_size: int = 64) -> Callable[[Sequence[str]], np.ndarray]:
    """A function ``texts -> float32 array (n, hidden)``: the encoder in ``model_dir``, frozen, mean-pooled.

    ``model_dir`` is a Hugging Face model folder (``config.json``, weights, tokenizer files), e.g.
    ``tl.fetch("minilm_l6_v2")``. Texts are batched by length (less padding); padding tokens are left
    out of the mean, so a text's embedding does not depend on the batch it shares.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = Path(model_dir)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} holds no config.json: not a model folder. Fetch the model with "
                                "`python -m tlcourse fetch minilm_l6_v2` and pass tl.fetch('minilm_l6_v2').")
    if max_length < 2 or batch_size < 1:
        raise ValueError(f"max_length >= 2 and batch_size >= 1 are needed; got {max_length}, {batch_size}")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()

    @torch.no_grad()
    def encode(texts: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            out[idx] = ((hidden * mask).sum(1) / mask.sum(1)).numpy()
        return out

    return encode
