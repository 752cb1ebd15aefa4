"""The source -> target domain pair of lesson 07 (tlcourse.data.domains)."""

import numpy as np
import pytest

from tlcourse.data import domains

SMALL = {"train": 6, "val": 2, "test": 3}


@pytest.fixture(scope="module")
def photos():
    return domains.load_photos()


@pytest.fixture(scope="module")
def pair(photos):
    return domains.domain_pair("fashion_mnist", SMALL, seed=7, photos=photos)


def test_shapes_dtypes_and_balance(pair):
    assert pair.classes[0] == "t-shirt_top" and len(pair.classes) == 10
    for dom in (pair.source, pair.target):
        for split, n in SMALL.items():
            x, y = dom[split]
            assert x.shape == (10 * n, 28, 28, 3) and x.dtype == np.uint8
            assert y.dtype == np.int64 and np.bincount(y, minlength=10).tolist() == [n] * 10


def test_source_is_the_clean_item_and_target_is_coloured(pair):
    from tlcourse.data.images import load_fashion_mnist

    train_x, _ = load_fashion_mnist("train")
    src = pair.source["train"].x
    assert np.array_equal(src[..., 0], train_x[pair.index["source"]["train"]])
    assert np.array_equal(src[..., 0], src[..., 2]), "the source is grayscale in 3 channels"
    tgt = pair.target["train"].x
    assert np.abs(tgt[..., 0].astype(int) - tgt[..., 2]).mean() > 5, "target should carry colour"


def test_no_image_is_used_twice(pair):
    fit = [pair.index[d][s] for d in ("source", "target") for s in ("train", "val")]
    allfit = np.concatenate(fit)
    assert len(np.unique(allfit)) == len(allfit)
    test = np.concatenate([pair.index[d]["test"] for d in ("source", "target")])
    assert len(np.unique(test)) == len(test)


def test_digits_share_one_pool_without_overlap(photos):
    p = domains.domain_pair("digits", {"train": 40, "val": 10, "test": 30}, seed=1, photos=photos,
                            image_size=16)
    every = np.concatenate([p.index[d][s] for d in ("source", "target") for s in domains.SPLITS])
    assert len(np.unique(every)) == len(every) == 10 * 2 * 80
    assert p.source["test"].x.shape == (300, 16, 16, 3) and p.classes == [str(d) for d in range(10)]


def test_splits_are_not_sorted_by_class(pair):
    # A figure that shows "the first n images" of a split must see every class, not the first few.
    for dom in (pair.source, pair.target):
        for split in domains.SPLITS:
            y = dom[split].y
            first_half = set(y[: len(y) // 2].tolist())
            assert len(first_half) > 5, f"{split}: its first half holds only the classes {sorted(first_half)}"
            assert (np.diff(y) != 0).sum() > 2 * 9, f"{split} is (nearly) sorted by class: {y.tolist()}"


def test_deterministic_in_seed(photos, pair):
    again = domains.domain_pair("fashion_mnist", SMALL, seed=7, photos=photos)
    other = domains.domain_pair("fashion_mnist", SMALL, seed=8, photos=photos)
    for split in domains.SPLITS:
        assert np.array_equal(again.target[split].x, pair.target[split].x)
        assert np.array_equal(again.source[split].y, pair.source[split].y)
    assert not np.array_equal(other.target["train"].x, pair.target["train"].x)


def test_domains_sized_separately(photos):
    sizes = {"source": {"train": 5, "val": 1, "test": 2}, "target": {"train": 3, "val": 1, "test": 4}}
    p = domains.domain_pair("fashion_mnist", sizes, seed=0, photos=photos)
    assert len(p.source["train"].y) == 50 and len(p.target["train"].y) == 30
    assert len(p.target["test"].y) == 40


def test_blend_is_mnist_m_formula():
    items = np.array([[[0, 255], [100, 30]]], dtype=np.uint8)  # [1, 2, 2]
    photo = np.full((4, 4, 3), 100, dtype=np.uint8)
    photo[..., 1] = 0
    out = domains.blend_on_photos(items, [photo], np.random.default_rng(0))
    assert out.shape == (1, 2, 2, 3)
    assert out[0, :, :, 0].tolist() == [[100, 155], [0, 70]]  # |100 - item|
    assert out[0, :, :, 1].tolist() == [[0, 255], [100, 30]]  # |0 - item|


def test_clear_errors(photos, tmp_path):
    with pytest.raises(ValueError, match="Unknown items 'mnist'"):
        domains.domain_pair("mnist", SMALL, seed=0, photos=photos)
    with pytest.raises(ValueError, match="needs exactly the keys"):
        domains.domain_pair("fashion_mnist", {"train": 5, "test": 5}, seed=0, photos=photos)
    with pytest.raises(ValueError, match="integers >= 1"):
        domains.domain_pair("fashion_mnist", {"train": 0, "val": 1, "test": 1}, seed=0, photos=photos)
    with pytest.raises(ValueError, match="only .* are left; lower per_class"):
        domains.domain_pair("digits", {"train": 80, "val": 10, "test": 10}, seed=0, photos=photos)
    with pytest.raises(ValueError, match="image_size"):
        domains.domain_pair("digits", SMALL, seed=0, photos=photos, image_size=4)
    with pytest.raises(ValueError, match="at least 28x28"):
        domains.blend_on_photos(np.zeros((1, 28, 28), np.uint8), [np.zeros((10, 10, 3), np.uint8)],
                                np.random.default_rng(0))
    with pytest.raises(FileNotFoundError, match="skimage_backgrounds"):
        domains.load_photos(tmp_path)
    for name in domains.PHOTO_FILES:
        (tmp_path / name).write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot be decoded"):
        domains.load_photos(tmp_path)
