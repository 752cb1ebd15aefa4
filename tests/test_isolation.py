"""Unit tests write into a temporary cache (tests/conftest.py), never the learner's ~/.cache."""

from __future__ import annotations

import os
from pathlib import Path

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


def test_seeded_assets_are_copies(real_cache):
    """Whatever the real cache holds is in the temp cache too, as separate files."""
    manifest = tl.assets.load_manifest()
    for asset_id in manifest["assets"]:
        if tl.assets.is_present(asset_id, manifest, real_cache):
            assert tl.assets.is_present(asset_id, manifest), f"{asset_id} was not seeded"
            for entry in manifest["assets"][asset_id]["files"]:
                real = real_cache / asset_id / entry["name"]
                copy = tl.assets.cache_dir() / asset_id / entry["name"]
                assert not copy.samefile(real), f"{copy} is the real cache's file, not a copy"
