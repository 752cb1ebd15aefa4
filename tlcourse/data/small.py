"""Small image data sets held in memory, for experiments that run in seconds on a CPU.

* :func:`digits_subset`: scikit-learn's handwritten digits (1,797 images, 8x8, shipped with
  scikit-learn, so always offline), optionally upsampled to 28x28 so that they share Fashion-MNIST's
  input space;
* :func:`fashion_subset`: Fashion-MNIST (28x28 product photos, the ``fashion_mnist`` asset);
* :func:`shift_domain`: the same images in a shifted domain (noise, blur, inverted contrast, a
  translation, a fixed pixel permutation): P(X) changes, the labels do not.

Both loaders pick classes (by index or name) and a number of images *per class* for each split,
and return ``{split: (x, y)}``: ``x`` float32 ``[N, H, W]`` in ``[0, 1]``, ``y`` int64 ``[N]`` with
``y == i`` meaning ``classes[i]`` (labels are renumbered 0..len(classes)-1 in the order given).
Selection is stratified (exactly ``per_class[split]`` images of every class), shuffled, and
deterministic in ``seed``. For a fixed seed the test and validation images do not depend on the
training size, and a smaller training split is a subset of a larger one (so a learning curve
over training sizes compares like with like).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image

from .images import FASHION_MNIST_CLASSES, load_fashion_mnist

SPLITS = ("train", "val", "test")
DIGIT_CLASSES: list[str] = [str(d) for d in range(10)]
SHIFTS = ("noise", "blur", "invert", "translate", "permute")

Splits = dict[str, tuple[np.ndarray, np.ndarray]]


def _class_indices(classes: Sequence[int | str], known: Sequence[str], dataset: str) -> list[int]:
    """Indices into ``known`` for ``classes`` (ints or names); a clear error for a bad selection."""
    if isinstance(classes, str | int) or not len(classes):
        raise ValueError(
            f"classes must be a non-empty list of {dataset} classes (indices 0..{len(known) - 1} "
            f"or names: {', '.join(known)}); got {classes!r}."
        )
    out = []
    for c in classes:
        if isinstance(c, bool) or not isinstance(c, int | np.integer | str):
            raise ValueError(f"class {c!r} is neither an index nor a name of {dataset}'s classes.")
        if isinstance(c, str):
            if c not in known:
                raise ValueError(f"unknown {dataset} class {c!r}; the classes are: {', '.join(known)}.")
            out.append(list(known).index(c))
        elif not 0 <= int(c) < len(known):
            raise ValueError(
                f"{dataset} class index {int(c)} is out of range; use 0..{len(known) - 1} "
                f"({', '.join(known)})."
            )
        else:
            out.append(int(c))
    if len(set(out)) != len(out):
        raise ValueError(f"classes {list(classes)} name a class twice; each class once, please.")
    return out


def _check_per_class(per_class: Mapping[str, int]) -> dict[str, int]:
    unknown = sorted(set(per_class) - set(SPLITS))
    if unknown:
        raise ValueError(f"per_class has unknown split(s) {unknown}; use {', '.join(SPLITS)}.")
    counts = {s: per_class.get(s, 0) for s in SPLITS}
    bad = {s: n for s, n in counts.items() if not isinstance(n, int | np.integer) or n < 0}
    if bad:
        raise ValueError(f"per_class values must be integers >= 0, got {bad}.")
    if not any(counts.values()):
        raise ValueError(
            f"per_class {dict(per_class)} selects no images; give at least one split a count >= 1, "
            "e.g. {'train': 20, 'val': 20, 'test': 100}."
        )
    return {s: int(n) for s, n in counts.items()}


def _take(pool: np.ndarray, sizes: Sequence[int], rng: np.random.Generator, what: str) -> list[np.ndarray]:
    """Shuffle ``pool`` once and cut consecutive pieces of the given sizes."""
    if sum(sizes) > len(pool):
        raise ValueError(
            f"{what}: asked for {sum(sizes)} images but only {len(pool)} exist; lower per_class."
        )
    perm = rng.permutation(pool)
    cuts = np.cumsum([0, *sizes])
    return [perm[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def _assemble(parts: dict[str, list[tuple[np.ndarray, int]]], rng: np.random.Generator) -> Splits:
    out: Splits = {}
    for split in SPLITS:
        xs = [x for x, _ in parts[split]]
        ys = [np.full(len(x), label, dtype=np.int64) for x, label in parts[split]]
        x = np.concatenate(xs).astype(np.float32)
        y = np.concatenate(ys)
        order = rng.permutation(len(y))
        out[split] = (np.ascontiguousarray(x[order]), y[order])
    return out


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of float images ``[N, h, w]`` to ``[N, size, size]``."""
    if not len(images):
        return np.zeros((0, size, size), dtype=np.float32)
    return np.stack([
        np.asarray(Image.fromarray(im, mode="F").resize((size, size), Image.Resampling.BILINEAR))
        for im in images.astype(np.float32)
    ])


def digits_subset(
    classes: Sequence[int | str], per_class: Mapping[str, int], seed: int, image_size: int = 8
) -> Splits:
    """scikit-learn's digits (about 180 images per class), as ``{split: (x, y)}``.

    ``classes``: digits 0..9 (ints or ``"3"``-style names), label ``i`` = ``classes[i]``.
    ``per_class``: images per class in each of ``train``/``val``/``test`` (a missing split is 0);
    all three come from one pool per class (test drawn first, then val, then train).
    ``image_size``: 8 (the original 8x8) or larger (bilinear upsampling, e.g. 28 to match
    Fashion-MNIST). Pixels are scaled from 0..16 to 0..1.
    """
    from sklearn.datasets import load_digits

    chosen = _class_indices(classes, DIGIT_CLASSES, "digits")
    counts = _check_per_class(per_class)
    if not (isinstance(image_size, int) and 8 <= image_size <= 64):
        raise ValueError(f"image_size must be an integer in 8..64 pixels, got {image_size!r}.")
    data = load_digits()
    images = data.images.astype(np.float32) / 16.0
    if image_size != 8:
        images = np.clip(_resize(images, image_size), 0.0, 1.0)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[tuple[np.ndarray, int]]] = {s: [] for s in SPLITS}
    for label, digit in enumerate(chosen):
        test, val, train = _take(np.flatnonzero(data.target == digit),
                                 [counts["test"], counts["val"], counts["train"]], rng,
                                 f"digits class {digit}")
        for split, idx in (("train", train), ("val", val), ("test", test)):
            parts[split].append((images[np.sort(idx)], label))
    return _assemble(parts, rng)


def fashion_subset(
    classes: Sequence[int | str], per_class: Mapping[str, int], seed: int, image_size: int = 28
) -> Splits:
    """Fashion-MNIST (28x28) as ``{split: (x, y)}``; ``classes`` by index 0..9 or name.

    ``train`` and ``val`` come from the official training split (val drawn first, so it does not
    depend on the train size), ``test`` from the official test split. Names are those of
    :data:`tlcourse.data.images.FASHION_MNIST_CLASSES`; label ``i`` = ``classes[i]``.
    ``image_size`` other than 28 resizes bilinearly (8 gives the digits' 8x8 input space).
    """
    chosen = _class_indices(classes, FASHION_MNIST_CLASSES, "Fashion-MNIST")
    counts = _check_per_class(per_class)
    if not (isinstance(image_size, int) and 8 <= image_size <= 64):
        raise ValueError(f"image_size must be an integer in 8..64 pixels, got {image_size!r}.")
    train_x, train_y = load_fashion_mnist("train")
    test_x, test_y = load_fashion_mnist("test")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[tuple[np.ndarray, int]]] = {s: [] for s in SPLITS}
    for label, cls in enumerate(chosen):
        name = FASHION_MNIST_CLASSES[cls]
        val, train = _take(np.flatnonzero(train_y == cls), [counts["val"], counts["train"]], rng,
                           f"Fashion-MNIST train, class {name}")
        (test,) = _take(np.flatnonzero(test_y == cls), [counts["test"]], rng,
                        f"Fashion-MNIST test, class {name}")
        for split, source, idx in (("train", train_x, train), ("val", train_x, val),
                                   ("test", test_x, test)):
            images = source[np.sort(idx)].astype(np.float32) / 255.0
            if image_size != 28:
                images = np.clip(_resize(images, image_size), 0.0, 1.0)
            parts[split].append((images, label))
    return _assemble(parts, rng)


def shift_domain(x: np.ndarray, kind: str, seed: int = 0, severity: float = 1.0) -> np.ndarray:
    """The images ``x`` (float ``[N, H, W]`` in [0, 1]) moved to another domain; labels unchanged.

    ``kind``:

    * ``"noise"``: add Gaussian noise with standard deviation ``0.3 * severity``, clip to [0, 1];
    * ``"blur"``: a 3x3 box blur applied ``round(2 * severity)`` times (at least once);
    * ``"invert"``: ``1 - x`` (dark objects on a light background);
    * ``"translate"``: move every image ``round(3 * severity)`` pixels right and down (zeros enter);
    * ``"permute"``: one fixed random permutation of the pixel positions (drawn from ``seed``):
      the same information, scrambled; a different feature space for a model that looks at
      neighbouring pixels, the same one up to a relabelling of inputs for an MLP.

    Deterministic in ``seed``; returns a new float32 array of the same shape.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"x must be images [N, H, W], got shape {x.shape}.")
    if kind not in SHIFTS:
        raise ValueError(f"unknown shift {kind!r}; use one of {', '.join(SHIFTS)}.")
    if not (np.isfinite(severity) and severity > 0):
        raise ValueError(f"severity must be a positive number, got {severity!r}.")
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return np.clip(x + rng.normal(0.0, 0.3 * severity, x.shape), 0.0, 1.0).astype(np.float32)
    if kind == "invert":
        return (1.0 - x).astype(np.float32)
    if kind == "blur":
        out = x
        for _ in range(max(1, round(2 * severity))):
            padded = np.pad(out, ((0, 0), (1, 1), (1, 1)), mode="edge")
            h, w = x.shape[1:]
            out = sum(padded[:, i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9.0
        return out.astype(np.float32)
    if kind == "translate":
        d = round(3 * severity)
        out = np.zeros_like(x)
        if d < min(x.shape[1:]):
            out[:, d:, d:] = x[:, : x.shape[1] - d, : x.shape[2] - d]
        return out
    perm = rng.permutation(x.shape[1] * x.shape[2])
    return x.reshape(len(x), -1)[:, perm].reshape(x.shape).copy()
