"""Detection datasets in YOLO format, generated from real image material, and a strict label reader.

:func:`detection_dataset` materialises (once, cached, atomically) the layout ultralytics reads::

    <root>/data.yaml
    <root>/images/{train,val,test}/*.png
    <root>/labels/{train,val,test}/*.txt     one line per object: ``class cx cy w h`` (all in [0, 1])

Each image is a crop of a real photo or texture shipped with scikit-image (asset
``skimage_backgrounds``) with 1-3 Fashion-MNIST items (asset ``fashion_mnist``) pasted on it,
tinted and scaled; the box of each item is exact (the tight box of its visible pixels). Two
datasets share the recipe and differ in their classes:

* ``source`` - clothing: t-shirt/top, trouser, pullover, dress, coat, shirt (what the course's
  own source checkpoint is pre-trained on, standing in for COCO);
* ``target`` - footwear and bags: sandal, sneaker, bag, ankle boot (the "custom dataset").

Splits are disjoint in both their photos and their items: train and val items come from
disjoint parts of Fashion-MNIST's official training split, test items from its test split; each
split has its own background photos. Generation is deterministic in ``seed``.

:func:`read_yolo_labels` is the reader a lesson runs before training: it rejects malformed
labels with an error naming the file and line (:class:`LabelError`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..assets import cache_dir, fetch
from ..validate import read_text
from .images import FASHION_MNIST_CLASSES, load_fashion_mnist

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
COMPLETE = ".complete.json"
RECIPE_VERSION = 1  # bump when the generator changes, so cached datasets are rebuilt

CLASSES: dict[str, list[str]] = {
    "source": ["t-shirt_top", "trouser", "pullover", "dress", "coat", "shirt"],
    "target": ["sandal", "sneaker", "bag", "ankle_boot"],
}
# Background photos per split (files of the ``skimage_backgrounds`` asset): no photo is in two splits.
BACKGROUNDS: dict[str, list[str]] = {
    "train": ["astronaut.png", "brick.png", "coffee.png", "grass.png", "hubble_deep_field.jpg"],
    "val": ["rocket.jpg", "gravel.png"],
    "test": ["chelsea.png", "camera.png"],
}
MAX_OBJECTS = 3
OBJECT_SCALE = (0.28, 0.5)  # an item's side as a fraction of the image side
ALPHA_MIN = 0.1  # a resized item pixel with alpha above this is "visible" (defines the exact box)


class LabelError(ValueError):
    """A YOLO label file (or the dataset layout) is malformed; the message names file and line."""


# --------------------------------------------------------------------------- strict reader


@dataclass
class LabelReport:
    """What :func:`read_yolo_labels` found in one split.

    ``labels`` maps each image path to a float array [N, 5] of ``class cx cy w h`` rows (class as a
    float; N = 0 for an empty label file); ``backgrounds`` lists images without a label file.
    """

    labels: dict[Path, np.ndarray] = field(default_factory=dict)
    backgrounds: list[Path] = field(default_factory=list)

    @property
    def n_boxes(self) -> int:
        """Number of boxes over all images."""
        return int(sum(len(a) for a in self.labels.values()))

    def class_counts(self, nc: int) -> list[int]:
        """Boxes per class id 0..nc-1."""
        counts = np.zeros(nc, dtype=int)
        for rows in self.labels.values():
            np.add.at(counts, rows[:, 0].astype(int), 1)
        return counts.tolist()


def _parse_line(line: str, where: str, nc: int) -> list[float]:
    fields = line.split()
    if len(fields) != 5:
        raise LabelError(
            f"{where}: {len(fields)} columns, a detection label has 5: 'class cx cy w h' "
            "(segment or keypoint labels have more; this lesson trains boxes only)."
        )
    try:
        cls = int(fields[0])
    except ValueError:
        raise LabelError(f"{where}: class id {fields[0]!r} is not an integer.") from None
    if not 0 <= cls < nc:
        raise LabelError(
            f"{where}: class id {cls} is out of range; data.yaml names {nc} classes, ids 0..{nc - 1}."
        )
    try:
        box = [float(v) for v in fields[1:]]
    except ValueError:
        raise LabelError(f"{where}: the box {fields[1:]} is not four numbers.") from None
    if not all(math.isfinite(v) for v in box):
        raise LabelError(f"{where}: the box {fields[1:]} is not finite.")
    cx, cy, w, h = box
    if w <= 0 or h <= 0:
        raise LabelError(f"{where}: zero or negative width/height (w={w}, h={h}); drop the line.")
    eps = 1e-6
    if min(cx - w / 2, cy - h / 2) < -eps or max(cx + w / 2, cy + h / 2) > 1 + eps:
        raise LabelError(
            f"{where}: the box (cx={cx}, cy={cy}, w={w}, h={h}) reaches outside the image; YOLO "
            "coordinates are fractions of the image size, in [0, 1]. Pixels? Divide by width/height."
        )
    return [float(cls), cx, cy, w, h]


def _verify_image(path: Path) -> None:
    """Open the image and check its structure (PIL's ``verify``); a LabelError names a bad one."""
    try:
        with Image.open(path) as im:
            im.verify()
    except Exception as exc:  # noqa: BLE001  (PIL raises many kinds for a damaged file)
        why = "an empty file" if path.is_file() and path.stat().st_size == 0 else f"{type(exc).__name__}: {exc}"
        raise LabelError(f"{path}: not a readable image ({why}); replace it or delete it and its label.") from None


def read_yolo_labels(images_dir: str | os.PathLike[str], nc: int, *, warn: bool = True) -> LabelReport:
    """Read and validate every label of one split (``.../images/<split>``, labels in ``.../labels/<split>``).

    Raises :class:`LabelError` naming the file (and line) for: a wrong column count, a non-numeric
    field, a class id outside ``0..nc-1``, a box outside [0, 1], zero width or height, a label
    file without an image, a label file that is not UTF-8 text, an image that does not open
    (PIL), and two images of one name stem (``a.png`` and ``a.jpg`` would share ``a.txt``). An
    image without a label file is allowed (a background image: no objects) and reported in
    ``backgrounds`` (with a warning when ``warn``).
    """
    images_dir = Path(images_dir)
    if images_dir.parent.name != "images":
        raise LabelError(f"{images_dir}: expected a folder .../images/<split> (YOLO layout).")
    labels_dir = images_dir.parent.parent / "labels" / images_dir.name
    if not images_dir.is_dir():
        raise LabelError(f"{images_dir}: no such image folder.")
    images: dict[str, Path] = {}
    for p in sorted(images_dir.iterdir()):
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if p.stem in images:
            raise LabelError(
                f"{images[p.stem]} and {p.name}: two images with one name stem share the label file "
                f"{p.stem}.txt (YOLO trains on both). Rename or delete one of them."
            )
        _verify_image(p)
        images[p.stem] = p
    report = LabelReport()
    label_files = sorted(labels_dir.glob("*.txt")) if labels_dir.is_dir() else []
    for lf in label_files:
        if lf.stem not in images:
            raise LabelError(
                f"{lf}: a label file without an image (no {lf.stem}.png/.jpg in {images_dir}); "
                "delete the label or restore the image."
            )
        rows = []
        text = read_text(lf, error=LabelError, fix="A YOLO label file is plain text: 'class cx cy w h' per line.")
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip():
                rows.append(_parse_line(line, f"{lf}, line {i}", nc))
        report.labels[images[lf.stem]] = np.array(rows, dtype=np.float64).reshape(-1, 5)
    labelled = {p.stem for p in report.labels}
    report.backgrounds = [p for s, p in images.items() if s not in labelled]
    if report.backgrounds and warn:
        warnings.warn(
            f"{len(report.backgrounds)} image(s) in {images_dir} have no label file (e.g. "
            f"{report.backgrounds[0].name}); YOLO trains on them as background (no objects). If "
            "they should have objects, their labels are missing.",
            stacklevel=2,
        )
    return report


def _class_names(names: object, data_yaml: Path) -> list[str]:
    """The class names of ``names:`` (a list, or a mapping id -> name with ids 0..n-1)."""
    if isinstance(names, str) or not isinstance(names, list | dict) or not names:
        raise LabelError(
            f"{data_yaml}: 'names' must be a list of class names (names: [person, car]) or a mapping "
            f"(names: {{0: person, 1: car}}), got {names!r}."
        )
    if isinstance(names, dict):
        ids = list(names)
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids) or sorted(ids) != list(range(len(ids))):
            raise LabelError(f"{data_yaml}: class ids must be 0..{len(ids) - 1}, got {ids}.")
        names = [names[i] for i in range(len(ids))]
    bad = [n for n in names if not isinstance(n, str) or not n.strip()]
    if bad:
        raise LabelError(f"{data_yaml}: every class name must be non-empty text, got {bad[0]!r}.")
    return names


def check_dataset(data_yaml: str | os.PathLike[str]) -> dict[str, LabelReport]:
    """Validate a ``data.yaml`` and every split it names; return split -> :class:`LabelReport`.

    ``names`` must be a list or an id -> name mapping (not one string); ``nc``, if given, must
    equal the number of names; ``path``, ``train``, ``val``, ``test`` one folder each; and the
    training split must hold at least one box.
    """
    import yaml

    data_yaml = Path(data_yaml)
    text = read_text(data_yaml, error=LabelError, fix="data.yaml is UTF-8 YAML text.")
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LabelError(f"{data_yaml}: not valid YAML ({' '.join(str(exc).split())}).") from None
    if not isinstance(spec, dict) or "names" not in spec:
        raise LabelError(f"{data_yaml}: needs a 'names' mapping (class id -> name).")
    names = _class_names(spec["names"], data_yaml)
    nc = spec.get("nc", len(names))
    if isinstance(nc, bool) or not isinstance(nc, int) or nc != len(names):
        raise LabelError(f"{data_yaml}: nc: {nc!r} but 'names' lists {len(names)} classes; make them "
                         "agree (or drop nc: it follows from names).")
    for key in ("path", "train", "val", "test"):
        if key in spec and not isinstance(spec[key], str):
            raise LabelError(f"{data_yaml}: '{key}' must be one folder (text), got {spec[key]!r}; this "
                             "course's reader takes one folder per split.")
    root = Path(spec.get("path", data_yaml.parent))
    root = root if root.is_absolute() else data_yaml.parent / root
    reports = {}
    for split in ("train", "val", "test"):
        if split in spec:
            reports[split] = read_yolo_labels(root / spec[split], len(names))
    if "train" not in reports or "val" not in reports:
        raise LabelError(f"{data_yaml}: needs 'train' and 'val' entries.")
    if reports["train"].n_boxes == 0:
        raise LabelError(f"{data_yaml}: the training split {root / spec['train']} has no boxes at all "
                         "(no label lines): a detector cannot learn from it. Are the labels in "
                         f"{root / 'labels'}?")
    return reports


# --------------------------------------------------------------------------- generation


def _background_photos(folder: Path, names: list[str]) -> list[np.ndarray]:
    photos = []
    for name in names:
        with Image.open(folder / name) as im:
            photos.append(np.asarray(im.convert("RGB")))
    return photos


def _item_pools(classes: list[str], per_split: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    """Fashion-MNIST items (uint8 [N, 28, 28] plus labels) for each split, disjoint across splits."""
    wanted = [FASHION_MNIST_CLASSES.index(c) for c in classes]
    rng = np.random.default_rng(seed)
    pools = {}
    tr_x, tr_y = load_fashion_mnist("train")
    te_x, te_y = load_fashion_mnist("test")
    train_idx = rng.permutation(np.flatnonzero(np.isin(tr_y, wanted)))
    test_idx = rng.permutation(np.flatnonzero(np.isin(te_y, wanted)))
    n_val = per_split["val"] * MAX_OBJECTS
    n_train = per_split["train"] * MAX_OBJECTS
    n_test = per_split["test"] * MAX_OBJECTS
    parts = {"val": (tr_x, tr_y, train_idx[:n_val]), "train": (tr_x, tr_y, train_idx[n_val:n_val + n_train]),
             "test": (te_x, te_y, test_idx[:n_test])}
    for split, (x, y, idx) in parts.items():
        if len(idx) < per_split[split] * MAX_OBJECTS:
            raise ValueError(f"not enough Fashion-MNIST items for {per_split[split]} {split} images.")
        pools[split] = (x[idx], np.array([wanted.index(int(v)) for v in y[idx]]))
    return pools


def _render(bg: np.ndarray, items: np.ndarray, cls: np.ndarray, size: int,
            rng: np.random.Generator) -> tuple[Image.Image, list[list[float]]]:
    """One image: a random crop of ``bg`` resized to ``size`` with the items pasted; YOLO rows."""
    h, w = bg.shape[:2]
    side = int(rng.uniform(0.35, 1.0) * min(h, w))
    y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = Image.fromarray(bg[y0:y0 + side, x0:x0 + side]).resize((size, size), Image.BILINEAR)
    canvas = np.asarray(crop, dtype=np.float32).copy()
    if rng.random() < 0.5:
        canvas = canvas[:, ::-1].copy()
    taken: list[tuple[int, int, int, int]] = []
    rows = []
    for item, c in zip(items, cls, strict=True):
        s = int(rng.uniform(*OBJECT_SCALE) * size)
        for _ in range(30):  # rejection sampling: items never overlap (each box fully visible)
            px, py = int(rng.integers(0, size - s + 1)), int(rng.integers(0, size - s + 1))
            if all(px + s <= a or a2 <= px or py + s <= b or b2 <= py for a, b, a2, b2 in taken):
                break
        else:
            continue
        alpha = np.asarray(Image.fromarray(item).resize((s, s), Image.BILINEAR), dtype=np.float32) / 255
        vis = alpha > ALPHA_MIN
        if not vis.any():
            continue
        alpha = np.clip(alpha * 1.6, 0, 1) * vis
        tint = rng.uniform(0.35, 1.0, size=3) * 255
        shade = (0.45 + 0.55 * alpha)[..., None] * tint
        region = canvas[py:py + s, px:px + s]
        region[:] = region * (1 - alpha[..., None]) + shade * alpha[..., None]
        taken.append((px, py, px + s, py + s))
        ys, xs = np.nonzero(vis)
        bx0, bx1, by0, by1 = px + xs.min(), px + xs.max() + 1, py + ys.min(), py + ys.max() + 1
        rows.append([int(c), (bx0 + bx1) / 2 / size, (by0 + by1) / 2 / size,
                     (bx1 - bx0) / size, (by1 - by0) / size])
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8)), rows


def _write_split(root: Path, split: str, n: int, size: int, photos: list[np.ndarray],
                 pool: tuple[np.ndarray, np.ndarray], rng: np.random.Generator) -> None:
    img_dir, lbl_dir = root / "images" / split, root / "labels" / split
    img_dir.mkdir(parents=True)
    lbl_dir.mkdir(parents=True)
    x, y = pool
    k = 0
    for i in range(n):
        m = int(rng.integers(1, MAX_OBJECTS + 1))
        image, rows = _render(photos[i % len(photos)], x[k:k + m], y[k:k + m], size, rng)
        k += m
        image.save(img_dir / f"{split}_{i:05d}.png")
        text = "".join(f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n" for c, cx, cy, w, h in rows)
        (lbl_dir / f"{split}_{i:05d}.txt").write_text(text, encoding="utf-8")


def detection_dataset(kind: str, image_size: int, n_train: int, n_val: int, n_test: int,
                      seed: int = 0, cache: Path | None = None) -> Path:
    """The ``data.yaml`` of a generated detection dataset (``kind``: ``"source"`` or ``"target"``).

    ``n_*`` are images per split; ``image_size`` is their side in px. The dataset is written once
    under ``<cache>/detection/`` (atomically) and reused while the recipe is unchanged.
    """
    if kind not in CLASSES:
        raise ValueError(f"kind must be one of {sorted(CLASSES)}, got {kind!r}.")
    if image_size < 16 or min(n_train, n_val, n_test) < 1:
        raise ValueError("image_size must be >= 16 px and every split needs at least one image.")
    per_split = {"train": n_train, "val": n_val, "test": n_test}
    recipe = {"version": RECIPE_VERSION, "kind": kind, "classes": CLASSES[kind], "size": image_size,
              "splits": per_split, "seed": seed, "backgrounds": BACKGROUNDS}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    base = (cache or cache_dir()) / "detection"
    root = base / f"{kind}-{image_size}px-{key}"
    if (root / COMPLETE).is_file():
        return root / "data.yaml"
    base.mkdir(parents=True, exist_ok=True)
    bg_folder = fetch("skimage_backgrounds", progress=False)
    pools = _item_pools(CLASSES[kind], per_split, seed)
    staging = Path(tempfile.mkdtemp(dir=base, prefix=f".tmp-{kind}-"))
    try:
        for n, split in enumerate(SPLITS):
            photos = _background_photos(bg_folder, BACKGROUNDS[split])
            rng = np.random.default_rng([seed, n, 1 if kind == "target" else 0])
            _write_split(staging, split, per_split[split], image_size, photos, pools[split], rng)
        names = "".join(f"  {i}: {c}\n" for i, c in enumerate(CLASSES[kind]))
        (staging / "data.yaml").write_text(
            f"# {kind} detection dataset generated by tlcourse (recipe {key})\n"
            f"path: {root}\ntrain: images/train\nval: images/val\ntest: images/test\n"
            f"names:\n{names}",
            encoding="utf-8",
        )
        (staging / COMPLETE).write_text(json.dumps(recipe, sort_keys=True), encoding="utf-8")
        try:
            os.rename(staging, root)
        except OSError:  # another process finished first: keep theirs
            if not (root / COMPLETE).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root / "data.yaml"
