"""The asset manifest (``manifest.json``): data, not code."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import AssetError

MANIFEST_PATH = Path(__file__).with_name("manifest.json")


def load_manifest(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read the manifest (the packaged one unless ``path`` is given)."""
    with open(path or MANIFEST_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def get_spec(manifest: dict[str, Any], asset_id: str) -> dict[str, Any]:
    """The manifest entry of one asset, or an :class:`AssetError` naming the known ones."""
    try:
        return manifest["assets"][asset_id]
    except KeyError:
        known = ", ".join(sorted(manifest["assets"]))
        raise AssetError(f"Unknown asset {asset_id!r}. Known assets: {known}.") from None
