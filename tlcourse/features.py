"""Extract features with a frozen network once, cache them on disk, reuse them.

A frozen backbone maps the same image to the same feature vector every time, so computing it
again every epoch is wasted work: extract once (:func:`extract_features_torch`, or Keras'
``base.predict``), keep the array (:func:`cached_features`), train the small head on it.
(This stops being true as soon as the images change between epochs, i.e. with data
augmentation, or when the backbone itself trains: fine-tuning.)
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .assets import cache_dir

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=-]{0,199}")


def features_dir() -> Path:
    """Where :func:`cached_features` keeps its arrays: ``<cache>/derived/features``."""
    return cache_dir() / "derived" / "features"


_FRAMEWORKS = ("numpy", "torch", "torchvision", "keras", "tensorflow", "tensorflow-cpu")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def recipe_version(recipe: object = "") -> str:
    """A fingerprint (10 hex digits) of the recipe that makes cached features: ``repr(recipe)`` (the
    lesson's own preprocessing, e.g. its torchvision transform), the code of this module and of
    :mod:`tlcourse.models` (extractors, backbones, their preprocessing) and the installed frameworks'
    versions. A change to any of them makes a new cache entry instead of reusing old arrays."""
    h = hashlib.sha256(_ADDRESS.sub("", repr(recipe)).encode())
    here = Path(__file__).resolve().parent
    for path in [here / "features.py", *sorted((here / "models").glob("*.py"))]:
        h.update(path.read_bytes())
    for dist in _FRAMEWORKS:
        try:
            h.update(f"\0{dist}=={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"\0{dist} absent".encode())
    return h.hexdigest()[:10]


def cached_features(key: str, compute: Callable[[], np.ndarray], *, recipe: object = "") -> np.ndarray:
    """Return the array stored under ``key``, or ``compute()`` it once and store it.

    ``key`` must name the data the features are of (framework, backbone, dataset folder, split),
    e.g. ``"torch-mobilenet_v2-fashion_mnist-96px-...-train"``; letters, digits and ``. _ = -``
    only. ``recipe`` is what the lesson does to an image before the network (its transform): with
    the package's extractor code and the frameworks' versions it makes :func:`recipe_version`,
    which the file name carries. Arrays are saved as ``.npy`` atomically (written to a temporary
    file, then renamed), so an interrupted run never leaves a truncated cache entry; an unreadable
    entry is recomputed. Prints where the array came from and how long it took.
    """
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(
            f"Feature cache key {key!r} must be 1-200 characters of letters, digits and '._=-' "
            "(it becomes a file name)."
        )
    path = features_dir() / f"{key}-r{recipe_version(recipe)}.npy"
    if path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            print(f"features {key!r}: cache file {path} is unreadable ({exc}); recomputing.")
        else:
            print(f"features {key!r}: loaded {arr.shape} from the cache ({path}).")
            return arr
    start = time.perf_counter()
    arr = np.asarray(compute())
    seconds = time.perf_counter() - start
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"features {key!r}: computed {arr.shape} in {seconds:.1f} s, cached at {path}.")
    return arr


def extract_features_torch(model: Any, loader: Any, device: Any) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` (in eval mode, no gradients) over every batch ``(x, y)`` of ``loader``.

    Returns ``features`` (float32, [N, D]; outputs with more dimensions are flattened) and
    ``labels`` (int64, [N]) in the loader's order; use an unshuffled loader so rows line up with
    the dataset. The model's train/eval mode is restored afterwards.
    """
    import torch
    from tqdm.auto import tqdm

    was_training = model.training
    model.eval()
    feats, labels = [], []
    try:
        with torch.inference_mode():
            for x, y in tqdm(loader, desc="extracting features", leave=False):
                out = model(x.to(device))
                feats.append(out.flatten(1).float().cpu())
                labels.append(torch.as_tensor(y).cpu())
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError("extract_features_torch: the loader yielded no batches (empty split?).")
    return torch.cat(feats).numpy(), torch.cat(labels).numpy().astype(np.int64)
