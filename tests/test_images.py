"""tlcourse.data.images: Fashion-MNIST reader, image-folder materialisation and validation."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tlcourse.data import images
from tlcourse.data.images import (
    FASHION_MNIST_CLASSES,
    ImageFolderError,
    check_image_folder,
    image_folder,
    load_fashion_mnist,
)

SMALL = {"train": 4, "val": 2, "test": 3}


@pytest.fixture
def derived(tmp_path, monkeypatch):
    """Derived folders go to a temporary cache; the raw asset still comes from the real one."""
    monkeypatch.setattr(images, "cache_dir", lambda: tmp_path)
    return tmp_path / "derived"


def files(root: Path, split: str) -> list[str]:
    return sorted(str(p.relative_to(root / split)) for p in (root / split).rglob("*.png"))


def test_load_fashion_mnist_shapes_and_labels():
    x, y = load_fashion_mnist("test")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [1000] * 10
    assert len(FASHION_MNIST_CLASSES) == 10
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_fashion_mnist("val")


def test_corrupt_idx_files_name_the_file(tmp_path):
    good = load_fashion_mnist.__globals__["fetch"]("fashion_mnist", progress=False)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes((good / name).read_bytes())
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    labels.write_bytes(b"\x00\x00\x08\x03" + labels.read_bytes()[4:])  # wrong magic
    with pytest.raises(ImageFolderError, match=r"t10k-labels-idx1-ubyte: magic number 2051"):
        load_fashion_mnist("test", folder=tmp_path)
    imgs = tmp_path / "t10k-images-idx3-ubyte"
    imgs.write_bytes(imgs.read_bytes()[:5000])  # truncated
    with pytest.raises(ImageFolderError, match=r"t10k-images-idx3-ubyte: 5000 bytes"):
        load_fashion_mnist("test", folder=tmp_path)


def test_image_folder_layout_counts_and_pixels(derived):
    root = image_folder("fashion_mnist", SMALL, 32, seed=0)
    assert root.parent == derived
    counts = check_image_folder(root)
    assert set(counts) == {"train", "val", "test"}
    for split, n in SMALL.items():
        assert counts[split] == {c: n for c in sorted(FASHION_MNIST_CLASSES)}
    img = Image.open(next((root / "val" / "bag").glob("*.png")))
    assert img.mode == "RGB" and img.size == (32, 32)
    r, g, b = (np.asarray(img)[..., i] for i in range(3))
    assert np.array_equal(r, g) and np.array_equal(g, b)  # grayscale replicated
    # val comes from the official train split, test from the official test split; no overlap.
    assert all(f.split("/")[1].startswith("train") for f in files(root, "val"))
    assert all(f.split("/")[1].startswith("test") for f in files(root, "test"))
    assert not set(files(root, "train")) & set(files(root, "val"))
    assert not list(derived.glob(".tmp-*"))  # no temporary folder left behind


def test_image_folder_is_deterministic_nested_and_cached(derived):
    a = image_folder("fashion_mnist", SMALL, 32, seed=0)
    stamp = (a / "train").stat().st_mtime_ns
    assert image_folder("fashion_mnist", SMALL, 32, seed=0) == a
    assert (a / "train").stat().st_mtime_ns == stamp  # reused, not rebuilt
    bigger = image_folder("fashion_mnist", {**SMALL, "train": 6}, 32, seed=0)
    assert set(files(a, "train")) < set(files(bigger, "train"))  # nested train sizes
    assert files(a, "val") == files(bigger, "val")  # val independent of the train size
    other = image_folder("fashion_mnist", SMALL, 32, seed=1)
    assert files(other, "train") != files(a, "train")


def test_image_folder_class_subset_and_bad_arguments(derived):
    root = image_folder("fashion_mnist", SMALL, 16, seed=0, classes=["sneaker", "sandal"])
    assert sorted(p.name for p in (root / "test").iterdir()) == ["sandal", "sneaker"]
    with pytest.raises(ValueError, match="distinct names"):
        image_folder("fashion_mnist", SMALL, 16, seed=0, classes=["sneaker", "boots"])
    with pytest.raises(ValueError, match="exactly the keys"):
        image_folder("fashion_mnist", {"train": 1, "test": 1}, 16, seed=0)
    with pytest.raises(ValueError, match="only 1000 exist"):
        image_folder("fashion_mnist", {**SMALL, "test": 1001}, 16, seed=0)
    with pytest.raises(ValueError, match="Unknown dataset"):
        image_folder("mnist", SMALL, 16, seed=0)


def test_interrupted_build_leaves_nothing_that_looks_complete(derived, monkeypatch):
    real = images._fashion_mnist_jobs

    def failing(*args):
        jobs = real(*args)
        broken = jobs[5][:3] + (lambda: (_ for _ in ()).throw(KeyboardInterrupt()),)
        return jobs[:5] + [broken] + jobs[6:]

    monkeypatch.setitem(images._DATASETS, "fashion_mnist", (FASHION_MNIST_CLASSES, failing))
    with pytest.raises(KeyboardInterrupt):
        image_folder("fashion_mnist", SMALL, 16, seed=0)
    assert not list(derived.iterdir())  # neither the folder nor its temporary build


def test_check_image_folder_names_the_bad_file(derived):
    root = image_folder("fashion_mnist", SMALL, 16, seed=0)
    victim = sorted((root / "test" / "coat").glob("*.png"))[0]
    victim.write_bytes(victim.read_bytes()[:40])  # a truncated PNG
    with pytest.raises(ImageFolderError, match=rf"{victim.name} cannot be decoded.*Delete the folder"):
        check_image_folder(root)
    victim.unlink()
    (root / "train" / "coat" / "notes.txt").write_text("hi")
    with pytest.raises(ImageFolderError, match="notes.txt is not an image file"):
        check_image_folder(root)
    (root / "train" / "coat" / "notes.txt").unlink()
    (root / "val" / "extra_class").mkdir()
    with pytest.raises(ImageFolderError, match="same class folders"):
        check_image_folder(root)
    with pytest.raises(ImageFolderError, match="does not exist"):
        check_image_folder(root / "nope")


# --------------------------------------------------------------------------- hostile input (issue 8, 16)


def _idx(path: Path, magic: int, arr: np.ndarray) -> None:
    header = np.array([magic, *arr.shape], dtype=">u4").tobytes()
    path.write_bytes(header + arr.astype(np.uint8).tobytes())


@pytest.fixture
def synthetic(tmp_path, monkeypatch):
    """A tiny Fashion-MNIST in idx format (random pixels: every image unique) in a temp folder;
    the loaders see it instead of the real asset. Returns (train_x, train_y, test_x, test_y)."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "raw"
    raw.mkdir()
    data = []
    for split, n in (("train", 8), ("test", 5)):
        y = np.repeat(np.arange(10), n)
        rng.shuffle(y)
        x = rng.integers(0, 256, size=(len(y), 28, 28), dtype=np.uint8)
        img_name, lbl_name = images._IDX_FILES[split]
        _idx(raw / img_name, 2051, x)
        _idx(raw / lbl_name, 2049, y)
        data += [x, y]
    monkeypatch.setattr(images, "fetch", lambda *a, **k: raw)
    monkeypatch.setattr(images, "cache_dir", lambda: tmp_path / "cache")
    return data


def test_every_image_lands_in_its_own_labels_folder(synthetic):
    """Decode each PNG and compare it with the idx source image it names, and its folder with the
    source label: a rotated or shuffled class mapping fails here."""
    train_x, train_y, test_x, test_y = synthetic
    root = image_folder("fashion_mnist", {"train": 5, "val": 2, "test": 4}, 28, seed=3)
    seen = 0
    for png in sorted(root.rglob("*.png")):
        split, cls = png.parent.parent.name, png.parent.name
        origin, index = png.stem[:-5], int(png.stem[-5:])
        assert origin == ("test" if split == "test" else "train"), png
        x, y = (test_x, test_y) if origin == "test" else (train_x, train_y)
        pixels = np.asarray(Image.open(png))
        assert np.array_equal(pixels[..., 0], x[index]), f"{png} is not source image {index}"
        assert FASHION_MNIST_CLASSES[y[index]] == cls, f"{png}: label {y[index]} filed under {cls}"
        seen += 1
    assert seen == 10 * (5 + 2 + 4)


def test_hidden_and_nested_entries_are_refused(synthetic):
    import torchvision

    root = image_folder("fashion_mnist", {"train": 2, "val": 1, "test": 1}, 16, seed=0)
    check_image_folder(root)
    sample = next((root / "train" / "bag").glob("*.png"))
    ckpt = root / "train" / ".ipynb_checkpoints"
    ckpt.mkdir()
    (ckpt / "x.png").write_bytes(sample.read_bytes())
    # why it matters: torchvision would make it class 0 of train only
    assert torchvision.datasets.ImageFolder(root / "train").classes[0] == ".ipynb_checkpoints"
    with pytest.raises(ImageFolderError, match=r"\.ipynb_checkpoints is a hidden folder.*rm -r"):
        check_image_folder(root)
    (ckpt / "x.png").unlink()
    ckpt.rmdir()
    nested = root / "val" / "coat" / ".ipynb_checkpoints"
    nested.mkdir()
    with pytest.raises(ImageFolderError, match="folder inside a class folder"):
        check_image_folder(root)
    nested.rmdir()
    hidden = root / "test" / "coat" / ".copy.png"
    hidden.write_bytes(sample.read_bytes())
    with pytest.raises(ImageFolderError, match=r"\.copy\.png is a hidden image file"):
        check_image_folder(root)
    hidden.unlink()
    (root / "test" / "coat" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # the loaders skip it
    check_image_folder(root)


def test_idx_header_with_huge_dimensions_names_the_file(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    # 2**31 * 2**31 * 4 = 2**64: wraps to 0 in int64, so a bare header would "match"
    path.write_bytes(np.array([2051, 2**31, 2**31, 4], dtype=">u4").tobytes())
    with pytest.raises(ImageFolderError, match=r"t10k-images-idx3-ubyte: 16 bytes, but its header"):
        images._read_idx(path, 2051, 3)


@pytest.mark.parametrize("side", [40, 100])  # PIL's warning (> limit) and error (> 2 x limit)
def test_png_decompression_bomb_names_the_file(synthetic, monkeypatch, side):
    root = image_folder("fashion_mnist", {"train": 1, "val": 1, "test": 1}, 16, seed=0)
    bomb = root / "val" / "dress" / "bomb.png"
    Image.new("L", (side, side)).save(bomb)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageFolderError, match=r"bomb\.png cannot be decoded"):
        check_image_folder(root)


def test_image_folder_leaves_no_lock_or_temp_and_sweeps_a_killed_build(synthetic, tmp_path):
    derived = tmp_path / "cache" / "derived"
    derived.mkdir(parents=True)
    name = "fashion_mnist-16px-tr1-va1-te1-seed0"
    (derived / f".tmp-{name}.killed1").mkdir()  # left by a build that was killed
    image_folder("fashion_mnist", {"train": 1, "val": 1, "test": 1}, 16, seed=0)
    assert sorted(p.name for p in derived.iterdir()) == [name]
