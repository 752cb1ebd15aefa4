"""``fetch``: try an asset's sources in order, verify, commit atomically, install.

One process at a time works on an asset (a lock in the cache); the others wait and then find it
present. Files are staged in a temporary folder inside the cache, verified (size, sha256, or for
a file without a published checksum: its format, then pinned), extracted safely, and the folder
is renamed into place. Temporary folders of runs that were killed are swept on the next fetch.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import download as _dl
from .archive import safe_extract
from .cache import (
    MARKER,
    asset_dir,
    cache_dir,
    check_cached,
    check_slot,
    commit,
    ensure_cache,
    environment_error,
    lock,
    pins,
    read_marker,
    stamp,
    sweep_stale,
    temp_name,
    verify_file,
)
from .content import check_format
from .errors import AssetError, SettingError
from .hub import install
from .manifest import DEFAULT_MAX_EXTRACTED, get_spec, load_manifest
from .sources import acquire, describe_source

SOURCE_ERRORS = (OSError, EOFError, ValueError, http.client.HTTPException, AssetError,
                 subprocess.SubprocessError, tarfile.TarError, zipfile.BadZipFile)


def _failure_message(asset_id: str, spec: dict[str, Any], tried: list[tuple[str, str]],
                     local_only: bool) -> str:
    lines = [f"Could not fetch asset {asset_id!r} ({spec['title']}). Sources tried, in order:"]
    lines += [f"  {i}. {where}: {why}" for i, (where, why) in enumerate(tried, 1)]
    lines.append("What to do:")
    names = ", ".join(f["name"] for f in spec["files"])
    if spec.get("generated_by"):
        lines.append(f"  - The course makes this asset itself: {spec['generated_by']}")
    if local_only:
        lines.append(
            f"  - Put the asset's files ({names}) unchanged in one folder (copy them from "
            f"{asset_dir(asset_id)} on a machine where `python -m tlcourse status` shows "
            f"{asset_id} present), then run: python -m tlcourse fetch {asset_id} --from-dir FOLDER"
        )
        return "\n".join(lines)
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
        f"  - Or place the files ({names}) in a folder and run:"
        f" python -m tlcourse fetch {asset_id} --from-dir FOLDER",
    ]
    return "\n".join(lines)


def _stage(asset_id: str, spec: dict[str, Any], src: dict[str, Any], work: Path, progress: bool,
           until: float, local: dict[str, str]) -> Path:
    """Acquire, verify and extract one source's files into ``work/asset`` with its marker."""
    where = describe_source(src)
    got = acquire(src, spec["files"], work, progress, until)
    staged = work / "asset"
    staged.mkdir()
    record, stamps = {}, {}
    for entry in spec["files"]:
        name = entry["name"]
        check = dict(entry)
        if not entry.get("sha256"):
            if local.get(name):
                check.update(sha256=local[name], pinned_by="the copy already pinned in this cache")
            elif src.get("sha256", {}).get(name):
                check.update(sha256=src["sha256"][name], pinned_by="the bundle's pin")
        record[name] = verify_file(got[name], check, where)
        if not entry.get("sha256") and not entry.get("sha256_prefix"):
            check_format(got[name], name, where)
        if got[name].parent == work:  # downloaded into the work folder: move, do not copy
            os.replace(got[name], staged / name)
        else:
            shutil.copyfile(got[name], staged / name)
        stamps[name] = stamp(staged / name)
    extracted: dict[str, int] = {}
    own = {e["name"] for e in spec["files"]} | {MARKER}
    for entry in spec["files"]:
        if entry.get("extract"):
            limit = int(entry.get("max_extracted_size", DEFAULT_MAX_EXTRACTED))
            for rel in safe_extract(staged / entry["name"], staged, limit):
                if rel.split("/")[0] in own:
                    raise AssetError(f"{entry['name']} from {where}: entry {rel!r} would overwrite "
                                     "the asset's own files; the archive is not the right one.")
                if (staged / rel).is_file():
                    extracted[rel] = (staged / rel).stat().st_size
    marker = {"id": asset_id, "source": where, "sha256": record, "files": stamps,
              "extracted": extracted}
    (staged / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
    return staged


def _current_stamps(folder: Path, spec: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {e["name"]: stamp(folder / e["name"]) for e in spec["files"]}


def _refresh_stamps(folder: Path, spec: dict[str, Any]) -> None:
    """Record the files' current sizes and times in the marker (they were just verified by hash),
    so later checks are cheap again: a marker from before stamps existed, or a copy of the cache
    that did not keep file times."""
    marker = read_marker(folder)
    if marker is None or marker.get("files") == _current_stamps(folder, spec):
        return
    marker["files"] = _current_stamps(folder, spec)
    tmp = folder / f"{MARKER}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(marker, indent=1), encoding="utf-8")
    os.replace(tmp, folder / MARKER)


def fetch(
    asset_id: str,
    *,
    manifest: dict[str, Any] | None = None,
    cache: Path | None = None,
    progress: bool = True,
    sources: Iterable[dict[str, Any]] | None = None,
) -> Path:
    """Make sure an asset is in the cache (verified) and installed; return its folder.

    The manifest's sources are tried in order (or only ``sources`` when given: their files are
    verified even when the asset is already present). A file without a published checksum
    (``sha256: null``) is format-checked and pinned on first fetch: its sha256 is recorded in the
    cache marker, and a bundle carries it. Raises :class:`AssetError` (a one-line
    :class:`SettingError` when the cache, the disk or a ``TLCOURSE_*`` setting is the problem).
    """
    manifest = manifest or load_manifest()
    spec = get_spec(manifest, asset_id)
    cache = Path(cache) if cache is not None else cache_dir()
    folder = asset_dir(asset_id, cache)
    seconds = _dl.deadline()
    _dl.timeout()  # a bad setting fails here, once, not as a failure of every source
    if sources is None and check_cached(asset_id, spec, cache) is None:
        if (read_marker(folder) or {}).get("files") == _current_stamps(folder, spec):
            install(asset_id, spec, folder, pins(asset_id, cache))
            return folder  # else: present, but its stamps are refreshed below (once)
    ensure_cache(cache)
    with lock(cache, asset_id):
        sweep_stale(cache, asset_id)
        problem = check_cached(asset_id, spec, cache)
        if problem is None:
            _refresh_stamps(folder, spec)
        if sources is None and problem is None:  # another process finished while we waited
            install(asset_id, spec, folder, pins(asset_id, cache))
            return folder
        if problem is not None:
            check_slot(folder)  # before any download: a link or file there cannot be replaced
        local = pins(asset_id, cache) if problem is None else {}
        chosen = list(spec["sources"] if sources is None else sources)
        tried: list[tuple[str, str]] = []
        for src in chosen:
            work = Path(tempfile.mkdtemp(dir=cache, prefix=temp_name(asset_id)))
            try:
                staged = _stage(asset_id, spec, src, work, progress, time.monotonic() + seconds,
                                local)
                if problem is not None:  # present already: the source's files matched it
                    commit(staged, folder)
                break
            except SettingError:
                raise
            except OSError as exc:
                in_cache = str(exc.filename or "").startswith(str(cache))
                env = environment_error(exc, cache, f"the asset {asset_id}")
                if env is not None and (in_cache or not isinstance(exc, PermissionError)):
                    raise env from None
                tried.append((describe_source(src), str(exc) or type(exc).__name__))
            except SOURCE_ERRORS as exc:
                tried.append((describe_source(src), str(exc) or type(exc).__name__))
            finally:
                shutil.rmtree(work, ignore_errors=True)
        else:
            local_only = bool(chosen) and all(s["kind"] == "dir" for s in chosen)
            raise AssetError(_failure_message(asset_id, spec, tried, local_only))
    install(asset_id, spec, folder, pins(asset_id, cache))
    return folder
