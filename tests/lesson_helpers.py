"""A stand-in lesson registry for tests that build a course in a temporary folder."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from tlcourse import lessons

SIZES = "[common]\nseed = 42\n[smoke]\nepochs = 1\n[cpu]\nepochs = 3\n[full]\nepochs = 9\n"


def registry_at(folder: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> None:
    """Make ``folder`` the lessons folder, holding ``{name: TOML text}`` (a fresh registry cache that
    monkeypatch drops after the test, so the real registry's cache is untouched)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.toml").write_text(text)
    monkeypatch.setattr(lessons, "FOLDER", folder)
    monkeypatch.setattr("tlcourse.profiles.LESSONS_DIR", folder)
    monkeypatch.setattr(lessons, "_all", cache(lessons._all.__wrapped__))


def register(folder: Path, monkeypatch: pytest.MonkeyPatch, *stems: str) -> None:
    """A registry of exactly the lessons ``stems`` (``"02_x"``: number 02, name x, title X)."""
    files = {}
    for stem in stems:
        number, name = stem.split("_", 1)
        files[name] = SIZES + f'[lesson]\nnumber = "{number}"\ntitle = "{name.title()}"\n'
    registry_at(folder, monkeypatch, files)
