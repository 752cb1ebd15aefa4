"""tl.memory: peak resident memory sampled in a thread, and training steps measured in a fresh process."""

from __future__ import annotations

import numpy as np
import pytest

from tlcourse import memory


def test_peak_rss_sees_an_allocation_that_is_gone_by_the_end():
    with memory.PeakRSS(interval=0.001) as peak:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        import time

        time.sleep(0.05)
        del block
    assert peak.peak_mb >= peak.before_mb + 48, (peak.before_mb, peak.peak_mb)
    assert peak.added_mb == peak.peak_mb - peak.before_mb


@pytest.mark.parametrize(("spec", "message"), [
    ({"mode": "full", "texts": ["a"], "labels": [1]}, "no 'model_dir' field"),
    ({"model_dir": "MISSING", "mode": "full", "texts": ["a"], "labels": [1]}, "not a model folder"),
    ({"model_dir": "M", "mode": "half", "texts": ["a"], "labels": [1]}, "mode='half'"),
    ({"model_dir": "M", "mode": "lora", "texts": ["a"], "labels": [1]}, "needs a 'lora' field"),
    ({"model_dir": "M", "mode": "full", "texts": ["a", "b"], "labels": [1]}, "2 texts and 1 labels"),
    ({"model_dir": "M", "mode": "full", "texts": [], "labels": []}, "at least one"),
])
def test_a_spec_that_cannot_be_measured_names_its_field(spec, message, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    spec = {**spec, "model_dir": str(tmp_path)} if spec.get("model_dir") == "M" else spec
    with pytest.raises(ValueError, match=message):
        memory.measure_training(spec)


def test_each_mode_trains_what_it_says_in_its_own_process(tiny_model_dir):
    spec = {"model_dir": str(tiny_model_dir), "texts": ["good film", "not good", "bad film", "bad"],
            "labels": [1, 0, 0, 0], "batch_size": 2,
            "lora": {"r": 2, "lora_alpha": 4, "target_modules": ["query", "value"]}}
    rows = {mode: memory.measure_training({**spec, "mode": mode}) for mode in memory.MODES}
    hidden, layers = 16, 1
    lora_params = layers * 2 * 2 * (hidden + hidden) + (hidden * 2 + 2)  # A and B on query and value + head
    assert rows["frozen"]["trainable"] == 0
    assert rows["lora"]["trainable"] == lora_params
    assert rows["full"]["trainable"] > 20 * lora_params
    for row in rows.values():
        assert row["steps"] == 2 and row["peak_mb"] >= row["before_mb"] > 0 and row["added_mb"] >= 0


def test_a_failing_child_says_which_measurement_failed_and_shows_its_error(tmp_path, monkeypatch):
    import subprocess

    (tmp_path / "config.json").write_text("{}")
    failed = subprocess.CompletedProcess([], 1, stdout="", stderr="OSError: no weights in the folder")
    monkeypatch.setattr(memory.subprocess, "run", lambda *a, **k: failed)
    spec = {"model_dir": str(tmp_path), "mode": "full", "texts": ["a"], "labels": [1]}
    with pytest.raises(RuntimeError, match=r"measurement \(full\) failed(.|\n)*no weights in the folder"):
        memory.measure_training(spec)
