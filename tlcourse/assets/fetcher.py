"""``fetch``: try an asset's sources in order, verify, commit atomically, install."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .archive import safe_extract
from .cache import MARKER, asset_dir, cache_dir, is_present, verify_file
from .errors import AssetError
from .hub import install
from .manifest import get_spec, load_manifest
from .sources import acquire, describe_source


def _failure_message(asset_id: str, spec: dict[str, Any], tried: list[tuple[str, str]]) -> str:
    lines = [f"Could not fetch asset {asset_id!r} ({spec['title']}). Sources tried, in order:"]
    lines += [f"  {i}. {where}: {why}" for i, (where, why) in enumerate(tried, 1)]
    lines.append("What to do:")
    if spec.get("offline_alternative"):
        lines.append(
            f"  - This asset is online only. Offline, switch the lesson's parameter at the top of "
            f"the notebook to its offline choice (asset {spec['offline_alternative']!r})."
        )
    lines += [
        "  - Check the network or your pip/apt configuration (proxy, index URL), then retry:"
        f" python -m tlcourse fetch {asset_id}",
        "  - In a room without Wi-Fi, import a bundle made on a connected machine:"
        " python -m tlcourse import-bundle FILE",
        f"  - Or place the files ({', '.join(f['name'] for f in spec['files'])}) in a folder and run:"
        f" python -m tlcourse fetch {asset_id} --from-dir FOLDER",
    ]
    return "\n".join(lines)


def fetch(
    asset_id: str,
    *,
    manifest: dict[str, Any] | None = None,
    cache: Path | None = None,
    progress: bool = True,
    sources: Iterable[dict[str, Any]] | None = None,
) -> Path:
    """Make sure an asset is in the cache (verified) and installed; return its folder.

    The manifest's sources are tried in order (or only ``sources`` when given). A file without a published checksum
    (``sha256: null``) is pinned on first fetch: its sha256 is recorded in the cache marker.
    """
    manifest = manifest or load_manifest()
    spec = get_spec(manifest, asset_id)
    cache = cache or cache_dir()
    folder = asset_dir(asset_id, cache)
    if is_present(asset_id, manifest, cache):
        install(asset_id, spec, folder)
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    names = [f["name"] for f in spec["files"]]
    tried: list[tuple[str, str]] = []
    for src in spec["sources"] if sources is None else sources:
        where = describe_source(src)
        with tempfile.TemporaryDirectory(dir=cache, prefix=f".tmp-{asset_id}-") as tmp:
            work = Path(tmp)
            staged = work / "asset"
            staged.mkdir()
            try:
                got = acquire(src, names, work, progress)
                record = {}
                for entry in spec["files"]:
                    record[entry["name"]] = verify_file(got[entry["name"]], entry, where)
                    shutil.copyfile(got[entry["name"]], staged / entry["name"])
                for entry in spec["files"]:
                    if entry.get("extract"):
                        safe_extract(staged / entry["name"], staged)
                marker = {"id": asset_id, "source": where, "sha256": record}
                (staged / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
            except (OSError, EOFError, http.client.HTTPException, AssetError,
                    subprocess.SubprocessError, tarfile.TarError, zipfile.BadZipFile) as exc:  # fmt: skip
                tried.append((where, str(exc) or type(exc).__name__))
                continue
            if is_present(asset_id, manifest, cache):  # another process finished first
                break
            if folder.exists():  # a stale, incomplete folder from an interrupted run
                shutil.rmtree(folder)
            os.replace(staged, folder)
            break
    else:
        raise AssetError(_failure_message(asset_id, spec, tried))
    install(asset_id, spec, folder)
    return folder
