"""Workshop bundles: one tar of cached assets, made online and imported offline."""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .archive import safe_extract
from .cache import asset_dir, cache_dir, is_present
from .errors import AssetError
from .fetcher import fetch
from .manifest import get_spec, load_manifest


def bundle(
    out: Path,
    ids: Iterable[str] | None = None,
    cache: Path | None = None,
    manifest: dict[str, Any] | None = None,
) -> list[str]:
    """Write one tar of the (present) assets' files, for a workshop room without Wi-Fi."""
    manifest = manifest or load_manifest()
    cache = cache or cache_dir()
    chosen = list(ids) if ids is not None else [
        a for a in manifest["assets"] if is_present(a, manifest, cache)
    ]
    if not chosen:
        raise AssetError("No assets are in the cache yet: run `python -m tlcourse fetch --all` first.")
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    with tarfile.open(tmp, "w") as tf:
        for asset_id in chosen:
            if not is_present(asset_id, manifest, cache):
                raise AssetError(f"Asset {asset_id!r} is not in the cache; fetch it before bundling.")
            for entry in get_spec(manifest, asset_id)["files"]:
                tf.add(asset_dir(asset_id, cache) / entry["name"], f"{asset_id}/{entry['name']}")
    os.replace(tmp, out)
    return chosen


def import_bundle(
    path: Path, cache: Path | None = None, manifest: dict[str, Any] | None = None
) -> list[str]:
    """Install every asset of a bundle, verifying each file against the manifest."""
    manifest = manifest or load_manifest()
    imported = []
    with tempfile.TemporaryDirectory() as tmp:
        safe_extract(Path(path), Path(tmp))
        for sub in sorted(p for p in Path(tmp).iterdir() if p.is_dir()):
            get_spec(manifest, sub.name)
            fetch(sub.name, manifest=manifest, cache=cache, progress=False,
                  sources=[{"kind": "dir", "path": str(sub)}])  # fmt: skip
            imported.append(sub.name)
    return imported
