"""Unit tests write into a temporary cache (tests/conftest.py), never the learner's ~/.cache."""

from __future__ import annotations

import os
from pathlib import Path

from seeding import seed

import tlcourse as tl


def test_caches_point_into_the_session_temp_folder(temp_cache_root, real_cache):
    root = temp_cache_root
    assert tl.assets.cache_dir() == root / "cache" != real_cache
    assert tl.assets.torch_hub_checkpoints() == root / "torch" / "hub" / "checkpoints"
    assert Path(os.environ["HF_HOME"]) == root / "huggingface"


def test_fetch_lands_in_the_temp_cache(temp_cache_root):
    folder = tl.fetch("photo_chelsea", progress=False)  # seeded copy, or the installed scikit-image
    assert folder.is_relative_to(temp_cache_root)
    assert tl.assets.is_present("photo_chelsea")


def assert_seeded_as_copies(real_cache: Path, cache: Path) -> int:
    """Every asset complete in ``real_cache`` is complete in ``cache`` too, as separate files; return
    how many there were."""
    manifest = tl.assets.load_manifest()
    found = 0
    for asset_id in manifest["assets"]:
        if tl.assets.is_present(asset_id, manifest, real_cache):
            found += 1
            assert tl.assets.is_present(asset_id, manifest, cache), f"{asset_id} was not seeded"
            for entry in manifest["assets"][asset_id]["files"]:
                real = real_cache / asset_id / entry["name"]
                copy = cache / asset_id / entry["name"]
                assert not copy.samefile(real), f"{copy} is the real cache's file, not a copy"
    return found


def test_seeded_assets_are_copies(real_cache):
    """Whatever the real cache holds is in this session's temp cache too (nothing to check on a cold
    start, as in CI: the next test seeds a cache that is not empty)."""
    assert_seeded_as_copies(real_cache, tl.assets.cache_dir())


def test_seeding_copies_a_real_cache_that_holds_an_asset(tmp_path):
    """The seeding itself, from a real cache that certainly holds one asset (fetched offline here)."""
    real = tmp_path / "real"
    tl.fetch("photo_chelsea", cache=real, progress=False)
    seeded = seed(tmp_path / "temp", real)
    assert "photo_chelsea" in seeded
    assert assert_seeded_as_copies(real, tmp_path / "temp") == len(seeded) >= 1
