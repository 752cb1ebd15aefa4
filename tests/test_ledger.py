"""The ledger: summaries over seeds, merging runs (same seed replaces, changed code drops), the lock."""

from __future__ import annotations

import json
import multiprocessing
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tlcourse import ledger


def run(seconds: float, **values: float) -> dict:
    return {"seconds": seconds, "date": "2026-12-01 07:00 UTC", "machine": "test", "threads": "2",
            "load_start": 0.1, "load_end": 0.2, "values": values}


def merge(data: dict, seed: int, r: dict, code: str = "c1", notebook: str = "03_x") -> str | None:
    return ledger.merge_run(data, profile="cpu", notebook=notebook, lesson="x", code=code,
                            seed=seed, run=r)


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
    # a prediction interval for one new run: t(1 - 0.0000417, 2) = 109.54, times 0.02 * sqrt(4/3)
    assert exp is not None and exp.n == 3 and exp.tolerance() == pytest.approx(109.54 * 0.02 * (4 / 3) ** 0.5, rel=1e-3)
    assert exp.tolerance(min_tol=5.0) == 5.0
    assert ledger.check(cfg, "acc", 0.80, path=path) is True  # the old max(range, 3 std) = 0.06 failed this
    with pytest.raises(AssertionError, match="ledger measured"):
        ledger.check(cfg, "acc", 3.5, path=path)
    assert ledger.check(cfg, "acc", 0.99, applies=False, path=path) is False
    assert ledger.check(SimpleNamespace(profile="smoke", lesson="x", seed=42), "acc", 0.5, path=path) is False
    assert "the ledger has no entry for the smoke profile" in capsys.readouterr().out
    assert ledger.seconds("03_x", "cpu", path) == {"mean": 61, "min": 60, "max": 62, "n": 3}
    assert ledger.seconds("03_x", "smoke", path) is None
    with ledger.locked(path) as data:  # more seeds, a narrower interval: t(.., 4) = 16.28
        for seed, acc in ((45, 0.71), (46, 0.73)):
            merge(data, seed, run(60, acc=acc))
    assert ledger.expected(cfg, "acc", path).tolerance() == pytest.approx(16.28 * 0.0158114 * 1.2**0.5, rel=1e-3)
    with pytest.raises(AssertionError, match="allowed distance 0.282"):
        ledger.check(cfg, "acc", 1.05, path=path)


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
        ledger.table(cfg, {"acc": 3.5}, path=path)


def test_spread_shows_the_ledger_under_the_lessons_own_row_labels_and_records_nothing(tmp_path, monkeypatch):
    """What lessons 06 (ledger_spread) and 07 (ledger_cell) rendered by hand: the ledger's columns for
    their own table's rows."""
    path, rec = tmp_path / "results.json", tmp_path / "record.jsonl"
    with ledger.locked(path) as data:
        for seed, acc in zip((42, 43, 44), (0.70, 0.72, 0.74), strict=True):
            merge(data, seed, run(60, acc=acc, f1=0.5))
    monkeypatch.setenv("TLCOURSE_RECORD", str(rec))
    cfg = SimpleNamespace(profile="cpu", lesson="x", seed=42)
    frame = ledger.spread(cfg, {("24 h", "scratch"): "acc", ("24 h", "frozen"): "nope"}, path=path)
    assert list(frame.columns) == ["ledger mean", "std", "min", "max", "seeds"]
    assert frame.loc[("24 h", "scratch")].tolist() == pytest.approx([0.72, 0.02, 0.70, 0.74, 3])
    assert frame.loc[("24 h", "frozen"), "seeds"] == 0 and np.isnan(frame.loc[("24 h", "frozen"), "ledger mean"])
    plain = ledger.spread(cfg, ["f1", "acc"], path=path)
    assert list(plain.index) == ["f1", "acc"] and plain.loc["f1", "std"] == 0.0
    assert not rec.exists()  # read only: nothing recorded
    ours = pd.DataFrame({"val": [0.1, 0.2]}, index=pd.MultiIndex.from_tuples([("24 h", "scratch"), ("24 h", "frozen")]))
    assert ours.join(frame).loc[("24 h", "scratch"), "ledger mean"] == pytest.approx(0.72)


def test_record_appends_one_json_line_per_number(tmp_path, monkeypatch):
    target = tmp_path / "rec.jsonl"
    monkeypatch.setenv("TLCOURSE_RECORD", str(target))
    cfg = SimpleNamespace(profile="cpu", lesson="x", seed=43)
    assert ledger.record(cfg, "acc", 0.5) == 0.5
    ledger.record(cfg, "f1", 0.25, quiet=True)
    lines = [json.loads(x) for x in target.read_text().splitlines()]
    assert lines == [{"lesson": "x", "profile": "cpu", "seed": 43, "key": "acc", "value": 0.5},
                     {"lesson": "x", "profile": "cpu", "seed": 43, "key": "f1", "value": 0.25}]
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


def test_check_compares_in_any_profile_from_three_seeds(tmp_path, capsys):
    """The smoke profile too: `make test` compares once the smoke ledger has 3 seeds."""
    path = tmp_path / "results.json"
    cfg = SimpleNamespace(profile="smoke", lesson="x", seed=42)
    with ledger.locked(path) as data:
        for seed, acc in ((42, 0.5), (43, 0.52)):
            ledger.merge_run(data, profile="smoke", notebook="03_x", lesson="x", code="c", seed=seed,
                             run=run(1, acc=acc))
    assert ledger.check(cfg, "acc", 0.5, path=path) is False
    assert "has 2 seed(s) for the smoke profile, fewer than 3" in capsys.readouterr().out
    with ledger.locked(path) as data:
        ledger.merge_run(data, profile="smoke", notebook="03_x", lesson="x", code="c", seed=44, run=run(1, acc=0.54))
    assert ledger.check(cfg, "acc", 0.5, path=path) is True
    with pytest.raises(AssertionError):
        ledger.check(cfg, "acc", 9.0, path=path)


def test_the_ledger_in_use_can_be_another_file(tmp_path, monkeypatch):
    path = tmp_path / "trial.json"
    with ledger.locked(path) as data:
        for seed in (42, 43, 44):
            merge(data, seed, run(1, acc=0.5 + seed / 1000))
    monkeypatch.setenv("TLCOURSE_LEDGER", str(path))
    assert ledger.default_path() == path
    assert ledger.expected(SimpleNamespace(profile="cpu", lesson="x", seed=42), "acc").n == 3
    monkeypatch.delenv("TLCOURSE_LEDGER")
    assert ledger.default_path() == ledger.LEDGER


def _five_seeds(path, a, b):
    with ledger.locked(path) as data:
        for i, seed in enumerate(range(42, 42 + len(a))):
            merge(data, seed, run(1, a=a[i], b=b[i]))


def test_claim_follows_the_rule_over_the_ledgers_seeds(tmp_path, capsys):
    path = tmp_path / "results.json"
    cfg = SimpleNamespace(profile="cpu", lesson="x", seed=42)
    _five_seeds(path, [0.82, 0.83, 0.84, 0.85, 0.86], [0.80] * 5)
    c = ledger.claim(cfg, "a", "b", expect="A>B", this_run=0.03, path=path)
    assert c.verdict == "A>B" and c.n == 5
    out = capsys.readouterr().out
    assert "a - b: +0.040 +/- 0.016" in out and "a beats b" in out and "this run: +0.030" in out
    with pytest.raises(AssertionError, match="the ledger's seeds say 'A>B'"):
        ledger.claim(cfg, "a", "b", expect="no reliable difference", path=path)
    with pytest.raises(AssertionError, match="this run's a - b = \\+0.500"):
        ledger.claim(cfg, "a", "b", expect="A>B", this_run=0.5, path=path)
    # a learner's own parameters: printed, never asserted
    assert ledger.claim(cfg, "a", "b", expect="B>A", applies=False, path=path).verdict == "A>B"
    # a gain against a constant, and a difference that flips on one seed
    flip = tmp_path / "flip.json"
    _five_seeds(flip, [0.05, 0.06, 0.07, 0.08, -0.001], [0.0] * 5)
    assert ledger.claim(cfg, "a", 0.0, expect="no reliable difference", this_run=-0.01, path=flip).n == 5
    with pytest.raises(AssertionError, match="'no reliable difference'"):
        ledger.claim(cfg, "a", 0.0, expect="A>B", path=flip)
    with pytest.raises(ValueError, match="expect='A wins'"):
        ledger.claim(cfg, "a", "b", expect="A wins", path=path)


def test_claim_asserts_nothing_with_too_few_seeds(tmp_path, capsys):
    path = tmp_path / "results.json"
    _five_seeds(path, [0.9, 0.9, 0.9], [0.1, 0.1, 0.1])
    cfg = SimpleNamespace(profile="cpu", lesson="x", seed=42)
    assert ledger.claim(cfg, "a", "b", expect="B>A", path=path).verdict == "too few seeds"
    assert "3 paired seed(s) cannot show it: not asserted" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="this run's"):  # the number itself is still checked
        ledger.claim(cfg, "a", "b", expect="B>A", this_run=-50.0, path=path)
    empty = ledger.claim(cfg, "a", "b", expect="A>B", path=tmp_path / "none.json")
    assert empty.n == 0


GOOD_ENTRY = {"lesson": "x", "code": "c", "runs": {"42": {"seconds": 1.0, "values": {"acc": 0.5}}},
              "summary": {"seconds": {"mean": 1.0, "min": 1.0, "max": 1.0, "n": 1},
                          "values": {"acc": {"mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5, "n": 1}}}}


def damaged(old: str, new: str) -> str:
    """A ledger holding GOOD_ENTRY as cpu/03_x, with ``old`` replaced by ``new`` in its JSON text."""
    return json.dumps({"profiles": {"cpu": {"03_x": GOOD_ENTRY}}}).replace(old, new)


@pytest.mark.parametrize(("damage", "message"), [
    (damaged('"std": 0.0', '"std": Infinity'),
     "profiles.cpu.03_x.summary.values.acc.std = inf: must be a finite number"),
    (damaged('"mean": 0.5', '"mean": NaN'),
     "summary.values.acc.mean = nan"),
    (damaged('"std": 0.0', '"std": -0.1'),
     "std = -0.1: must be >= 0"),
    (damaged('"n": 1}}}', '"n": 0}}}'),
     "summary.values.acc.n = 0: must be a whole number >= 1"),
    (damaged('"acc": 0.5}', '"acc": "0.5"}'),
     "runs.42.values.acc = '0.5': must be a finite number"),
    (damaged('"summary"', '"sumary"'),
     "unknown field(s) sumary"),
    ('{"profiles": {"cpu": {"03_x": {"lesson": "x"}}}}', "missing field(s) code, runs, summary"),
    ('{"profiles": []}', "profiles: must be a JSON object, got list"),
    ("[]", "the top level: must be a JSON object"),
    (damaged('"42"', '"latest"'),
     "'latest' is not a seed"),
    ("{not json", "is not valid JSON"),
])
def test_a_damaged_ledger_is_refused_with_the_field_and_what_to_do(tmp_path, damage, message):
    path = tmp_path / "results.json"
    path.write_text(damage)
    cfg = SimpleNamespace(profile="cpu", lesson="x", seed=42)
    for call in (lambda: ledger.load(path), lambda: ledger.check(cfg, "acc", 1e9, path=path),
                 lambda: ledger.seconds("03_x", "cpu", path)):
        with pytest.raises(ledger.LedgerError) as err:
            call()
        assert message in str(err.value) and str(path) in str(err.value)
        assert "git checkout docs/results.json" in str(err.value)


def test_a_failed_write_leaves_the_old_ledger_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    with ledger.locked(path) as data:
        merge(data, 42, run(1, acc=0.5))
    before = path.read_text()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ledger.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"), ledger.locked(path) as data:
        merge(data, 43, run(1, acc=0.6))
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # no temporary file, no lock file


def test_the_ledgers_temporary_files_are_git_ignored():
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    tmp = ledger.LEDGER.with_name(f".{ledger.LEDGER.name}.123.tmp").relative_to(root)
    out = subprocess.run(["git", "check-ignore", str(tmp)], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, f"{tmp} is not git-ignored"


def test_claim_checks_this_runs_recorded_difference_by_default(tmp_path, capsys):
    path = tmp_path / "results.json"
    _five_seeds(path, [0.82, 0.83, 0.84, 0.85, 0.86], [0.80] * 5)
    cfg = SimpleNamespace(profile="cpu", lesson="this_run_test", seed=47)
    with ledger.locked(path) as data:
        data["profiles"]["cpu"]["03_x"]["lesson"] = "this_run_test"
    ledger.record(cfg, "a", 0.83, quiet=True)
    ledger.record(cfg, "b", 0.80, quiet=True)
    ledger.claim(cfg, "a", "b", expect="A>B", path=path)
    assert "this run: +0.030" in capsys.readouterr().out
    ledger.record(cfg, "a", 2.0, quiet=True)  # far outside the ledger's differences
    with pytest.raises(AssertionError, match="this run's a - b = \\+1.200"):
        ledger.claim(cfg, "a", "b", expect="A>B", path=path)
