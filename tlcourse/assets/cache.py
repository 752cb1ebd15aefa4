"""The asset cache: its location, verification, per-asset locks, atomic commits, stale-temp sweep.

An asset lives in ``<cache>/<id>/`` with a marker file (:data:`MARKER`) that records, for every
file, the sha256 it was verified with and the size and modification time it had then. A later
:func:`is_present` re-checks sizes and times (cheap) and re-hashes any file whose time changed,
so a truncated or edited file in the cache is never reported present. ``deep=True`` re-hashes all.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..locks import LockTimeout, hold
from .download import seconds_setting
from .errors import AssetError, ChecksumError, SettingError
from .manifest import get_spec, load_manifest

MARKER = ".tlcourse-asset.json"
CHUNK = 1 << 20
TMP_PREFIX = ".tmp-"
LOCKS = ".locks"
_FULL_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def cache_dir() -> Path:
    """Where assets live: ``$TLCOURSE_CACHE``, else ``$XDG_CACHE_HOME/tlcourse`` or ``~/.cache/tlcourse``.

    A relative ``$TLCOURSE_CACHE`` is resolved against the working directory the first time it is
    read and written back as an absolute path, so this process, a later ``os.chdir`` and the
    processes it starts (notebook kernels, pip) all use one cache.
    """
    env = os.environ.get("TLCOURSE_CACHE")
    if env:
        path = Path(env).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
            os.environ["TLCOURSE_CACHE"] = str(path)
        return path
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser().absolute() / "tlcourse"


cache_dir()  # pin a relative TLCOURSE_CACHE at import, before any chdir


def asset_dir(asset_id: str, cache: Path | None = None) -> Path:
    """The cache folder of one asset (it may not exist yet)."""
    return (cache or cache_dir()) / asset_id


def environment_error(exc: OSError, where: Path, what: str) -> AssetError | None:
    """A one-line :class:`SettingError` for a full, read-only or forbidden disk, else ``None``."""
    if exc.errno in _FULL_DISK or isinstance(exc, PermissionError):
        reason = exc.strerror or str(exc)
        return SettingError(
            f"Cannot write {what} in {where} ({reason}): free disk space or fix the folder's "
            f"permissions, or point {'TORCH_HOME' if 'torch' in what else 'TLCOURSE_CACHE'} at a "
            "folder you own on a disk with space."
        )
    return None


def ensure_cache(cache: Path) -> None:
    """Create the cache folder, or raise a one-line :class:`SettingError` saying why it cannot be."""
    if cache.exists() and not cache.is_dir():
        raise SettingError(
            f"The asset cache {cache} is a file, not a folder: move the file away or set "
            "TLCOURSE_CACHE to a folder."
        )
    try:
        cache.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=cache, prefix=f"{TMP_PREFIX}probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise SettingError(
            f"The asset cache {cache} is not usable ({exc.strerror or exc}): fix its permissions "
            "or set TLCOURSE_CACHE to a folder you own."
        ) from None


# --------------------------------------------------------------------------- verification


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
    if entry.get("min_size") is not None and size < entry["min_size"]:
        raise ChecksumError(
            f"{entry['name']} from {origin}: only {size} bytes, the manifest expects at least "
            f"{entry['min_size']} (a truncated file or an error page)."
        )
    actual = sha256_file(path)
    expected = entry.get("sha256")
    prefix = entry.get("sha256_prefix")
    if expected and actual != expected:
        pinned_by = entry.get("pinned_by", "the manifest")
        raise ChecksumError(
            f"{entry['name']} from {origin}: sha256 {actual} does not match {expected}, the "
            f"checksum of {pinned_by} (a corrupt or tampered file, or a changed upstream file)."
        )
    if prefix and not actual.startswith(prefix):
        raise ChecksumError(
            f"{entry['name']} from {origin}: sha256 {actual[:16]}... does not start with the "
            f"published prefix {prefix}."
        )
    return actual


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The parsed marker of an asset folder, or ``None`` when it is missing or unreadable."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and isinstance(marker.get("sha256"), dict) else None


def stamp(path: Path) -> dict[str, int]:
    """Size and modification time of a file, as recorded in the marker."""
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def check_cached(
    asset_id: str, spec: dict[str, Any], cache: Path | None = None, deep: bool = False
) -> str | None:
    """Why the cached asset is not usable (``None``: it is). ``deep`` re-hashes every file."""
    folder = asset_dir(asset_id, cache)
    if not folder.is_dir():
        return "not in the cache" if not os.path.lexists(folder) else f"{folder} is not a folder"
    marker = read_marker(folder)
    if marker is None:
        return "not fetched completely (no valid marker)"
    stamps = marker.get("files", {})
    for entry in spec["files"]:
        name = entry["name"]
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        pinned = entry.get("sha256") or marker["sha256"].get(name)
        if not pinned:
            return f"{name} has no checksum in the manifest or the marker"
        now = stamp(path)
        if entry.get("size") is not None and now["size"] != entry["size"]:
            return f"{name} has {now['size']} bytes, the manifest expects {entry['size']}"
        recorded = stamps.get(name)
        if recorded and recorded["size"] != now["size"]:
            return f"{name} has {now['size']} bytes, it had {recorded['size']} when verified"
        if deep or recorded != now:
            if sha256_file(path) != pinned:
                return f"{name} changed since it was verified (sha256 differs)"
    for rel, size in marker.get("extracted", {}).items():
        path = folder / rel
        if not path.is_file() or path.stat().st_size != size:
            return f"extracted file {rel} is missing or changed"
    return None


def is_present(
    asset_id: str, manifest: dict[str, Any] | None = None, cache: Path | None = None
) -> bool:
    """True when the asset was fully fetched and verified into the cache and is unchanged."""
    manifest = manifest or load_manifest()
    return check_cached(asset_id, get_spec(manifest, asset_id), cache) is None


def pins(asset_id: str, cache: Path | None = None) -> dict[str, str]:
    """The sha256 of every file of a cached asset, as recorded when it was verified."""
    marker = read_marker(asset_dir(asset_id, cache))
    return dict(marker["sha256"]) if marker else {}


def status(
    manifest: dict[str, Any] | None = None, cache: Path | None = None
) -> list[dict[str, Any]]:
    """One row per asset: id, type, present, problem (why not present), profiles, license."""
    manifest = manifest or load_manifest()
    rows = []
    for asset_id, spec in manifest["assets"].items():
        problem = check_cached(asset_id, spec, cache)
        rows.append(
            {
                "id": asset_id,
                "type": spec["type"],
                "present": problem is None,
                "problem": problem,
                "profiles": spec.get("profiles", []),
                "online_only": all(s["kind"] == "url" for s in spec["sources"]),
                "license": spec["license"],
            }
        )
    return rows


# --------------------------------------------------------------------------- locks, commits


@contextlib.contextmanager
def lock(folder: Path, name: str, timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock ``<folder>/.locks/<name>.lock`` (:func:`tlcourse.locks.hold`:
    released when the process dies, the file removed on release, and the ``.locks`` folder when empty).

    Another process that fetches or builds the same thing waits here, then finds it done.
    """
    locks = folder / LOCKS
    path = locks / f"{name}.lock"
    wait = seconds_setting("TLCOURSE_LOCK_TIMEOUT", 3600.0) if timeout is None else timeout
    held = False
    try:
        with hold(path, wait, waiting=f"waiting for another process working on {name} ..."):
            held = True
            yield
    except LockTimeout as exc:
        if held:
            raise
        raise AssetError(f"{exc}: wait for it to finish (another notebook fetching the same asset?) "
                         "and retry.") from None
    except OSError as exc:
        if held:  # an error of the work done under the lock
            raise
        raise environment_error(exc, folder, "a lock file") or SettingError(
            f"Cannot create a lock file in {locks} ({exc.strerror or exc}): set "
            "TLCOURSE_CACHE to a folder you own."
        ) from None
    finally:
        with contextlib.suppress(OSError):
            locks.rmdir()


def temp_name(name: str) -> str:
    """The prefix of the temporary folders that build ``name`` (``name`` holds no dot)."""
    return f"{TMP_PREFIX}{name}."


def sweep_stale(folder: Path, name: str) -> list[Path]:
    """Remove temporary folders of ``name`` left by killed runs. Call only while holding its lock."""
    removed = []
    legacy = re.compile(rf"^{re.escape(TMP_PREFIX + name)}-[a-z0-9_]{{8}}$")  # before the split
    for path in folder.glob(f"{TMP_PREFIX}{name}*"):
        if path.name.startswith(temp_name(name)) or legacy.match(path.name):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def check_slot(folder: Path) -> None:
    """Raise a one-line :class:`SettingError` when an asset's place holds a link or a file."""
    if folder.is_symlink():
        raise SettingError(
            f"{folder} is a symbolic link to {os.readlink(folder)}, which does not hold a verified "
            "copy of the asset: fix or remove the link, then retry."
        )
    if folder.exists() and not folder.is_dir():
        raise SettingError(
            f"{folder} is a file where the asset's folder belongs: delete it, then retry."
        )


def commit(staged: Path, folder: Path) -> None:
    """Move a complete staged folder into place, replacing a stale one. Call while holding the lock."""
    check_slot(folder)
    if folder.exists():  # stale or corrupt: move aside first, so the rename below is atomic
        aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=temp_name(folder.name)))
        os.replace(folder, aside / "old")
        shutil.rmtree(aside, ignore_errors=True)
    os.replace(staged, folder)
