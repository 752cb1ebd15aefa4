"""make bench's report: goals met or short are said in the table; `--only` alone refreshes the ledger times."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

RESULTS = {
    "date": "2026-12-01", "machine": "x86_64, 2 cores, no GPU", "load_start": 0.4, "load_end": 1.5,
    "extraction": {"images": 1000, "image_size": 64, "torch_course_img_s": 555.0, "torch_bare_img_s": 531.0,
                   "torch_ratio": 1.04, "goal": 0.9, "torch_png_img_s": 460.0, "torch_png_ratio": 0.89,
                   "keras_course_img_s": 800.0, "keras_bare_img_s": 1000.0, "keras_ratio": 0.8},
    "cache": {"images": 500, "by_epochs": {"30": {
        "epochs": 30, "cached_s": 0.85, "head_only_s": 0.3, "recompute_s": 16.8, "ratio": 19.8, "limit": 30,
        "goal": 24.0, "same_head": True}}},
}


def test_the_table_says_which_goals_are_met():
    md = bench.markdown(RESULTS)
    assert "| 1.04 | >= 0.9 (met) |" in md
    assert "| 0.80 | >= 0.9 (**short**) |" in md
    assert "| E = 30 | 0.85 s | 0.30 s | 16.8 s | 19.8 | 30 | >= 24.0 (**short**) | True |" in md
    assert "(recompute - head) / (cached - head) = 30.0 at E = 30" in md


def test_only_without_sections_keeps_the_measurements_and_rereads_the_ledger(tmp_path, monkeypatch):
    out_json, readme = tmp_path / "results.json", tmp_path / "README.md"
    monkeypatch.setattr(bench, "OUT_JSON", out_json)
    monkeypatch.setattr(bench, "OUT_MD", tmp_path / "results.md")
    monkeypatch.setattr(bench, "README", readme)
    monkeypatch.setattr(bench, "ledger_times", lambda: {"02_x": {"cpu": {"mean": 359.3}}})
    readme.write_text("x\n<!-- bench:begin -->\nSTALE TABLE\n<!-- bench:end -->\n")
    with pytest.raises(SystemExit):  # nothing measured yet: nothing to keep
        bench.main(["--only"])
    out_json.write_text(json.dumps(RESULTS))
    assert bench.main(["--only"]) == 0
    res = json.loads(out_json.read_text())
    assert res["extraction"] == RESULTS["extraction"] and res["load_start"] == 0.4
    assert res["ledger_times"] == {"02_x": {"cpu": {"mean": 359.3}}}
    assert "| 02_x | - | 359 |" in readme.read_text() and "STALE TABLE" not in readme.read_text()
