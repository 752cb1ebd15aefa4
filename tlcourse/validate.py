"""Input at the door: files and settings checked once, with errors that say where and what to do.

Every file the course reads from a learner or from its own data folders goes through one of
these helpers, so a bad file fails the same way everywhere: the message names the file (and the
line, field or setting) and what to do, never a raw ``UnicodeDecodeError`` or ``TypeError`` from
deep inside a library. Each helper takes the caller's exception class (``error=``), so a module
keeps raising its own family (``LabelError``, ``SeriesError``, ...).

* :func:`read_text` - UTF-8 text (a UTF-8 byte-order mark is dropped); UTF-16/32 and binary files
  are refused by name;
* :func:`load_json`, :func:`load_toml` - parsed, with the line and column of a syntax error;
* :func:`whole_number`, :func:`env_int` - whole numbers (``48.0`` and ``True`` are not) in a range;
* :func:`write_atomic` - a file replaced in one step, no temporary file left when a write fails.
"""

from __future__ import annotations

import codecs
import json
import math
import operator
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

_WIDE_BOMS = {codecs.BOM_UTF32_LE: "UTF-32", codecs.BOM_UTF32_BE: "UTF-32",
              codecs.BOM_UTF16_LE: "UTF-16", codecs.BOM_UTF16_BE: "UTF-16"}


def read_text(path: str | os.PathLike[str], *, error: type[Exception] = ValueError, fix: str = "") -> str:
    """The file's text, decoded as UTF-8 (a leading byte-order mark dropped).

    Raises ``error`` naming the file for a missing or unreadable file, a UTF-16/32 or binary file
    (NUL bytes) and invalid UTF-8 (with the line). ``fix`` is appended: what to do about it.
    """
    path = Path(path)
    tail = f" {fix}" if fix else ""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc}).{tail}") from None
    for bom, name in _WIDE_BOMS.items():  # UTF-32-LE starts like UTF-16-LE: longest BOMs first
        if raw.startswith(bom):
            raise error(f"{path}: the file is {name} text; save it as UTF-8.{tail}")
    raw = raw.removeprefix(codecs.BOM_UTF8)
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise error(f"{path}, line {line}: NUL bytes, so a binary or UTF-16 file, not UTF-8 text; "
                    f"save it as UTF-8 text.{tail}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(f"{path}, line {line}: not valid UTF-8 ({exc.reason}); save it as UTF-8.{tail}") from None


def load_json(path: str | os.PathLike[str], *, error: type[Exception] = ValueError, fix: str = "") -> Any:
    """Parse a UTF-8 JSON file; a syntax error (a truncated file, say) names the file, line and column."""
    text = read_text(path, error=error, fix=fix)
    try:
        return json.loads(text)
    except RecursionError:
        raise error(f"{path}: nested too deeply to be a data file of the course.{f' {fix}' if fix else ''}") from None
    except json.JSONDecodeError as exc:
        tail = f" {fix}" if fix else ""
        raise error(f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})."
                    f"{tail}") from None


def load_toml(path: str | os.PathLike[str], *, error: type[Exception] = ValueError, fix: str = "") -> dict[str, Any]:
    """Parse a UTF-8 TOML file; a syntax error names the file and tomllib's line and column."""
    text = read_text(path, error=error, fix=fix)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        tail = f" {fix}" if fix else ""
        raise error(f"{path}: not valid TOML ({exc}).{tail}") from None


def whole_number(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None,
                 error: type[Exception] = ValueError) -> int:
    """``value`` as an ``int`` when it is one (a Python or NumPy integer, not a bool or a float).

    Raises ``TypeError`` for another type (``48.0``, ``"48"``, ``True``), naming ``name``, and
    ``error`` when it lies outside ``[minimum, maximum]``.
    """
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        hint = f": write {int(value)}" if isinstance(value, float) and value.is_integer() else ""
        raise TypeError(f"{name} must be a whole number (int), got {value!r} "
                        f"({type(value).__name__}){hint}.")
    number = operator.index(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        bounds = (f">= {minimum}" if maximum is None else f"<= {maximum}" if minimum is None
                  else f"in {minimum}..{maximum}")
        raise error(f"{name} must be a whole number {bounds}, got {number}.")
    return number


def finite_number(value: Any, name: str, *, minimum: float | None = None,
                  error: type[Exception] = ValueError) -> float:
    """A finite int or float (not a bool), at least ``minimum``; else ``error`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        what = "finite" if minimum is None else f"finite and >= {minimum:g}"
        raise error(f"{name} must be {what}, got {value!r}.")
    return value


def env_int(var: str, minimum: int, maximum: int, *, error: type[Exception] = ValueError) -> int | None:
    """The whole number in ``$var`` (``None`` when unset or blank), in ``minimum..maximum``."""
    raw = os.environ.get(var, "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"[+-]?[0-9]+", raw):  # ASCII digits only: int() also takes "٣" and "1_0"
        raise error(f"{var}={raw!r} is not a whole number; unset it or set a whole number in "
                    f"{minimum}..{maximum}.")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise error(f"{var}={raw} is outside {minimum}..{maximum}; unset it or set a whole number in "
                    "that range.")
    return value


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Replace ``path`` with ``data`` in one step (a temporary file beside it, then a rename).

    Readers see the old file or the new one, never half of one; when a write fails (a full disk)
    the temporary file is removed and the old file is untouched. Text is written as UTF-8; the
    file keeps its permissions (a new one gets ``0644``).
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode = path.stat().st_mode & 0o777  # keep the file's permissions (mkstemp makes 0600)
    except OSError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
