"""HTTP(S) downloads: streamed to a file with a timeout and a progress bar."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

from .cache import CHUNK
from .errors import AssetError


def download(url: str, dest: Path, progress: bool) -> None:
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
            for block in iter(lambda: resp.read(CHUNK), b""):
                out.write(block)
                got += len(block)
                bar.update(len(block))
    if total is not None and got != total:
        raise AssetError(f"{url}: download truncated ({got} of {total} bytes).")
