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


@pytest.mark.parametrize("lesson", [lesson.name for lesson in tl.lessons.all_lessons()])
def test_every_lesson_has_same_keys_in_every_profile(lesson):
    """Same code path in every profile: only values differ, never the set of settings."""
    table = cfgmod.lesson_table(lesson)
    keys = {p: set(table.get("common", {})) | set(table[p]) for p in tl.PROFILES}
    assert keys["smoke"] == keys["cpu"] == keys["full"], keys
    for profile in tl.PROFILES:
        tl.config(lesson, profile=profile)


def test_profile_table_overrides_common(tmp_path, monkeypatch):
    """[common] holds the defaults; a profile's own table wins for the keys it sets."""
    (tmp_path / "demo.toml").write_text(
        "[common]\nseed = 7\nepochs = 5\nlr = 0.01\n\n"
        "[smoke]\nepochs = 1\n\n[cpu]\nlr = 0.001\nepochs = 5\n\n[full]\nseed = 9\nepochs = 50\n"
    )
    monkeypatch.setattr(cfgmod, "LESSONS_DIR", tmp_path)
    monkeypatch.delenv("TLCOURSE_SEED", raising=False)
    smoke, cpu, full = (tl.config("demo", profile=p) for p in ("smoke", "cpu", "full"))
    assert (smoke.epochs, smoke.lr, smoke.seed) == (1, 0.01, 7)
    assert (cpu.epochs, cpu.lr, cpu.seed) == (5, 0.001, 7)
    assert (full.epochs, full.lr, full.seed) == (50, 0.01, 9)
    assert tl.config("demo", profile="smoke", lr=0.5).lr == 0.5  # an override beats both tables
