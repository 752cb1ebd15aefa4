"""HTTP(S) downloads with a per-read timeout, a total deadline and a byte cap.

``TLCOURSE_TIMEOUT`` (seconds, default 30) bounds each network read; ``TLCOURSE_DEADLINE``
(seconds, default 1800) bounds one source as a whole, so a server that trickles a byte at a time
fails instead of hanging the notebook.
"""

from __future__ import annotations

import math
import os
import time
import urllib.request
from pathlib import Path

from .content import looks_like_html
from .errors import AssetError, SettingError

READ = 1 << 16


def seconds_setting(var: str, default: float) -> float:
    """A positive, finite number of seconds from ``$var`` (``default`` when unset)."""
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise SettingError(
            f"{var}={raw!r} is not a positive number of seconds: unset it or set e.g. "
            f"{var}={default:g}."
        )
    return value


def timeout() -> float:
    """Seconds one network read may take (``TLCOURSE_TIMEOUT``, default 30)."""
    return seconds_setting("TLCOURSE_TIMEOUT", 30.0)


def deadline() -> float:
    """Seconds one source may take in total (``TLCOURSE_DEADLINE``, default 1800)."""
    return seconds_setting("TLCOURSE_DEADLINE", 1800.0)


def download(
    url: str, dest: Path, progress: bool, limit: int | None = None, until: float | None = None
) -> None:
    """Stream ``url`` to ``dest``; stop past ``limit`` bytes or after ``time.monotonic() > until``.

    Rejects a short body, an invalid ``Content-Length``, one above ``limit``, and an HTML page
    where a data file was expected.
    """
    from tqdm.auto import tqdm

    per_read = timeout()
    until = time.monotonic() + deadline() if until is None else until
    limit = limit if limit is not None else 1 << 62
    req = urllib.request.Request(url, headers={"User-Agent": "tlcourse"})
    with urllib.request.urlopen(req, timeout=max(0.1, min(per_read, until - time.monotonic()))) as resp:
        length = resp.headers.get("Content-Length")
        total = None
        if length is not None:
            if not length.strip().isdigit():
                raise AssetError(f"{url}: the server sent an invalid Content-Length {length!r}.")
            total = int(length)
            if total > limit:
                raise AssetError(
                    f"{url}: the server announces {total} bytes, more than the {limit} the "
                    "manifest allows (the wrong file)."
                )
        ctype = resp.headers.get("Content-Type", "")
        if ctype.split(";")[0].strip().lower() == "text/html" and not dest.name.endswith(".html"):
            raise AssetError(f"{url}: the server sent an HTML page (an error or login page), not the file.")
        read = getattr(resp, "read1", resp.read)
        got = 0
        with (
            open(dest, "wb") as out,
            tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar,
        ):
            while block := read(READ):
                if got == 0 and looks_like_html(block[:512]) and not dest.name.endswith(".html"):
                    raise AssetError(f"{url}: the server sent an HTML page, not the file.")
                got += len(block)
                if got > limit:
                    raise AssetError(
                        f"{url}: more than the {limit} bytes the manifest allows; stopped there."
                    )
                if time.monotonic() > until:
                    raise AssetError(
                        f"{url}: not finished within the deadline ({got} bytes so far; the server "
                        "is too slow). Retry later or raise TLCOURSE_DEADLINE (seconds)."
                    )
                out.write(block)
                bar.update(len(block))
    if total is not None and got != total:
        raise AssetError(f"{url}: download truncated ({got} of {total} bytes).")
