"""Profiles and lesson configs."""

from __future__ import annotations

import dataclasses

import pytest

import tlcourse as tl
from tlcourse import profiles as cfgmod


def test_env_var_selects_profile(monkeypatch):
    monkeypatch.setenv("TLCOURSE_PROFILE", "smoke")
    assert tl.active_profile() == "smoke"
    assert tl.config("start_here").profile == "smoke"


def test_bad_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TLCOURSE_PROFILE", "huge")
    with pytest.raises(ValueError, match="smoke, cpu, full"):
        tl.active_profile()


def test_default_profile_follows_gpu(monkeypatch):
    monkeypatch.delenv("TLCOURSE_PROFILE", raising=False)
    monkeypatch.setattr(cfgmod, "gpu_available", lambda: True)
    assert cfgmod.active_profile() == "full"
    monkeypatch.setattr(cfgmod, "gpu_available", lambda: False)
    assert cfgmod.active_profile() == "cpu"


def test_config_is_frozen_and_reads_attributes():
    cfg = tl.config("start_here", profile="cpu")
    assert cfg.seed == 42 and cfg.top_k == 3
    with pytest.raises(AttributeError, match="has no setting 'nope'"):
        _ = cfg.nope
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.profile = "full"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.params["top_k"] = 5  # type: ignore[index]


def test_overrides_and_typos():
    assert tl.config("start_here", profile="smoke", top_k=5).top_k == 5
    with pytest.raises(ValueError, match="Unknown setting"):
        tl.config("start_here", profile="smoke", topk=5)
    with pytest.raises(ValueError, match="No lesson 'nope'"):
        tl.config("nope")


@pytest.mark.parametrize("lesson", sorted(p.stem for p in cfgmod.LESSONS_DIR.glob("*.toml")))
def test_every_lesson_has_same_keys_in_every_profile(lesson):
    """Same code path in every profile: only values differ, never the set of settings."""
    table = cfgmod.lesson_table(lesson)
    keys = {p: set(table.get("common", {})) | set(table[p]) for p in tl.PROFILES}
    assert keys["smoke"] == keys["cpu"] == keys["full"], keys
    for profile in tl.PROFILES:
        tl.config(lesson, profile=profile)
