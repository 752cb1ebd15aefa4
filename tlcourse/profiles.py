"""Run profiles: one switch (``TLCOURSE_PROFILE``) picks the sizes of every lesson.

* ``smoke`` - the tests: tiny subsets, 1-2 epochs, small images (each notebook well under 2 min
  on 2 CPU cores);
* ``cpu``   - a learner's laptop: the real lesson, sized to about 15 minutes per notebook;
* ``full``  - a GPU: anchor-scale data and epochs.

Each lesson's sizes live in ``tlcourse/lessons/<lesson>.toml`` with one table per profile (plus
an optional ``[common]`` table). The code path is the same in every profile; only numbers differ.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

PROFILES = ("smoke", "cpu", "full")
LESSONS_DIR = Path(__file__).with_name("lessons")
DEFAULT_SEED = 42


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


def lesson_table(lesson: str) -> dict[str, Any]:
    """The raw TOML of one lesson (all profiles)."""
    path = LESSONS_DIR / f"{lesson}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in LESSONS_DIR.glob("*.toml")))
        raise ValueError(f"No lesson {lesson!r}; known lessons: {known}.")
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def config(lesson: str, profile: str | None = None, **overrides: Any) -> Config:
    """Build the lesson's config for ``profile`` (default: :func:`active_profile`).

    ``overrides`` replace single settings (for experiments); unknown names are an error so a
    typo cannot silently do nothing.
    """
    profile = profile or active_profile()
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}; use one of {', '.join(PROFILES)}.")
    table = lesson_table(lesson)
    missing = [p for p in PROFILES if p not in table]
    if missing:
        raise ValueError(f"Lesson {lesson!r} lacks profile tables: {', '.join(missing)}.")
    params: dict[str, Any] = {**table.get("common", {}), **table[profile]}
    unknown = sorted(set(overrides) - set(params))
    if unknown:
        raise ValueError(f"Unknown setting(s) for {lesson!r}: {', '.join(unknown)}.")
    params.update(overrides)
    seed = int(params.pop("seed", DEFAULT_SEED))
    env_seed = os.environ.get("TLCOURSE_SEED", "").strip()  # `make verify SEEDS=3` sets it per run
    if env_seed:
        try:
            seed = int(env_seed)
        except ValueError:
            raise ValueError(f"TLCOURSE_SEED={env_seed!r} is not an integer seed.") from None
    return Config(lesson=lesson, profile=profile, seed=seed, params=MappingProxyType(params))
