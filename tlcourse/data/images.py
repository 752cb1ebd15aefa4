"""Image datasets as a plain folder tree that every framework's standard loader reads.

:func:`image_folder` materialises (once, cached, atomically) the layout::

    <root>/train/<class>/*.png
    <root>/val/<class>/*.png
    <root>/test/<class>/*.png

so a lesson loads it with ``keras.utils.image_dataset_from_directory(root / "train", ...)`` or
``torchvision.datasets.ImageFolder(root / "train", ...)``: the same files, the same splits and (both
loaders sort class folders alphabetically) the same class indices in Keras and PyTorch.

* ``fashion_mnist`` (offline): 28x28 grayscale product photos, upsampled to ``image_size`` px
  (bilinear) and replicated to 3 channels, so an ImageNet RGB network can read them.
  ``val`` is carved from the official training split, ``test`` from the official test split.
* ``cats_and_dogs_filtered`` (online only): colour photos, centre-cropped to a square and resized;
  ``val`` is carved from the official ``train/`` folder, ``test`` from ``validation/``.

Selection is stratified (``per_class`` images of every class) and deterministic in ``seed``. For a
fixed seed the validation images do not depend on the train size and a smaller train split is a
subset of a larger one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..assets import cache_dir, fetch
from ..assets.cache import lock, sweep_stale, temp_name

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
COMPLETE = ".complete.json"

# Fashion-MNIST's labels 0..9, folder-safe. Loaders order classes alphabetically, so a model's
# class index i means ``sorted(FASHION_MNIST_CLASSES)[i]`` (the same in Keras and PyTorch).
FASHION_MNIST_CLASSES: list[str] = [
    "t-shirt_top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle_boot",
]
CATS_AND_DOGS_CLASSES: list[str] = ["cats", "dogs"]

_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class ImageFolderError(ValueError):
    """An image folder (or a raw dataset file) is malformed; the message names the file."""


def _strict_open(path: Path) -> Image.Image:
    """``Image.open`` that treats PIL's decompression-bomb warning as an error (it names no file)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(path)
        except Image.DecompressionBombWarning as exc:
            raise Image.DecompressionBombError(str(exc)) from None


# --------------------------------------------------------------------------- Fashion-MNIST


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    """Read one idx file (big-endian header: magic, then ``ndim`` sizes; then uint8 data)."""
    redo = (
        f"The file is corrupt or not the right file: delete the folder {path.parent} and run "
        "tl.fetch('fashion_mnist') again."
    )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImageFolderError(f"{path}: cannot be read ({exc.strerror or exc}). {redo}") from None
    header = 4 * (1 + ndim)
    if len(raw) < header:
        raise ImageFolderError(f"{path}: only {len(raw)} bytes, too short for an idx header. {redo}")
    fields = np.frombuffer(raw[:header], dtype=">u4").astype(np.int64)
    if fields[0] != magic:
        raise ImageFolderError(
            f"{path}: magic number {fields[0]}, expected {magic} for an idx file with "
            f"{ndim} dimension(s). {redo}"
        )
    shape = tuple(int(s) for s in fields[1:])
    expected = header + math.prod(shape)  # Python ints: huge dimensions cannot overflow
    if len(raw) != expected:
        raise ImageFolderError(
            f"{path}: {len(raw)} bytes, but its header {shape} implies {expected}. {redo}"
        )
    return np.frombuffer(raw[header:], dtype=np.uint8).reshape(shape)


def load_fashion_mnist(
    split: str, folder: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The official ``"train"`` (60,000) or ``"test"`` (10,000) split of Fashion-MNIST.

    Returns ``images`` (uint8, [N, 28, 28], 0 = black background) and ``labels`` (int64, [N],
    0..9, names in :data:`FASHION_MNIST_CLASSES`). ``folder`` defaults to ``tl.fetch("fashion_mnist")``.
    """
    if split not in _IDX_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    folder = Path(folder) if folder is not None else fetch("fashion_mnist", progress=False)
    img_name, lbl_name = _IDX_FILES[split]
    images = _read_idx(folder / img_name, 2051, 3)
    labels = _read_idx(folder / lbl_name, 2049, 1).astype(np.int64)
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ImageFolderError(
            f"{folder}: {img_name} holds {images.shape} images but {lbl_name} {labels.shape} "
            "labels; expected [N, 28, 28] and [N]. Delete the folder and fetch again."
        )
    if labels.max(initial=0) >= len(FASHION_MNIST_CLASSES):
        raise ImageFolderError(f"{folder / lbl_name}: label {labels.max()} is not in 0..9.")
    return images, labels


# --------------------------------------------------------------------------- materialisation


def check_per_class(per_class: Mapping[str, int], what: str = "per_class",
                    example: str = "{'train': 100, 'val': 20, 'test': 50}") -> None:
    """Raise a ValueError unless ``per_class`` has exactly the keys train/val/test, each an int >= 1.

    ``what`` names the argument in the message and ``example`` shows a valid value.
    """
    if set(per_class) != set(SPLITS):
        raise ValueError(f"{what} needs exactly the keys {SPLITS}, got {sorted(per_class)}; e.g. {example}.")
    bad = {k: v for k, v in per_class.items() if not (isinstance(v, int) and v >= 1)}
    if bad:
        raise ValueError(f"{what} values must be integers >= 1, got {bad}.")


def _pick_classes(known: list[str], classes: Sequence[str] | None, dataset: str) -> list[str]:
    if classes is None:
        return list(known)
    unknown = [c for c in classes if c not in known]
    if unknown or len(set(classes)) < 2 or len(set(classes)) != len(classes):
        raise ValueError(
            f"classes must be 2 or more distinct names of {dataset}'s classes "
            f"({', '.join(known)}); got {list(classes)}."
        )
    return list(classes)


def _split_indices(
    pool: np.ndarray, n_first: int, n_second: int, rng: np.random.Generator, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``pool`` and return its first ``n_first`` and the next ``n_second`` entries."""
    if n_first + n_second > len(pool):
        raise ValueError(
            f"{what}: asked for {n_first + n_second} images but only {len(pool)} exist; "
            "lower per_class."
        )
    perm = rng.permutation(pool)
    return np.sort(perm[:n_first]), np.sort(perm[n_first : n_first + n_second])


def _fashion_mnist_jobs(
    per_class: dict[str, int], image_size: int, classes: list[str], seed: int
) -> list[tuple[str, str, str, Callable[[], Image.Image]]]:
    """(split, class, file name, make image) for every image of the folder."""
    train_x, train_y = load_fashion_mnist("train")
    test_x, test_y = load_fashion_mnist("test")
    rng = np.random.default_rng(seed)
    jobs = []

    def render(arr: np.ndarray) -> Callable[[], Image.Image]:
        return lambda: (
            Image.fromarray(arr, mode="L")
            .resize((image_size, image_size), Image.Resampling.BILINEAR)
            .convert("RGB")
        )

    for name in classes:
        label = FASHION_MNIST_CLASSES.index(name)
        # val first: it then does not depend on the train size, and train splits are nested.
        val_idx, train_idx = _split_indices(
            np.flatnonzero(train_y == label), per_class["val"], per_class["train"], rng,
            f"Fashion-MNIST train, class {name}",
        )
        test_idx, _ = _split_indices(
            np.flatnonzero(test_y == label), per_class["test"], 0, rng,
            f"Fashion-MNIST test, class {name}",
        )
        for split, idx, source in (("train", train_idx, train_x), ("val", val_idx, train_x),
                                   ("test", test_idx, test_x)):
            origin = "train" if split != "test" else "test"
            for i in idx:
                jobs.append((split, name, f"{origin}{i:05d}.png", render(source[i])))
    return jobs


def _cats_and_dogs_jobs(
    per_class: dict[str, int], image_size: int, classes: list[str], seed: int
) -> list[tuple[str, str, str, Callable[[], Image.Image]]]:
    base = fetch("cats_and_dogs_filtered") / "cats_and_dogs_filtered"
    rng = np.random.default_rng(seed)
    jobs = []

    def render(path: Path) -> Callable[[], Image.Image]:
        def make() -> Image.Image:
            try:
                with _strict_open(path) as im:
                    return ImageOps.fit(im.convert("RGB"), (image_size, image_size),
                                        Image.Resampling.BILINEAR)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
                raise ImageFolderError(
                    f"{path} cannot be decoded as an image ({exc}): delete the folder "
                    f"{base.parent} and fetch cats_and_dogs_filtered again."
                ) from exc

        return make

    for name in classes:
        train_files = np.array(sorted((base / "train" / name).glob("*.jpg")))
        test_files = np.array(sorted((base / "validation" / name).glob("*.jpg")))
        val_f, train_f = _split_indices(train_files, per_class["val"], per_class["train"], rng,
                                        f"cats_and_dogs_filtered train/{name}")
        test_f, _ = _split_indices(test_files, per_class["test"], 0, rng,
                                   f"cats_and_dogs_filtered validation/{name}")
        for split, files in (("train", train_f), ("val", val_f), ("test", test_f)):
            for f in files:
                jobs.append((split, name, Path(f).stem + ".png", render(Path(f))))
    return jobs


_DATASETS = {
    "fashion_mnist": (FASHION_MNIST_CLASSES, _fashion_mnist_jobs),
    "cats_and_dogs_filtered": (CATS_AND_DOGS_CLASSES, _cats_and_dogs_jobs),
}


def image_folder(
    dataset: str,
    per_class: dict[str, int],
    image_size: int,
    seed: int,
    classes: list[str] | None = None,
) -> Path:
    """Materialise ``dataset`` as ``train/ val/ test/ <class>/*.png`` and return the root folder.

    ``per_class`` = ``{"train": n, "val": n, "test": n}`` images of every class; images are RGB,
    ``image_size`` x ``image_size`` px. ``classes`` picks a subset of the dataset's classes (default:
    all). The folder lives under ``tl.assets.cache_dir()/"derived"``, is built once (in a temporary
    folder that is renamed into place when complete, so an interrupted run never leaves a
    half-written folder that looks complete) and reused while the arguments are the same.
    """
    if dataset not in _DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; use one of {', '.join(_DATASETS)}.")
    check_per_class(per_class)
    if not (isinstance(image_size, int) and 8 <= image_size <= 1024):
        raise ValueError(f"image_size must be an integer pixel size in 8..1024, got {image_size!r}.")
    known, make_jobs = _DATASETS[dataset]
    chosen = _pick_classes(known, classes, dataset)
    name = (f"{dataset}-{image_size}px-tr{per_class['train']}-va{per_class['val']}"
            f"-te{per_class['test']}-seed{seed}")
    if classes is not None:
        name += "-" + hashlib.sha256(",".join(chosen).encode()).hexdigest()[:8]
    derived = cache_dir() / "derived"
    root = derived / name
    if (root / COMPLETE).is_file():
        return root
    derived.mkdir(parents=True, exist_ok=True)
    with lock(derived, name):  # a second process building the same folder waits, then reuses it
        sweep_stale(derived, name)  # temporary folders of builds that were killed
        if not (root / COMPLETE).is_file():
            _build(root, dataset, per_class, image_size, seed, chosen, make_jobs)
    return root


def _build(root: Path, dataset: str, per_class: dict[str, int], image_size: int, seed: int,
           chosen: list[str], make_jobs: Callable) -> None:
    """Write the folder in a temporary sibling and rename it into place (hold the lock)."""
    jobs = make_jobs(per_class, image_size, chosen, seed)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=temp_name(root.name)))
    try:
        for split in SPLITS:
            for cls in chosen:
                (tmp / split / cls).mkdir(parents=True)
        for split, cls, fname, make in jobs:
            make().save(tmp / split / cls / fname)
        meta = {"dataset": dataset, "per_class": per_class, "image_size": image_size,
                "seed": seed, "classes": chosen}
        (tmp / COMPLETE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if root.exists() and not (root / COMPLETE).is_file():  # left by an interrupted build
            shutil.rmtree(root)
        os.replace(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_image_folder(root: Path) -> dict[str, dict[str, int]]:
    """Validate a ``train/ val/ test/ <class>/`` folder and return ``{split: {class: count}}``.

    Checks: the three splits exist, they hold the same class folders, no class folder is empty
    and every file is an image that decodes. Raises :class:`ImageFolderError` naming the first
    bad file or folder and what to do.
    """
    root = Path(root)
    redo = (
        f"Delete the folder {root} and run image_folder(...) again to rebuild it, "
        "or fix the file by hand."
    )
    if not root.is_dir():
        raise ImageFolderError(f"{root} does not exist; build it with image_folder(...) first.")
    counts: dict[str, dict[str, int]] = {}
    first: list[str] | None = None
    for split in SPLITS:
        sdir = root / split
        if not sdir.is_dir():
            raise ImageFolderError(f"{sdir} is missing: an image folder needs {SPLITS}. {redo}")
        hidden = sorted(p.name for p in sdir.iterdir() if p.is_dir() and p.name.startswith("."))
        if hidden:
            raise ImageFolderError(
                f"{sdir / hidden[0]} is a hidden folder (Jupyter creates .ipynb_checkpoints by "
                "itself): torchvision's ImageFolder and Keras would read it as an extra class, "
                f"shifting every class index of {split} against the other splits. Delete it: "
                f"rm -r '{sdir / hidden[0]}'"
            )
        classes = sorted(p.name for p in sdir.iterdir() if p.is_dir())
        if first is None:
            first = classes
        elif classes != first:
            raise ImageFolderError(
                f"{sdir} has classes {classes} but {root / SPLITS[0]} has {first}: every split "
                f"needs the same class folders, or class indices disagree. {redo}"
            )
        counts[split] = {}
        for cls in classes:
            # a hidden file that is no image (.DS_Store) is skipped by the loaders too
            files = sorted(p for p in (sdir / cls).iterdir() if not p.name.startswith(".")
                           or p.is_dir() or p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise ImageFolderError(f"{sdir / cls} is empty. {redo}")
            for path in files:
                if path.is_dir():
                    raise ImageFolderError(
                        f"{path} is a folder inside a class folder: the loaders read images in "
                        f"sub-folders too (a hidden .ipynb_checkpoints as well), so they would "
                        f"count as {cls}. Remove it: rm -r '{path}'"
                    )
                if path.name.startswith("."):
                    raise ImageFolderError(
                        f"{path} is a hidden image file: the loaders read it as an image of {cls} "
                        f"although it is not meant to be one. Remove it. {redo}"
                    )
                if path.suffix.lower() not in IMAGE_SUFFIXES:
                    raise ImageFolderError(
                        f"{path} is not an image file ({', '.join(IMAGE_SUFFIXES)}); the folder "
                        f"loaders would skip or reject it. Remove it. {redo}"
                    )
                try:
                    with _strict_open(path) as im:
                        im.load()
                except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
                    raise ImageFolderError(
                        f"{path} cannot be decoded as an image ({exc}). {redo}"
                    ) from exc
            counts[split][cls] = len(files)
    if not first:
        raise ImageFolderError(f"{root / SPLITS[0]} has no class folders. {redo}")
    return counts
