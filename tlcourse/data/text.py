"""Human-rated sentiment snippets from four domains (Hutto & Gilbert, ICWSM 2014).

The asset ``vader_sentiment_ratings`` (from the vaderSentiment 3.3.2 sdist, MIT) holds a folder
``hutto_ICWSM_2014/`` with one ``<name>_GroundTruth.txt`` file per domain. Each line is
``ID<TAB>MEAN-SENTIMENT-RATING<TAB>TEXT``: the mean of at least 20 human ratings on a scale from
-4 (extremely negative) to +4 (extremely positive). The files are UTF-8 with CRLF line ends (the
README beside them is cp1252; it is not parsed). The snippets quote third-party text: movie
reviews (Pang & Lee, rottentomatoes.com), tweet-like texts, Amazon product reviews (Hu & Liu)
and New York Times editorials.

Typical use::

    df = load_sentiment_domains()                      # domain, id, text, rating
    df = label_by_threshold(df, pos=1.0, neg=-1.0)     # + label (1 = positive), neutral dropped
    parts = split_domain(df[df.domain == "movies"], seed=42,
                         sizes={"test": 1000, "val": 500, "train": 4000})
"""

from __future__ import annotations

import codecs
import html
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ASSET_ID = "vader_sentiment_ratings"
SUBFOLDER = "hutto_ICWSM_2014"
DOMAIN_FILES = {
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "tweets": "tweets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}
RATING_MIN, RATING_MAX = -4.0, 4.0
_FORMAT = "ID<TAB>MEAN-SENTIMENT-RATING<TAB>TEXT"
# A rating as the files write it: ASCII digits, an optional sign and decimals. float() alone also takes
# "nan", "1_0", " 1e0" and other scripts' digits ("\u0661.5"), none of which a rating file contains.
_RATING = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def clean_text(text: str) -> str:
    """Undo the HTML escaping some snippets carry (``&amp;`` -> ``&``; a few NYT snippets are
    escaped twice, ``&amp;amp;``) and strip surrounding whitespace."""
    for _ in range(3):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return text.strip()


def read_ground_truth(path: str | os.PathLike[str], domain: str) -> pd.DataFrame:
    """Parse one ``*_GroundTruth.txt`` file strictly; columns domain, id, text, rating.

    A UTF-8 byte-order mark at the start is dropped; blank lines are skipped. Anything else that is not ``ID<TAB>RATING<TAB>TEXT`` (UTF-8, a
    finite rating in [-4, 4], a non-empty unique ID and a non-empty text) raises ``ValueError``
    naming the file, the 1-based line number and what was expected there. Texts go through
    :func:`clean_text`.
    """
    path = Path(path)
    rows: list[tuple[str, str, str, float]] = []
    seen: dict[str, int] = {}
    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):  # an editor's byte-order mark, not part of the first ID
        raw = raw[len(codecs.BOM_UTF8) :]
    for number, line_bytes in enumerate(raw.split(b"\n"), start=1):
        where = f"{path}, line {number}"
        try:
            line = line_bytes.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{where}: not valid UTF-8 ({exc.reason} at byte {exc.start} of the line). The "
                f"ground-truth files are UTF-8; if you edited this one, save it as UTF-8, or "
                f"delete the folder and run: python -m tlcourse fetch {ASSET_ID}"
            ) from None
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(
                f"{where}: expected 3 tab-separated fields ({_FORMAT}), found {len(fields)}: "
                f"{line[:80]!r}"
            )
        ident, rating_text, text = (f.strip() for f in fields)
        if not ident:
            raise ValueError(f"{where}: the ID (first field of {_FORMAT}) is empty.")
        if ident in seen:
            raise ValueError(f"{where}: ID {ident!r} already appeared on line {seen[ident]}.")
        if not _RATING.fullmatch(rating_text):
            raise ValueError(
                f"{where}: the rating (second field of {_FORMAT}) must be a decimal number written "
                f"with the digits 0-9, like -1.25; got {rating_text!r}."
            )
        rating = float(rating_text)
        if not (math.isfinite(rating) and RATING_MIN <= rating <= RATING_MAX):
            raise ValueError(
                f"{where}: the rating must lie in [{RATING_MIN:g}, {RATING_MAX:g}] (the mean "
                f"of human ratings on that scale), got {rating_text!r}."
            )
        text = clean_text(text)
        if not text:
            raise ValueError(f"{where}: the text (third field of {_FORMAT}) is empty.")
        seen[ident] = number
        rows.append((domain, ident, text, rating))
    if not rows:
        raise ValueError(f"{path}: no rows; expected lines of {_FORMAT}.")
    return pd.DataFrame(rows, columns=["domain", "id", "text", "rating"])


def sentiment_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The ``hutto_ICWSM_2014`` folder: ``root`` if given, else the asset's (fetched if needed)."""
    if root is not None:
        return Path(root)
    from ..assets import fetch

    return fetch(ASSET_ID) / SUBFOLDER


def load_sentiment_domains(
    root: str | os.PathLike[str] | None = None,
    domains: Iterable[str] | None = None,
    dedupe: bool = True,
) -> pd.DataFrame:
    """All snippets of the chosen domains (default: all four) as one DataFrame.

    Columns: ``domain`` (movies, tweets, amazon, nyt), ``id`` (as in the file), ``text``,
    ``rating`` (mean human rating, -4..4). With ``dedupe`` a text that occurs again in the same
    domain is dropped (the first occurrence is kept), so no sentence can land in two splits.
    """
    folder = sentiment_root(root)
    chosen = list(DOMAIN_FILES) if domains is None else list(domains)
    unknown = [d for d in chosen if d not in DOMAIN_FILES]
    if unknown:
        raise ValueError(f"Unknown domain(s) {unknown}; choose from {', '.join(DOMAIN_FILES)}.")
    frames = []
    for domain in chosen:
        path = folder / DOMAIN_FILES[domain]
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing. Fetch the data with: python -m tlcourse fetch {ASSET_ID}"
            )
        frame = read_ground_truth(path, domain)
        if dedupe:
            frame = frame.drop_duplicates(subset="text", keep="first")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def label_by_threshold(df: pd.DataFrame, pos: float = 1.0, neg: float = -1.0) -> pd.DataFrame:
    """Keep rows with ``rating >= pos`` (label 1) or ``rating <= neg`` (label 0); drop the middle.

    Returns a copy with an int ``label`` column. ``neg < pos`` is required (else every row would
    be ambiguous).
    """
    if not neg < pos:
        raise ValueError(f"Need neg < pos to leave a neutral gap; got neg={neg}, pos={pos}.")
    if "rating" not in df.columns:
        raise ValueError("label_by_threshold needs a 'rating' column (see load_sentiment_domains).")
    keep = (df["rating"] >= pos) | (df["rating"] <= neg)
    out = df.loc[keep].copy()
    out["label"] = (out["rating"] >= pos).astype(int)
    return out.reset_index(drop=True)


def _stratified_counts(n: int, class_sizes: Mapping[Any, int]) -> dict[Any, int]:
    """Split ``n`` over classes in proportion to their sizes (largest remainder, exact total)."""
    total = sum(class_sizes.values())
    if n == 0 or total == 0:
        return dict.fromkeys(class_sizes, 0)
    quotas = {c: n * size / total for c, size in class_sizes.items()}
    counts = {c: int(math.floor(q)) for c, q in quotas.items()}
    by_remainder = sorted(class_sizes, key=lambda c: (-(quotas[c] - counts[c]), c))
    for c in by_remainder[: n - sum(counts.values())]:
        counts[c] += 1
    return counts


def split_domain(
    df: pd.DataFrame, seed: int, sizes: Mapping[str, int], label: str = "label"
) -> dict[str, pd.DataFrame]:
    """Fixed, stratified, disjoint splits of ``df`` with exactly ``sizes[name]`` rows each.

    Each class is shuffled once with ``seed``; splits take rows in the order ``sizes`` lists
    them, each with the class mix of the rows still left (the first: of the whole frame). So a
    split depends only on the seed and the sizes of the splits listed before it: list ``test``
    first and it stays the same when you change the training size. Returns
    ``{name: DataFrame}``, each shuffled, index reset.
    """
    if label not in df.columns:
        raise ValueError(f"split_domain needs a {label!r} column (see label_by_threshold).")
    bad = {k: v for k, v in sizes.items() if not isinstance(v, int | np.integer) or v < 0}
    if bad:
        raise ValueError(f"Split sizes must be non-negative integers; got {bad}.")
    need = sum(sizes.values())
    if need > len(df):
        raise ValueError(
            f"The splits ask for {need} rows ({dict(sizes)}) but only {len(df)} are available; "
            "make them smaller."
        )
    rng = np.random.default_rng(seed)
    classes = sorted(df[label].unique())
    pools = {c: rng.permutation(np.flatnonzero(df[label].to_numpy() == c)) for c in classes}
    taken = dict.fromkeys(classes, 0)
    out = {}
    for name, n in sizes.items():
        # in proportion to what is left, so a split never asks a class for more rows than it has
        counts = _stratified_counts(int(n), {c: len(pools[c]) - taken[c] for c in classes})
        positions = np.concatenate([pools[c][taken[c] : taken[c] + k] for c, k in counts.items()])
        for c, k in counts.items():
            taken[c] += k
        out[name] = df.iloc[rng.permutation(positions)].reset_index(drop=True)
    return out
