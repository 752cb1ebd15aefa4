"""Run profiles: one switch (``TLCOURSE_PROFILE``) picks the sizes of every lesson.

* ``smoke`` - the tests: tiny subsets, 1-2 epochs, small images (each notebook well under 2 min
  on 2 CPU cores);
* ``cpu``   - a learner's laptop: the real lesson, sized to about 15 minutes per notebook;
* ``full``  - a GPU: anchor-scale data and epochs.

Each lesson's sizes live in ``tlcourse/lessons/<lesson>.toml`` with one table per profile (plus
an optional ``[common]`` table). The code path is the same in every profile; only numbers differ.

The file is checked when it is read (:func:`lesson_table`): only the tables ``common``, ``smoke``,
``cpu``, ``full`` (and ``lesson``, the registry's bookkeeping: :mod:`tlcourse.lessons`); every number finite and >= 0; a setting has the same type in every table
(``epochs = 2.5`` where the other profiles say ``epochs = 3`` is refused); ``seed`` a whole number
in ``0..2**32-1`` (NumPy's range). ``TLCOURSE_SEED`` must lie in the same range.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .validate import env_int, finite_number, load_toml, whole_number

PROFILES = ("smoke", "cpu", "full")
LESSONS_DIR = Path(__file__).with_name("lessons")
DEFAULT_SEED = 42
SEED_MAX = 2**32 - 1  # numpy.random.seed's upper bound


def gpu_available() -> bool:
    """True when PyTorch sees a CUDA GPU (False when torch is not installed)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def active_profile() -> str:
    """``$TLCOURSE_PROFILE`` if set, else ``full`` with a GPU and ``cpu`` without."""
    value = os.environ.get("TLCOURSE_PROFILE", "").strip().lower()
    if not value:
        return "full" if gpu_available() else "cpu"
    if value not in PROFILES:
        raise ValueError(
            f"TLCOURSE_PROFILE={value!r} is not a profile; use one of {', '.join(PROFILES)}."
        )
    return value


@dataclass(frozen=True)
class Config:
    """The frozen settings of one lesson in one profile; read values as attributes."""

    lesson: str
    profile: str
    seed: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        params = object.__getattribute__(self, "params")
        if name in params:
            return params[name]
        lesson = object.__getattribute__(self, "lesson")
        raise AttributeError(
            f"Lesson {lesson!r} has no setting {name!r}; it has: {', '.join(sorted(params))}."
        )

    def __repr__(self) -> str:
        rows = "\n".join(f"  {k:<22} {v!r}" for k, v in self.params.items())
        return f"Config(lesson={self.lesson!r}, profile={self.profile!r}, seed={self.seed})\n{rows}"


def _kind(value: Any) -> str:
    """The TOML type of a setting, as a learner would name it."""
    return {bool: "true/false", int: "whole number", float: "decimal number", str: "text",
            list: "list", dict: "table"}.get(type(value), type(value).__name__)


def _check_value(value: Any, where: str) -> None:
    """Every number inside ``value`` finite and >= 0 (lists and tables too)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_value(item, f"{where}.{key}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        finite_number(value, where, minimum=0)


def validate_table(table: dict[str, Any], path: Path) -> dict[str, Any]:
    """Check one lesson's parsed TOML (see the module's docstring); return it unchanged."""
    fix = f"Fix {path} (or restore it: git checkout {path.name})."
    unknown = sorted(set(table) - {"common", "lesson", *PROFILES})
    if unknown:
        raise ValueError(f"{path}: unknown table(s) {', '.join(unknown)}; a lesson file has [common], "
                         f"[smoke], [cpu], [full] and [lesson]. {fix}")
    types: dict[str, tuple[str, str]] = {}
    for name, settings in table.items():
        if name == "lesson":
            continue  # the registry's bookkeeping, checked by tlcourse.lessons
        if not isinstance(settings, dict):
            raise ValueError(f"{path}: {name!r} must be a table ([{name}]), not a {_kind(settings)}. {fix}")
        for key, value in settings.items():
            where = f"{path}, [{name}] {key}"
            try:
                if key == "seed":
                    whole_number(value, "the seed", minimum=0, maximum=SEED_MAX)
                _check_value(value, key)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: {exc} {fix}") from None
            kind = _kind(value)
            if key in types and types[key][0] != kind:
                raise ValueError(f"{where} is a {kind} ({value!r}), but [{types[key][1]}] {key} is a "
                                 f"{types[key][0]}: use the same type in every table. {fix}")
            types.setdefault(key, (kind, name))
    return table


def lesson_table(lesson: str) -> dict[str, Any]:
    """The TOML of one lesson (all profiles), checked by :func:`validate_table`."""
    path = LESSONS_DIR / f"{lesson}.toml"
    if not re.fullmatch(r"[a-z0-9_]+", lesson) or not path.is_file():
        from .lessons import all_lessons  # the registry reads these files through this function

        known = ", ".join(sorted(entry.name for entry in all_lessons()))
        raise ValueError(f"No lesson {lesson!r}; known lessons: {known}.")
    table = load_toml(path, fix=f"Fix the file (or restore it: git checkout {path.name}).")
    return validate_table(table, path)


def env_seed() -> int | None:
    """``$TLCOURSE_SEED`` (``make verify SEEDS=3`` sets it per run) as a seed, or ``None`` if unset."""
    return env_int("TLCOURSE_SEED", 0, SEED_MAX)


def env_threads() -> int | None:
    """``$TLCOURSE_THREADS`` checked at the door (``None`` if unset): a whole number from 1 to this
    machine's core count. More threads than cores only make the threads wait for each other (and
    change the float summation order, so the numbers too); ``tl.seed_everything`` applies it."""
    cores = os.cpu_count() or 1
    return env_int("TLCOURSE_THREADS", 1, cores)


def config(lesson: str, profile: str | None = None, **overrides: Any) -> Config:
    """Build the lesson's config for ``profile`` (default: :func:`active_profile`).

    ``overrides`` replace single settings (for experiments); unknown names are an error so a
    typo cannot silently do nothing. ``$TLCOURSE_SEED`` and ``$TLCOURSE_THREADS`` are checked here,
    in every lesson's first cell.
    """
    env_threads()
    profile = profile or active_profile()
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}; use one of {', '.join(PROFILES)}.")
    table = lesson_table(lesson)
    missing = [p for p in PROFILES if p not in table]
    if missing:
        raise ValueError(f"Lesson {lesson!r} lacks profile tables: {', '.join(missing)}.")
    params: dict[str, Any] = {**table.get("common", {}), **table[profile]}  # [lesson] is not a setting
    unknown = sorted(set(overrides) - set(params))
    if unknown:
        raise ValueError(f"Unknown setting(s) for {lesson!r}: {', '.join(unknown)}.")
    for key, value in overrides.items():
        want, got = _kind(params[key]), _kind(value)
        if got != want and not (want == "decimal number" and got == "whole number"):
            raise TypeError(f"{key}={value!r} is a {got}; {lesson!r} expects a {want} (like {params[key]!r}).")
        _check_value(value, key)
    params.update(overrides)
    seed = params.pop("seed", DEFAULT_SEED)
    seed = whole_number(seed, "seed", minimum=0, maximum=SEED_MAX)
    from_env = env_seed()
    if from_env is not None:
        seed = from_env
    return Config(lesson=lesson, profile=profile, seed=seed, params=MappingProxyType(params))
