"""The exceptions of the asset machinery (one family, so callers catch :class:`AssetError`)."""

from __future__ import annotations


class AssetError(RuntimeError):
    """An asset could not be fetched, verified or installed."""


class ChecksumError(AssetError):
    """A file's size or sha256 differs from the manifest."""


class UnsafeArchiveError(AssetError):
    """An archive entry would land outside its target folder."""


class SettingError(AssetError):
    """An environment setting (``TLCOURSE_*``) or the cache location is unusable.

    Not a source failure: :func:`~tlcourse.assets.fetch` raises it at once instead of trying the
    next source, because no source can succeed until the setting is fixed.
    """


class BundleError(AssetError):
    """A workshop bundle is missing, damaged, or holds files the manifest does not know."""
