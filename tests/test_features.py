"""tlcourse.features: the on-disk feature cache and torch feature extraction."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from tlcourse import features
from tlcourse.features import cached_features, extract_features_torch


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(features, "cache_dir", lambda: tmp_path)
    return tmp_path


def test_cached_features_computes_once(tmp_cache, capsys):
    calls = []

    def compute():
        calls.append(1)
        return np.arange(12, dtype=np.float32).reshape(3, 4)

    a = cached_features("torch-demo-train", compute)
    b = cached_features("torch-demo-train", compute)
    assert len(calls) == 1 and np.array_equal(a, b) and b.dtype == np.float32
    out = capsys.readouterr().out
    assert "computed (3, 4)" in out and "loaded (3, 4) from the cache" in out
    folder = tmp_cache / "derived" / "features"
    assert [p.name for p in folder.iterdir()] == [f"torch-demo-train-r{features.recipe_version()}.npy"]  # no temp files


def test_corrupt_cache_entry_is_recomputed(tmp_cache, capsys):
    cached_features("k", lambda: np.ones(5))
    (tmp_cache / "derived" / "features" / f"k-r{features.recipe_version()}.npy").write_bytes(b"garbage")
    again = cached_features("k", lambda: np.zeros(5))
    assert np.array_equal(again, np.zeros(5))
    assert "unreadable" in capsys.readouterr().out


def test_failed_compute_caches_nothing(tmp_cache):
    def boom():
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        cached_features("k", boom)
    assert not list((tmp_cache / "derived" / "features").glob("k*.npy"))


def test_a_changed_recipe_is_a_new_entry_never_the_old_arrays(tmp_cache, monkeypatch):
    """The lesson's transform, the package's extractor code and the frameworks' versions all make the key."""
    from torchvision.transforms import v2

    old = cached_features("k", lambda: np.ones(3), recipe=v2.Normalize([0.5], [0.5]))
    new = cached_features("k", lambda: np.zeros(3), recipe=v2.Normalize([0.4], [0.5]))
    assert np.array_equal(old, np.ones(3)) and np.array_equal(new, np.zeros(3))
    again = cached_features("k", lambda: np.full(3, 7.0), recipe=v2.Normalize([0.5], [0.5]))
    assert np.array_equal(again, np.ones(3))  # the same recipe: the cached array
    assert features.recipe_version(lambda: 1) == features.recipe_version(lambda: 1)  # no memory addresses
    real = features.metadata.version
    monkeypatch.setattr(features.metadata, "version", lambda d: "9.9" if d == "torch" else real(d))
    assert np.array_equal(cached_features("k", lambda: np.full(3, 5.0), recipe=v2.Normalize([0.5], [0.5])), np.full(3, 5.0))


@pytest.mark.parametrize("key", ["", "../escape", "a/b", "with space", "x" * 201])
def test_bad_keys_are_rejected(key):
    with pytest.raises(ValueError, match="cache key"):
        cached_features(key, lambda: np.ones(1))


def test_extract_features_torch_shapes_order_and_mode():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    model.train()
    x = torch.randn(10, 3, 5, 5)
    y = torch.arange(10) % 3
    feats, labels = extract_features_torch(model, DataLoader(TensorDataset(x, y), batch_size=4),
                                           torch.device("cpu"))
    assert feats.shape == (10, 4 * 3 * 3) and feats.dtype == np.float32
    assert labels.dtype == np.int64 and labels.tolist() == y.tolist()
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        expected = model(x).flatten(1).numpy()
    np.testing.assert_allclose(feats, expected, rtol=1e-5, atol=1e-6)  # eval-mode BatchNorm
    running = model[1].running_mean.clone()
    extract_features_torch(model, DataLoader(TensorDataset(x, y), batch_size=4), "cpu")
    assert torch.equal(model[1].running_mean, running)  # no statistics update


def test_extract_features_torch_empty_loader():
    empty = DataLoader(TensorDataset(torch.zeros(0, 2), torch.zeros(0)), batch_size=2)
    with pytest.raises(ValueError, match="no batches"):
        extract_features_torch(torch.nn.Identity(), empty, "cpu")
