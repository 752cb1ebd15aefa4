"""The asset manifest (``manifest.json``): data, not code.

Format (version 1; every key below ``files`` other than ``name`` is optional, so older entries
stay valid)::

    {"version": 1, "assets": {"<id>": {
        "title": ..., "type": "data" | "weights", "license": ..., "profiles": [...],
        "install": "torch_hub" | "hf_dir" | "extract" | "files", "offline_alternative": "<id>",
        "files": [{"name": ..., "sha256": <hex> | null, "sha256_prefix": <hex>, "size": <bytes>,
                   "min_size": <bytes>, "max_size": <bytes>, "extract": true,
                   "max_extracted_size": <bytes>}],
        "sources": [{"kind": "pypi" | "debian" | "package" | "url" | "dir", ...}]}}}

``size`` is exact; a file without it (an unpinned file, ``sha256: null``) may be at most
``max_size`` bytes (default :data:`DEFAULT_MAX_SIZE`) and at least ``min_size``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from .errors import AssetError

MANIFEST_PATH = Path(__file__).with_name("manifest.json")
DEFAULT_MAX_SIZE = 4 << 30  # 4 GiB: the cap of a download or decompression with no declared size
DEFAULT_MAX_EXTRACTED = 8 << 30  # the cap of everything one archive may extract to
ASSET_ID = re.compile(r"^[a-z0-9_]+$")


def load_manifest(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read the manifest (the packaged one unless ``path`` is given)."""
    with open(path or MANIFEST_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def get_spec(manifest: dict[str, Any], asset_id: str) -> dict[str, Any]:
    """The manifest entry of one asset, or an :class:`AssetError` naming the known ones."""
    try:
        return manifest["assets"][asset_id]
    except (KeyError, TypeError):
        known = ", ".join(sorted(manifest["assets"]))
        raise AssetError(f"Unknown asset {asset_id!r}. Known assets: {known}.") from None


def max_size(entry: dict[str, Any]) -> int:
    """The most bytes a file of the manifest may have: its exact size, else its cap."""
    if entry.get("size") is not None:
        return int(entry["size"])
    return int(entry.get("max_size", DEFAULT_MAX_SIZE))
