"""Format checks for files without a published checksum (``sha256: null``).

Such a file is pinned on first download, so whatever arrives first is trusted from then on. These
checks stop the common wrong arrivals from being pinned: an HTML error or login page served with
status 200, and a short body (the server's ``Content-Length`` matches what it sent, so the
download looks complete). Each check reads the file's own structure: JSON parses, a safetensors
header accounts for every byte, a zip's central directory and CRCs agree, a tar lists to its end.
"""

from __future__ import annotations

import json
import struct
import tarfile
import zipfile
from pathlib import Path

from .errors import ChecksumError

_HTML = (b"<!doctype html", b"<html", b"<?xml", b"<head")


def looks_like_html(head: bytes) -> bool:
    """True when the first bytes of a file are the start of an HTML (or XML error) page."""
    return head.lstrip().lower().startswith(_HTML)


def check_format(path: Path, name: str, origin: str) -> None:
    """Raise :class:`ChecksumError` when ``path`` is not a well-formed file of its type."""
    lower = name.lower()

    def bad(why: str) -> ChecksumError:
        return ChecksumError(f"{name} from {origin}: {why}; refusing to pin it as the asset.")

    with open(path, "rb") as fh:
        head = fh.read(512)
    if not head:
        raise bad("the file is empty")
    if looks_like_html(head) and not lower.endswith((".html", ".htm", ".xml")):
        raise bad("the server sent an HTML page (an error or login page), not the file")
    try:
        if lower.endswith(".json"):
            json.loads(path.read_text(encoding="utf-8"))
        elif lower.endswith(".safetensors"):
            _check_safetensors(path)
        elif lower.endswith((".pth", ".pt")) and head.startswith(b"\x80"):
            pass  # torch's legacy (pre-1.6) format: a pickle stream, no structure to check cheaply
        elif lower.endswith((".zip", ".pth", ".pt")) or zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                broken = zf.testzip()
            if broken is not None:
                raise bad(f"member {broken} fails its CRC check (a damaged download)")
        elif lower.endswith((".tar", ".tar.gz", ".tgz")):
            with tarfile.open(path) as tf:
                tf.getmembers()
        elif lower.endswith(".txt"):
            path.read_text(encoding="utf-8")
    except ChecksumError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise bad(f"not a complete {Path(lower).suffix or 'file'} ({exc})") from None


def _check_safetensors(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) < 8:
            raise ValueError("shorter than the 8-byte header length")
        (n,) = struct.unpack("<Q", raw)
        if n > min(size - 8, 100 << 20):
            raise ValueError(f"header of {n} bytes does not fit in {size} bytes")
        header = json.loads(fh.read(n).decode("utf-8"))
    ends = [int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"]
    if 8 + n + max(ends, default=0) != size:
        raise ValueError(f"the header describes {8 + n + max(ends, default=0)} bytes, the file has {size}")
