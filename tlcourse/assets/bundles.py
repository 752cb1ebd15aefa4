"""Workshop bundles: one tar of cached assets, made online and imported offline.

A bundle holds ``<asset>/<file>`` members and an index (:data:`INDEX`) with the sha256 of every
file, so a file without a published checksum is checked against the checksum pinned when it was
first downloaded. Import checks every member header against the manifest before anything is
extracted, verifies every file of every asset, and only then imports: all or nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .archive import copy_limited
from .cache import (
    asset_dir,
    cache_dir,
    check_cached,
    ensure_cache,
    environment_error,
    lock,
    pins,
    sweep_stale,
    temp_name,
    verify_file,
)
from .content import check_format
from .errors import AssetError, BundleError, SettingError
from .fetcher import fetch
from .manifest import ASSET_ID, get_spec, load_manifest, max_size

INDEX = "tlcourse-bundle.json"
_WORK = "_bundle"  # the name of import's lock and temporary folders in the cache
REMAKE = ("Copy the bundle again (the copy may be incomplete), or make it again on the connected "
          "machine: python -m tlcourse bundle FILE")


def files_digest(spec: dict[str, Any]) -> str:
    """A digest of an asset's file list in the manifest (names, checksums, sizes): a bundle
    records it, so a bundle made with another version of the manifest is told apart from a
    damaged copy."""
    return hashlib.sha256(json.dumps(spec["files"], sort_keys=True).encode()).hexdigest()


def _other_manifest(path: Path, asset_id: str, index: Any, manifest: dict[str, Any]) -> BundleError | None:
    """The error for an asset bundled with another manifest version (``None``: same, or unknown)."""
    digests = index.get("files_digest") if isinstance(index, dict) else None
    theirs = digests.get(asset_id) if isinstance(digests, dict) else None
    if not theirs or theirs == files_digest(get_spec(manifest, asset_id)):
        return None
    return BundleError(
        f"{path}: asset {asset_id} was bundled by another version of the course, whose manifest "
        "lists other files or checksums for it than this one; copying the bundle again will not "
        "help. Bring both machines to the same course version (git pull), make the bundle again "
        "there (python -m tlcourse bundle FILE) and import that. Nothing was imported."
    )


def bundle(
    out: Path,
    ids: Iterable[str] | None = None,
    cache: Path | None = None,
    manifest: dict[str, Any] | None = None,
) -> list[str]:
    """Write one tar of the (present) assets' files and their checksums, for a room without Wi-Fi.

    Every file is re-hashed first, so a copy that changed in the cache is never passed on.
    """
    manifest = manifest or load_manifest()
    cache = Path(cache) if cache is not None else cache_dir()
    chosen = list(ids) if ids else [
        a for a in manifest["assets"] if check_cached(a, manifest["assets"][a], cache) is None
    ]
    if not chosen:
        raise AssetError("No assets are in the cache yet: run `python -m tlcourse fetch --all` first.")
    index: dict[str, dict[str, str]] = {}
    for asset_id in chosen:
        problem = check_cached(asset_id, get_spec(manifest, asset_id), cache, deep=True)
        if problem:
            raise AssetError(
                f"Asset {asset_id!r} is not usable in the cache ({problem}); fetch it before "
                f"bundling: python -m tlcourse fetch {asset_id}"
            )
        index[asset_id] = pins(asset_id, cache)
    out = Path(out).absolute()
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        os.close(fd)
        with tarfile.open(tmp, "w") as tf:
            digests = {a: files_digest(get_spec(manifest, a)) for a in chosen}
            raw = json.dumps({"format": "tlcourse-bundle", "version": 1, "assets": index,
                              "files_digest": digests}, indent=1).encode()
            info = tarfile.TarInfo(INDEX)
            info.size = len(raw)
            tf.addfile(info, io.BytesIO(raw))
            for asset_id in chosen:
                for entry in get_spec(manifest, asset_id)["files"]:
                    tf.add(asset_dir(asset_id, cache) / entry["name"], f"{asset_id}/{entry['name']}")
        os.replace(tmp, out)
        tmp = None
    except OSError as exc:
        raise SettingError(
            f"Cannot write the bundle {out} ({exc.strerror or exc}): choose a folder you can write "
            "to, on a disk with space."
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return chosen


def _read_headers(tf: tarfile.TarFile, path: Path, manifest: dict[str, Any]
                  ) -> tuple[dict[str, dict[str, tarfile.TarInfo]], dict[str, Any]]:
    """Check every member header against the manifest (nothing extracted); return members, index."""
    members: dict[str, dict[str, tarfile.TarInfo]] = {}
    index: dict[str, Any] = {}
    unknown: set[str] = set()
    for m in tf:
        if m.name == INDEX:
            if not m.isreg() or m.size > 1 << 20:
                raise BundleError(f"{path}: its index {INDEX} is not a small regular file. {REMAKE}")
            try:
                index = json.loads(tf.extractfile(m).read().decode("utf-8"))  # type: ignore[union-attr]
            except ValueError as exc:
                raise BundleError(f"{path}: its index {INDEX} is unreadable ({exc}). {REMAKE}") from None
            continue
        parts = m.name.split("/")
        if m.isdir() and len(parts) == 1 and ASSET_ID.match(parts[0]):
            continue
        if len(parts) != 2 or not ASSET_ID.match(parts[0]) or not parts[1]:
            raise BundleError(
                f"{path}: unexpected entry {m.name!r} (a bundle holds only <asset>/<file> entries). "
                f"It was not made by `python -m tlcourse bundle`: {REMAKE}"
            )
        asset_id, name = parts
        if asset_id not in manifest["assets"]:
            unknown.add(asset_id)
            continue
        entries = {e["name"]: e for e in manifest["assets"][asset_id]["files"]}
        other = _other_manifest(path, asset_id, index, manifest)
        if other is not None and (name not in entries or entries[name].get("size") not in (None, m.size)):
            raise other
        if name not in entries:
            raise BundleError(f"{path}: {m.name!r} is not a file of asset {asset_id} in the manifest. {REMAKE}")
        if not m.isreg():
            raise BundleError(f"{path}: {m.name!r} is a link or special file, not a regular file. {REMAKE}")
        entry = entries[name]
        if (entry.get("size") is not None and m.size != entry["size"]) or m.size > max_size(entry):
            raise BundleError(
                f"{path}: {m.name!r} has {m.size} bytes, the manifest expects "
                f"{entry.get('size', f'at most {max_size(entry)}')}. {REMAKE}"
            )
        if name in members.setdefault(asset_id, {}):
            raise BundleError(f"{path}: {m.name!r} appears twice. {REMAKE}")
        members[asset_id][name] = m
    if unknown:
        raise BundleError(
            f"{path} holds assets this version of the course does not know ({', '.join(sorted(unknown))}): "
            "update the course here (git pull) or make the bundle with the same version. Nothing was imported."
        )
    if not members:
        raise BundleError(f"{path} holds no assets, nothing was imported. {REMAKE}")
    for asset_id, got in members.items():
        missing = [e["name"] for e in manifest["assets"][asset_id]["files"] if e["name"] not in got]
        if missing and (other := _other_manifest(path, asset_id, index, manifest)) is not None:
            raise other
        if missing:
            raise BundleError(f"{path}: asset {asset_id} lacks {', '.join(missing)}. Nothing was imported. {REMAKE}")
    return members, index


def import_bundle(
    path: Path, cache: Path | None = None, manifest: dict[str, Any] | None = None
) -> list[str]:
    """Verify every asset of a bundle against the manifest (and the pins it carries), then import.

    Nothing is imported unless every file of every asset in the bundle verifies. Returns the ids.
    """
    manifest = manifest or load_manifest()
    cache = Path(cache) if cache is not None else cache_dir()
    path = Path(path)
    if not path.is_file():
        raise BundleError(
            f"The bundle {path} does not exist or is not a file: check the path. Make one on a "
            "connected machine with: python -m tlcourse bundle FILE"
        )
    ensure_cache(cache)
    with lock(cache, _WORK):
        sweep_stale(cache, _WORK)
        work = Path(tempfile.mkdtemp(dir=cache, prefix=temp_name(_WORK)))
        try:
            return _import(path, cache, manifest, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _import(path: Path, cache: Path, manifest: dict[str, Any], work: Path) -> list[str]:
    try:
        tf = tarfile.open(path, "r:*")
    except (tarfile.ReadError, EOFError) as exc:
        what = "is empty" if path.stat().st_size == 0 else "is not a tar archive (or a damaged one)"
        raise BundleError(f"{path} {what}, not a tlcourse bundle ({type(exc).__name__}). {REMAKE}") from None
    try:
        with tf:
            members, index = _read_headers(tf, path, manifest)
            for asset_id, files in members.items():
                (work / asset_id).mkdir()
                for name, m in files.items():
                    src = tf.extractfile(m)
                    assert src is not None  # a regular file (checked above)
                    got = copy_limited(src, work / asset_id / name, m.size, f"{path}: {m.name}")
                    if got != m.size:
                        raise BundleError(f"{path}: {m.name} is cut short. {REMAKE}")
    except AssetError:
        raise
    except OSError as exc:
        raise environment_error(exc, cache, "the bundle's files") or BundleError(
            f"{path} is not a complete tlcourse bundle ({exc}). {REMAKE}"
        ) from None
    except (tarfile.TarError, EOFError, ValueError) as exc:
        why = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise BundleError(f"{path} is not a complete tlcourse bundle ({why}). {REMAKE}") from None
    carried = index.get("assets", {}) if isinstance(index, dict) else {}
    sources = {}
    for asset_id in members:  # verify everything before importing anything
        spec = get_spec(manifest, asset_id)
        here = pins(asset_id, cache) if check_cached(asset_id, spec, cache) is None else {}
        bundle_pins = carried.get(asset_id, {}) if isinstance(carried.get(asset_id), dict) else {}
        for entry in spec["files"]:
            name = entry["name"]
            check = dict(entry)
            if not entry.get("sha256"):
                pin = here.get(name) or bundle_pins.get(name)
                if not pin:
                    raise BundleError(
                        f"{path}: {asset_id}/{name} has no published checksum and the bundle carries "
                        "no pin for it (made by an older tlcourse?), so it cannot be verified. "
                        "Make the bundle again with this version. Nothing was imported."
                    )
                by = "the copy already pinned in this cache" if here.get(name) else "the bundle's pin"
                check.update(sha256=pin, pinned_by=by)
            try:
                verify_file(work / asset_id / name, check, f"bundle {path.name}")
                if not entry.get("sha256"):
                    check_format(work / asset_id / name, name, f"bundle {path.name}")
            except AssetError as exc:
                other = _other_manifest(path, asset_id, index, manifest)
                raise (other or BundleError(f"{exc} Nothing was imported. {REMAKE}")) from None
        sources[asset_id] = {"kind": "dir", "path": str(work / asset_id), "sha256": bundle_pins}
    for asset_id, src in sources.items():
        fetch(asset_id, manifest=manifest, cache=cache, progress=False, sources=[src])
    return list(sources)
