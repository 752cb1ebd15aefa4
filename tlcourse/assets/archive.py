"""Archives: safe extraction, one member of a wheel (zip) or sdist (tar), capped decompression.

Every copy here stops at a byte cap, so a lying header or a decompression bomb cannot fill the
disk: the caps come from the manifest (:func:`~tlcourse.assets.manifest.max_size`).
"""

from __future__ import annotations

import gzip
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from .cache import CHUNK
from .errors import AssetError, UnsafeArchiveError
from .manifest import DEFAULT_MAX_EXTRACTED

MAX_MEMBERS = 200_000


def copy_limited(src: IO[bytes], dest: Path, limit: int, what: str) -> int:
    """Copy a stream to ``dest``; raise :class:`AssetError` once more than ``limit`` bytes come."""
    got = 0
    with open(dest, "wb") as out:
        while block := src.read(CHUNK):
            got += len(block)
            if got > limit:
                raise AssetError(f"{what} is larger than the {limit} bytes the manifest allows.")
            out.write(block)
    return got


def gunzip(packed: Path, dest: Path, limit: int) -> None:
    """Decompress a ``.gz`` file, stopping (with an error) past ``limit`` bytes of output."""
    with gzip.open(packed, "rb") as fin:
        copy_limited(fin, dest, limit, f"{packed.name} decompressed")


def _check_member_name(name: str, archive: Path) -> None:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise UnsafeArchiveError(
            f"Refusing to extract {archive.name}: entry {name!r} would land outside the target "
            "folder. The archive is corrupt or malicious; delete it and fetch again."
        )
    if "\x00" in name or any(ord(c) < 32 for c in name):
        raise UnsafeArchiveError(
            f"Refusing to extract {archive.name}: entry {name!r} has control characters in its "
            "name. The archive is corrupt or malicious; delete it and fetch again."
        )


def _too_big(archive: Path, limit: int) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"Refusing to extract {archive.name}: it would unpack to more than {limit} bytes or "
        f"{MAX_MEMBERS} entries (a decompression bomb or the wrong file); delete it and fetch again."
    )


def safe_extract(archive: Path, target: Path, max_total: int = DEFAULT_MAX_EXTRACTED) -> list[str]:
    """Extract a .zip or tar archive into ``target``; return the regular files' relative paths.

    Refuses absolute, ``..``, link and device entries, hard links to entries not seen before, and
    archives that would unpack to more than ``max_total`` bytes; checks every entry first.
    """
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                _check_member_name(info.filename, archive)
            if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > max_total:
                raise _too_big(archive, max_total)
            zf.extractall(target)
            return [i.filename for i in infos if not i.is_dir()]
    with tarfile.open(archive) as tf:
        members, seen, total = [], set(), 0
        for m in tf:
            _check_member_name(m.name, archive)
            if m.issym() or m.islnk():
                link = PurePosixPath(m.name).parent / m.linkname if m.issym() else m.linkname
                _check_member_name(str(link), archive)
                if m.islnk() and m.linkname not in seen:
                    raise UnsafeArchiveError(
                        f"Refusing to extract {archive.name}: hard link {m.name!r} points to "
                        f"{m.linkname!r}, which is not an earlier entry. Delete it and fetch again."
                    )
            elif not (m.isreg() or m.isdir()):
                raise UnsafeArchiveError(
                    f"Refusing entry {m.name!r} in {archive.name}: not a file or folder (a device "
                    "or pipe). Delete the archive and fetch again."
                )
            total += m.size
            members.append(m)
            seen.add(m.name)
            if total > max_total or len(members) > MAX_MEMBERS:
                raise _too_big(archive, max_total)
        try:
            tf.extractall(target, members=members, filter="data")
        except tarfile.FilterError as exc:
            raise UnsafeArchiveError(f"Refusing to extract {archive.name}: {exc}.") from None
        return [m.name for m in members if m.isreg() or m.islnk()]


def read_member(archive: Path, member: str, dest: Path, limit: int) -> None:
    """Copy one member out of a wheel (zip) or sdist (tar) archive, at most ``limit`` bytes."""
    what = f"{member} in {archive.name}"
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src:
            copy_limited(src, dest, limit, what)
        return
    with tarfile.open(archive) as tf:
        fobj = tf.extractfile(member)
        if fobj is None:
            raise AssetError(f"{what} is not a regular file.")
        with fobj:
            copy_limited(fobj, dest, limit, what)
