"""A source -> target pair of image domains with a real gap, built offline (lesson 07).

The *source* domain is clean grayscale items (white on black, replicated to 3 channels); the
*target* domain is other items of the same classes blended onto colour patches cut from real
photos, the recipe of MNIST-M (Ganin & Lempitsky, 2015)::

    target[c] = | patch[c] - item |      per pixel and colour channel c, values 0..255

so where the item is bright the photo's colours are inverted and elsewhere the photo shows
through. The photos are the five colour photos of the asset ``skimage_backgrounds`` (shipped with
scikit-image; public domain / CC0); each patch is a random square of 1-4x the image size from a
random photo, resized to the image size.

Items (``items=``):

* ``"fashion_mnist"`` (default): Fashion-MNIST's 28x28 product photos (asset ``fashion_mnist``).
  ``train``/``val`` of both domains come from the official training split, ``test`` from the
  official test split; no image is used twice.
* ``"digits"``: scikit-learn's 1,797 handwritten 8x8 digits (about 180 per class), upsampled;
  every split comes from that one pool, so ask for at most about 170 per class in total.

Every split is balanced (``per_class`` images of every class), its images in a random order (not
sorted by class: the first ``n`` images of a split are a sample of every class), and deterministic
in ``seed``.
The target ``train`` split is the unlabelled data adaptation methods may use: its labels are
returned too, but only the target-supervised upper bound may read them. Typical use::

    pair = domain_pair("fashion_mnist", {"train": 200, "val": 20, "test": 100}, seed=42)
    pair.source["train"].x   # uint8 [N, 28, 28, 3]
    pair.target["test"].y    # int64 [N]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from ..assets import fetch
from .images import FASHION_MNIST_CLASSES, SPLITS, check_per_class, load_fashion_mnist

ITEMS = ("fashion_mnist", "digits")
PHOTO_FILES = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg")
DIGIT_CLASSES = [str(d) for d in range(10)]
MAX_PATCH_FACTOR = 4  # a patch is a random square of 1..4 image sizes, resized to the image size


class Split(NamedTuple):
    """One split of one domain: images ``x`` (uint8 [N, S, S, 3], RGB) and labels ``y`` (int64 [N])."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class DomainPair:
    """Source and target domains, each a dict ``{"train" | "val" | "test": Split}``.

    ``index[domain][split]`` gives each image's position in the items' original split (the
    official train split for train/val, the official test split for test; for ``digits`` the
    one pool), so provenance can be checked: no image appears twice.
    """

    items: str
    classes: list[str]
    source: dict[str, Split]
    target: dict[str, Split]
    index: dict[str, dict[str, np.ndarray]]


def _check_per_class(per_class: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """Accept ``{split: n}`` (both domains alike) or ``{"source": {...}, "target": {...}}``."""
    if set(per_class) == {"source", "target"}:
        tables = {d: dict(per_class[d]) for d in ("source", "target")}  # type: ignore[arg-type]
    else:
        tables = {"source": dict(per_class), "target": dict(per_class)}
    for domain, table in tables.items():
        check_per_class(table, f"per_class ({domain})",
                        "{'train': 200, 'val': 20, 'test': 100}, or {'source': {...}, 'target': {...}}")
    return tables


def load_photos(folder: Path | None = None) -> list[np.ndarray]:
    """The background photos (uint8 [H, W, 3] each); ``folder`` defaults to ``tl.fetch("skimage_backgrounds")``."""
    folder = Path(folder) if folder is not None else fetch("skimage_backgrounds", progress=False)
    photos = []
    for name in PHOTO_FILES:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: run tl.fetch('skimage_backgrounds') (it copies the photos from the "
                "installed scikit-image) or delete the folder and fetch again."
            )
        try:
            with Image.open(path) as im:
                photos.append(np.asarray(im.convert("RGB")))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} cannot be decoded as an image ({exc}); delete {folder} and "
                             "run tl.fetch('skimage_backgrounds') again.") from exc
    return photos


def blend_on_photos(items: np.ndarray, photos: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """MNIST-M blending: ``|patch - item|`` per channel.

    ``items``: uint8 [N, S, S] grayscale (bright object on black); ``photos``: uint8 [H, W, 3]
    images at least ``S`` px on each side. Returns uint8 [N, S, S, 3]. Draws from ``rng`` in a
    fixed order (photo, patch size, position), so a seeded generator gives the same images.
    """
    if items.ndim != 3 or items.shape[1] != items.shape[2] or items.dtype != np.uint8:
        raise ValueError(f"items must be uint8 [N, S, S], got {items.dtype} {items.shape}.")
    size = items.shape[1]
    small = [p for p in photos if min(p.shape[:2]) < size]
    if not photos or small:
        raise ValueError(f"need photos of at least {size}x{size} px; got {[p.shape for p in photos]}.")
    out = np.empty(items.shape + (3,), dtype=np.uint8)
    for i, item in enumerate(items):
        photo = photos[int(rng.integers(len(photos)))]
        h, w = photo.shape[:2]
        side = int(rng.integers(size, min(h, w, MAX_PATCH_FACTOR * size) + 1))
        top, left = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
        patch = Image.fromarray(photo[top : top + side, left : left + side])
        patch_arr = np.asarray(patch.resize((size, size), Image.Resampling.BILINEAR), dtype=np.int16)
        out[i] = np.abs(patch_arr - item[:, :, None].astype(np.int16)).astype(np.uint8)
    return out


def _to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[:, :, :, None], 3, axis=3)


def _resize(gray: np.ndarray, size: int) -> np.ndarray:
    if gray.shape[1] == size:
        return gray
    return np.stack([np.asarray(Image.fromarray(g).resize((size, size), Image.Resampling.BILINEAR))
                     for g in gray])


def _pools(items: str) -> tuple[list[str], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """(class names, {"fit": (images, labels), "test": (images, labels)}): uint8 [N, s, s] images."""
    if items == "fashion_mnist":
        return FASHION_MNIST_CLASSES, {"fit": load_fashion_mnist("train"), "test": load_fashion_mnist("test")}
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)  # 0..16 -> 0..255
    pool = (images, digits.target.astype(np.int64))
    return DIGIT_CLASSES, {"fit": pool, "test": pool}


def domain_pair(
    items: str,
    per_class: Mapping[str, int] | Mapping[str, Mapping[str, int]],
    seed: int,
    image_size: int = 28,
    photos: list[np.ndarray] | None = None,
) -> DomainPair:
    """Build the source (clean) and target (blended on photos) domains, three splits each.

    ``per_class``: ``{"train": n, "val": n, "test": n}`` images of every class in each split of
    both domains, or ``{"source": {...}, "target": {...}}`` to size them separately. The source and
    target never share an image. ``photos`` defaults to :func:`load_photos`.
    """
    if items not in ITEMS:
        raise ValueError(f"Unknown items {items!r}; use one of {', '.join(ITEMS)} (both offline).")
    tables = _check_per_class(per_class)
    if not (isinstance(image_size, int) and 8 <= image_size <= 128):
        raise ValueError(f"image_size must be an integer pixel size in 8..128, got {image_size!r}.")
    classes, pools = _pools(items)
    photos = load_photos() if photos is None else photos
    rng = np.random.default_rng(seed)
    picked: dict[tuple[str, str], list[np.ndarray]] = {}
    for label in range(len(classes)):
        # A fixed order of draws per class: the pool of the "fit" splits, then the test pool.
        for pool_name, wanted in (("fit", ("train", "val")), ("test", ("test",))):
            x, y = pools[pool_name]
            idx = rng.permutation(np.flatnonzero(y == label))
            if items == "digits" and pool_name == "test":  # one pool: skip what fit already took
                taken = np.concatenate([picked[(d, s)][label] for d in ("source", "target")
                                        for s in ("train", "val")])
                idx = idx[~np.isin(idx, taken)]
            need = [(d, s, tables[d][s]) for s in wanted for d in ("source", "target")]
            total = sum(n for _, _, n in need)
            if total > len(idx):
                raise ValueError(
                    f"{items}, class {classes[label]}: the splits {[s for s in wanted]} of both "
                    f"domains need {total} images but only {len(idx)} are left; lower per_class."
                )
            start = 0
            for d, s, n in need:
                picked.setdefault((d, s), []).append(np.sort(idx[start : start + n]))
                start += n
    source: dict[str, Split] = {}
    target: dict[str, Split] = {}
    index: dict[str, dict[str, np.ndarray]] = {"source": {}, "target": {}}
    for split in SPLITS:
        x_pool, y_pool = pools["test" if split == "test" else "fit"]
        for domain, out in (("source", source), ("target", target)):
            by_class = np.concatenate(picked[(domain, split)])
            idx = index[domain][split] = by_class[rng.permutation(len(by_class))]  # classes shuffled
            gray = _resize(x_pool[idx], image_size)
            x = _to_rgb(gray) if domain == "source" else blend_on_photos(gray, photos, rng)
            out[split] = Split(x=x, y=y_pool[idx].copy())
    return DomainPair(items=items, classes=list(classes), source=source, target=target, index=index)
