"""The ledger: summaries over seeds, merging runs (same seed replaces, changed code drops), the lock."""

from __future__ import annotations

import json
import multiprocessing
import time
from types import SimpleNamespace
from typing import Any

import filelock  # noqa: F401  (imported before forking: the children only take the lock)
import pytest

from tlcourse import ledger


def run(seconds: float, **values: float) -> dict:
    return {"seconds": seconds, "date": "2026-12-01 07:00 UTC", "machine": "test", "threads": "2",
            "load_start": 0.1, "load_end": 0.2, "values": values}  # fmt: skip


def merge(data: dict, seed: int, r: dict, code: str = "c1", notebook: str = "03_x") -> str | None:
    return ledger.merge_run(data, profile="cpu", notebook=notebook, lesson="x", code=code,
                            seed=seed, run=r)  # fmt: skip


def test_stats_use_the_sample_standard_deviation():
    st = ledger.stats([0.70, 0.72, 0.74])
    assert st["mean"] == pytest.approx(0.72) and st["std"] == pytest.approx(0.02)
    assert (st["min"], st["max"], st["n"]) == (0.70, 0.74, 3)
    assert ledger.stats([0.5])["std"] == 0.0
    with pytest.raises(ValueError):
        ledger.stats([])


def test_merge_summarises_every_seed_and_a_seed_replaces_itself():
    data: dict = {}
    assert merge(data, 42, run(100, acc=0.70)) is None
    merge(data, 43, run(110, acc=0.72, loss=1.0))
    merge(data, 44, run(120, acc=0.74))
    entry = data["profiles"]["cpu"]["03_x"]
    assert list(entry["runs"]) == ["42", "43", "44"]
    assert entry["summary"]["seconds"] == {"mean": 110, "min": 100, "max": 120, "n": 3}
    assert entry["summary"]["values"]["acc"]["n"] == 3
    assert entry["summary"]["values"]["loss"] == {"mean": 1.0, "std": 0.0, "min": 1.0, "max": 1.0, "n": 1}
    merge(data, 42, run(90, acc=0.80))  # a re-run of seed 42 replaces the old seed-42 run
    acc = data["profiles"]["cpu"]["03_x"]["summary"]["values"]["acc"]
    assert acc["n"] == 3 and acc["max"] == 0.80 and acc["min"] == 0.72


def test_merge_drops_runs_of_older_code_and_says_so():
    data: dict = {}
    merge(data, 42, run(100, acc=0.70))
    merge(data, 43, run(100, acc=0.71))
    note = merge(data, 44, run(100, acc=0.90), code="c2")
    assert note and "42, 43" in note and "dropped" in note
    entry = data["profiles"]["cpu"]["03_x"]
    assert list(entry["runs"]) == ["44"] and entry["code"] == "c2"
    assert entry["summary"]["values"]["acc"]["mean"] == 0.90


def test_merge_rejects_a_run_without_numbers_or_seconds():
    with pytest.raises(ValueError, match="values"):
        merge({}, 42, {"seconds": 1.0})


def test_expected_check_and_seconds_read_what_merge_wrote(tmp_path, capsys):
    path = tmp_path / "results.json"
    with ledger.locked(path) as data:
        for seed, acc in zip((42, 43, 44), (0.70, 0.72, 0.74), strict=True):
            merge(data, seed, run(60 + seed - 42, acc=acc))
    cfg = SimpleNamespace(profile="cpu", lesson="x", seed=42)
    exp = ledger.expected(cfg, "acc", path)
    assert exp is not None and exp.n == 3 and exp.tolerance() == pytest.approx(0.06)
    assert ledger.check(cfg, "acc", 0.75, path=path) is True
    with pytest.raises(AssertionError, match="ledger measured"):
        ledger.check(cfg, "acc", 0.80, path=path)
    assert ledger.check(cfg, "acc", 0.99, applies=False, path=path) is False
    assert ledger.check(SimpleNamespace(profile="smoke", lesson="x", seed=42), "acc", 0.5, path=path) is False
    assert "no ledger entry for the smoke profile" in capsys.readouterr().out
    assert ledger.seconds("03_x", "cpu", path) == {"mean": 61, "min": 60, "max": 62, "n": 3}
    assert ledger.seconds("03_x", "smoke", path) is None


def test_table_records_checks_and_shows_the_ledger(tmp_path, monkeypatch):
    path, rec = tmp_path / "results.json", tmp_path / "record.jsonl"
    with ledger.locked(path) as data:
        for seed, acc in zip((42, 43, 44), (0.70, 0.72, 0.74), strict=True):
            merge(data, seed, run(60, acc=acc))
    monkeypatch.setenv("TLCOURSE_RECORD", str(rec))
    cfg = SimpleNamespace(profile="cpu", lesson="x", seed=42)
    frame = ledger.table(cfg, {"acc": 0.71, "new": 0.5}, path=path).data
    assert frame.loc["acc", "ledger mean"] == pytest.approx(0.72) and frame.loc["acc", "seeds"] == 3
    assert frame.loc["new", "seeds"] == 0 and frame.loc["new", "this run"] == 0.5
    assert [json.loads(line)["key"] for line in rec.read_text().splitlines()] == ["acc", "new"]
    with pytest.raises(AssertionError, match="ledger measured"):
        ledger.table(cfg, {"acc": 0.90}, path=path)


def test_record_appends_one_json_line_per_number(tmp_path, monkeypatch):
    target = tmp_path / "rec.jsonl"
    monkeypatch.setenv("TLCOURSE_RECORD", str(target))
    cfg = SimpleNamespace(profile="cpu", lesson="x", seed=43)
    assert ledger.record(cfg, "acc", 0.5) == 0.5
    ledger.record(cfg, "f1", 0.25, quiet=True)
    lines = [json.loads(x) for x in target.read_text().splitlines()]
    assert lines == [{"lesson": "x", "profile": "cpu", "seed": 43, "key": "acc", "value": 0.5},
                     {"lesson": "x", "profile": "cpu", "seed": 43, "key": "f1", "value": 0.25}]  # fmt: skip
    with pytest.raises(ValueError, match="finite"):
        ledger.record(cfg, "acc", float("nan"))


def test_locked_does_not_write_when_the_body_fails(tmp_path):
    path = tmp_path / "results.json"
    with ledger.locked(path) as data:
        merge(data, 42, run(1, acc=0.5))
    before = path.read_text()
    with pytest.raises(RuntimeError), ledger.locked(path) as data:
        data["profiles"].clear()
        raise RuntimeError("a run failed half-way")
    assert path.read_text() == before


def _writer(path: str, notebook: str, n: int, barrier: Any) -> None:
    from pathlib import Path

    barrier.wait()  # both processes start merging at the same moment
    for seed in range(42, 42 + n):
        with ledger.locked(Path(path)) as data:
            time.sleep(0.01)  # between read and write: without the lock the other one's run is lost
            merge(data, seed, run(1.0, acc=0.5), notebook=notebook)


def test_parallel_writers_lose_nothing(tmp_path):
    """Two processes merging different notebooks at once: every run of both ends up in the file."""
    path = tmp_path / "results.json"
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(path), nb, 10, barrier)) for nb in ("02_a", "03_b")]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
    finally:
        for p in procs:
            p.kill()
    notebooks = ledger.load(path)["profiles"]["cpu"]
    assert {nb: len(e["runs"]) for nb, e in notebooks.items()} == {"02_a": 10, "03_b": 10}
