"""The asset cache: where it is, what is present, verification of files against the manifest."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from .errors import ChecksumError
from .manifest import get_spec, load_manifest

MARKER = ".tlcourse-asset.json"
CHUNK = 1 << 20


def cache_dir() -> Path:
    """Where assets live: ``$TLCOURSE_CACHE``, else ``$XDG_CACHE_HOME/tlcourse`` or ``~/.cache/tlcourse``."""
    env = os.environ.get("TLCOURSE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tlcourse"


def asset_dir(asset_id: str, cache: Path | None = None) -> Path:
    """The cache folder of one asset (it may not exist yet)."""
    return (cache or cache_dir()) / asset_id


def is_present(
    asset_id: str, manifest: dict[str, Any] | None = None, cache: Path | None = None
) -> bool:
    """True when the asset was fully fetched and verified into the cache."""
    manifest = manifest or load_manifest()
    spec = get_spec(manifest, asset_id)
    folder = asset_dir(asset_id, cache)
    if not (folder / MARKER).is_file():
        return False
    return all((folder / f["name"]).is_file() for f in spec["files"])


def status(
    manifest: dict[str, Any] | None = None, cache: Path | None = None
) -> list[dict[str, Any]]:
    """One row per asset: id, type, whether it is present, the profiles that need it, license."""
    manifest = manifest or load_manifest()
    rows = []
    for asset_id, spec in manifest["assets"].items():
        rows.append(
            {
                "id": asset_id,
                "type": spec["type"],
                "present": is_present(asset_id, manifest, cache),
                "profiles": spec.get("profiles", []),
                "online_only": all(s["kind"] == "url" for s in spec["sources"]),
                "license": spec["license"],
            }
        )
    return rows


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, entry: dict[str, Any], origin: str) -> str:
    """Check size and sha256 (or the sha256 prefix upstream publishes); return the sha256."""
    size = path.stat().st_size
    if entry.get("size") is not None and size != entry["size"]:
        raise ChecksumError(
            f"{entry['name']} from {origin}: {size} bytes, the manifest expects {entry['size']} "
            "(a truncated or different file)."
        )
    actual = sha256_file(path)
    expected = entry.get("sha256")
    prefix = entry.get("sha256_prefix")
    if expected and actual != expected:
        raise ChecksumError(
            f"{entry['name']} from {origin}: sha256 {actual} does not match the manifest's "
            f"{expected} (corrupt download or a changed upstream file)."
        )
    if prefix and not actual.startswith(prefix):
        raise ChecksumError(
            f"{entry['name']} from {origin}: sha256 {actual[:16]}... does not start with the "
            f"published prefix {prefix}."
        )
    return actual
