"""The exceptions of the asset machinery (one family, so callers catch :class:`AssetError`)."""

from __future__ import annotations


class AssetError(RuntimeError):
    """An asset could not be fetched, verified or installed."""


class ChecksumError(AssetError):
    """A file's size or sha256 differs from the manifest."""


class UnsafeArchiveError(AssetError):
    """An archive entry would land outside its target folder."""
