"""The temporary test cache starts as a copy of what the learner's cache holds (tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tlcourse import assets


def seed(cache: Path, real: Path) -> list[str]:
    """Copy every asset complete in ``real`` (``is_present``) into ``cache``; return their ids."""
    manifest = assets.load_manifest()
    cache.mkdir(parents=True, exist_ok=True)
    seeded = []
    for asset_id in manifest["assets"]:
        if assets.is_present(asset_id, manifest, real):
            shutil.copytree(real / asset_id, cache / asset_id)
            seeded.append(asset_id)
    return seeded
