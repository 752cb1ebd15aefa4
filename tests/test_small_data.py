"""tlcourse.data.small: in-memory digits / Fashion-MNIST subsets and shifted domains."""

import numpy as np
import pytest

from tlcourse.data.small import SHIFTS, digits_subset, fashion_subset, shift_domain

PER = {"train": 6, "val": 3, "test": 4}


@pytest.fixture(scope="module")
def fashion():
    return fashion_subset(["sandal", 7, "bag"], PER, seed=0)


def test_digits_shapes_labels_and_balance():
    data = digits_subset([5, 6, 7], PER, seed=0)
    assert set(data) == {"train", "val", "test"}
    for split, (x, y) in data.items():
        assert x.shape == (3 * PER[split], 8, 8) and x.dtype == np.float32
        assert y.dtype == np.int64
        assert np.bincount(y).tolist() == [PER[split]] * 3  # labels renumbered 0..2, balanced
        assert 0.0 <= x.min() and x.max() <= 1.0
    up = digits_subset(["5", "6"], PER, seed=0, image_size=28)
    assert up["train"][0].shape == (12, 28, 28) and 0.0 <= up["train"][0].min() <= up["train"][0].max() <= 1.0


def test_labels_follow_the_given_class_order():
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = digits_subset([9, 0], {"train": 5}, seed=1)["train"]
    for img, label in zip(x, y, strict=True):
        digit = [9, 0][label]
        assert any(np.allclose(img, ref / 16.0) for ref in d.images[d.target == digit])


def test_fashion_shapes_balance_and_names(fashion):
    for split, (x, y) in fashion.items():
        assert x.shape == (3 * PER[split], 28, 28) and x.dtype == np.float32
        assert np.bincount(y).tolist() == [PER[split]] * 3
        assert 0.0 <= x.min() and x.max() <= 1.0
    small = fashion_subset([5, "sneaker", 8], PER, seed=0, image_size=8)
    assert small["val"][0].shape == (9, 8, 8) and 0.0 <= small["val"][0].min() <= small["val"][0].max() <= 1.0
    np.testing.assert_array_equal(small["val"][1], fashion["val"][1])
    by_name = fashion_subset([5, "sneaker", 8], PER, seed=0)
    for split in PER:
        np.testing.assert_array_equal(by_name[split][0], fashion[split][0])


def test_deterministic_and_nested():
    a = digits_subset(range(10), PER, seed=3)
    b = digits_subset(range(10), PER, seed=3)
    c = digits_subset(range(10), PER, seed=4)
    for split in PER:
        np.testing.assert_array_equal(a[split][0], b[split][0])
        np.testing.assert_array_equal(a[split][1], b[split][1])
    assert not np.array_equal(a["test"][0], c["test"][0])
    more = digits_subset(range(10), {**PER, "train": 12}, seed=3)
    for split in ("val", "test"):  # held-out splits do not depend on the train size
        assert sorted(map(bytes, more[split][0])) == sorted(map(bytes, a[split][0]))
    small = {bytes(img) for img in a["train"][0]}
    assert small <= {bytes(img) for img in more["train"][0]}  # a smaller train split is a subset


def test_splits_are_disjoint(fashion):
    train = {bytes(img) for img in fashion["train"][0]}
    val = {bytes(img) for img in fashion["val"][0]}
    assert not train & val
    d = digits_subset(range(10), {"train": 50, "val": 50, "test": 50}, seed=0)
    keys = [{bytes(img) for img in d[s][0]} for s in PER]
    assert sum(map(len, keys)) == len(set().union(*keys))


@pytest.mark.parametrize(("classes", "message"), [
    ([], "non-empty list"),
    (5, "non-empty list"),
    ([3, 12], "index 12 is out of range"),
    (["seven"], "unknown digits class 'seven'"),
    ([1, 1], "twice"),
    ([1.5], "neither an index nor a name"),
])
def test_bad_class_selection_is_a_clear_error(classes, message):
    with pytest.raises(ValueError, match=message):
        digits_subset(classes, PER, seed=0)


def test_unknown_fashion_class_lists_the_names():
    with pytest.raises(ValueError, match="unknown Fashion-MNIST class 'shoe'.*sneaker"):
        fashion_subset(["shoe"], PER, seed=0)


@pytest.mark.parametrize(("per_class", "message"), [
    ({"train": 0, "val": 0, "test": 0}, "selects no images"),
    ({}, "selects no images"),
    ({"training": 5}, "unknown split"),
    ({"train": -1}, "integers >= 0"),
    ({"train": 500}, "only .* exist; lower per_class"),
])
def test_bad_sizes_are_clear_errors(per_class, message):
    with pytest.raises(ValueError, match=message):
        digits_subset([0, 1], per_class, seed=0)


def test_bad_image_size():
    with pytest.raises(ValueError, match="image_size"):
        digits_subset([0, 1], PER, seed=0, image_size=4)


@pytest.mark.parametrize("kind", SHIFTS)
def test_shifts_keep_shape_range_and_are_deterministic(kind, fashion):
    x = fashion["test"][0]
    a, b = shift_domain(x, kind, seed=1), shift_domain(x, kind, seed=1)
    assert a.shape == x.shape and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x), f"{kind} left the images unchanged"


def test_shift_details(fashion):
    x = fashion["test"][0]
    np.testing.assert_allclose(shift_domain(x, "invert"), 1.0 - x)
    moved = shift_domain(x, "translate", severity=1.0)
    np.testing.assert_array_equal(moved[:, 3:, 3:], x[:, :-3, :-3])
    assert not moved[:, :3, :].any()
    perm = shift_domain(x, "permute", seed=2)
    np.testing.assert_allclose(np.sort(perm.reshape(len(x), -1), 1), np.sort(x.reshape(len(x), -1), 1))
    blurred = shift_domain(x, "blur")
    assert blurred.std() < x.std()  # smoother
    with pytest.raises(ValueError, match="unknown shift 'rotate'"):
        shift_domain(x, "rotate")
    with pytest.raises(ValueError, match=r"\[N, H, W\]"):
        shift_domain(x[0], "noise")
    with pytest.raises(ValueError, match="severity"):
        shift_domain(x, "noise", severity=0)
