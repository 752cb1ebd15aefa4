"""The times the course shows (each lesson's Time line, README, 00_start_here) come from the ledger."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from lesson_helpers import register

from tlcourse import ledger
from tlcourse.build import dump

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("sync_times", ROOT / "scripts" / "sync_times.py")
sync_times = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync_times)


def fake_ledger(path: Path) -> None:
    with ledger.locked(path) as data:
        for seed, sec in ((42, 270.0), (43, 300.0), (44, 285.0)):
            ledger.merge_run(data, profile="cpu", notebook="02_x", lesson="x", code="c", seed=seed, run={
                "seconds": sec, "machine": "x86_64 Some CPU, 2 cores, no GPU", "values": {}})
        ledger.merge_run(data, profile="smoke", notebook="02_x", lesson="x", code="c", seed=42,
                         run={"seconds": 44.6, "machine": "x86_64 Some CPU, 2 cores, no GPU", "values": {}})


def test_lesson_time_text_comes_from_the_ledger(tmp_path):
    path = tmp_path / "results.json"
    fake_ledger(path)
    assert sync_times.lesson_time("02_x", path) == (
        "cpu 4.8 min (4.5 min-5.0 min, 3 runs); smoke 45 s (measured by `make verify` on 2 cores, no GPU)")
    assert sync_times.lesson_time("03_y", path) == "cpu not yet measured; smoke not yet measured"
    block = sync_times.readme_block(["02_x", "03_y"], path)
    assert "| `02_x` | 4.8 min (4.5 min-5.0 min, 3 runs) | 45 s |" in block
    assert "| `03_y` | not yet measured | not yet measured |" in block
    with ledger.locked(path) as data:  # a run on a busy machine says so
        ledger.merge_run(data, profile="cpu", notebook="02_x", lesson="x", code="c", seed=45, run={
            "seconds": 285.0, "machine": "x86_64, 2 cores, no GPU", "load_start": 3.5, "values": {}})
    assert sync_times.lesson_time("02_x", path).endswith("on 2 cores, no GPU, busy: load average up to 3.5)")
    with ledger.locked(path) as data:  # verify's own load lingering from the notebook before is not busy
        data["profiles"]["cpu"]["02_x"]["runs"]["45"]["load_start"] = 1.9
    assert sync_times.lesson_time("02_x", path).endswith("on 2 cores, no GPU)")


def test_sync_fills_lessons_and_readme_then_check_is_clean(tmp_path, monkeypatch):
    register(tmp_path / "lessons", monkeypatch, "02_x", "03_y")
    path = tmp_path / "results.json"
    fake_ledger(path)
    (tmp_path / "solutions").mkdir()
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": [
        "# Lesson\n", "**Time:** <!-- tl:time -->measured by make verify<!-- /tl:time -->\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": "x = 1"}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "solutions" / "02_x.ipynb").write_text(dump(nb))
    nb["cells"][0]["source"] = "# No time line"
    (tmp_path / "solutions" / "03_y.ipynb").write_text(dump(nb))
    (tmp_path / "README.md").write_text("# C\n\n<!-- tl:times -->\nold\n<!-- /tl:times -->\nend\n")
    assert sync_times.sync(tmp_path, path, check=True) == ["solutions/02_x.ipynb", "README.md"]
    assert sync_times.sync(tmp_path, path) == ["solutions/02_x.ipynb", "README.md"]
    assert sync_times.sync(tmp_path, path, check=True) == []
    first = json.loads((tmp_path / "solutions" / "02_x.ipynb").read_text())["cells"][0]["source"]
    assert first[1] == ("**Time:** <!-- tl:time -->cpu 4.8 min (4.5 min-5.0 min, 3 runs); smoke 45 s "
                        "(measured by `make verify` on 2 cores, no GPU)<!-- /tl:time -->\n")
    assert "old" not in (tmp_path / "README.md").read_text()
    assert sync_times.missing_markers(tmp_path) == ["03_y.ipynb"]
    (tmp_path / "solutions" / "03_y.ipynb").unlink()  # a registered lesson without its notebook
    with pytest.raises(SystemExit, match="the lesson registry names solutions/03_y.ipynb, which is missing"):
        sync_times.sync(tmp_path, path)


def test_number_blocks_come_from_the_ledgers_runs():
    data: dict = {}
    for seed, (a, b, px) in zip((42, 43, 44), ((0.80, 0.78, 128), (0.82, 0.79, 128), (0.81, 0.77, 96)), strict=True):
        ledger.merge_run(data, profile="cpu", notebook="02_x", lesson="x", code="c", seed=seed,
                         run={"seconds": 1.0, "values": {"a": a, "b": b, "px": px}})
    text = sync_times.number_text
    assert text("02_x", "a", data) == "0.810 +/- 0.010 (range 0.800-0.820)"
    assert text("02_x", "a:mean", data) == "0.810"
    assert text("02_x", "a-b:pts", data) == "+3.0 points (from +2.0 to +4.0)"
    assert text("02_x", "b-a:ptsmean", data) == "-3.0 points"
    assert text("02_x", "px:choice", data) == "128 on 2 of 3 seeds, 96 on 1"
    assert text("02_x", "b-a:acc2", data) == "-0.03 +/- 0.01 (range -0.04 to -0.02)"
    assert text("02_x", "a:mean1", data) == "0.8"
    assert text("02_x", "px:count", data) == "96-128"
    assert text("02_x", "nothing", data) == "not yet measured"
    assert text("03_y", "a", data) == "not yet measured"
    src = "was <!-- tl:num a:mean -->old<!-- /tl:num --> over <!-- tl:seeds -->?<!-- /tl:seeds -->"
    assert sync_times.fill_numbers(src, "02_x", data) == (
        "was <!-- tl:num a:mean -->0.810<!-- /tl:num --> over <!-- tl:seeds -->3 seeds (42, 43, 44)<!-- /tl:seeds -->")
    with pytest.raises(SystemExit, match="unknown format"):
        text("02_x", "a:percent", data)


def test_every_lesson_has_a_time_line():
    assert sync_times.missing_markers(ROOT) == [], (
        "put `**Time:** <!-- tl:time -->measured by make verify<!-- /tl:time -->` in the first cell")


def test_readme_and_lessons_show_the_ledgers_times():
    """The committed README and lessons agree with docs/results.json (else: `make times`)."""
    stale = sync_times.sync(ROOT, ledger.LEDGER, check=True)
    assert not stale, f"times or numbers differ from docs/results.json in {stale}: run `make times`"


def test_a_nan_or_infinite_ledger_number_is_refused_not_written(tmp_path, monkeypatch):
    """`make times` never writes "nan min": the ledger is validated when read, the error names the field."""
    register(tmp_path / "lessons", monkeypatch, "02_x")
    path = tmp_path / "results.json"
    fake_ledger(path)
    text = path.read_text()
    (tmp_path / "solutions").mkdir()
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "**Time:** <!-- tl:time -->x<!-- /tl:time -->"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    lesson = tmp_path / "solutions" / "02_x.ipynb"
    lesson.write_text(dump(nb))
    (tmp_path / "README.md").write_text("<!-- tl:times -->\nold\n<!-- /tl:times -->\n")
    for bad in ('"mean": NaN', '"mean": Infinity'):
        path.write_text(text.replace('"mean": 285.0', bad, 1))
        with pytest.raises(ledger.LedgerError, match=r"profiles.cpu.02_x.summary.seconds.mean = (nan|inf)"):
            sync_times.sync(tmp_path, path)
        assert "nan" not in lesson.read_text() and "old" in (tmp_path / "README.md").read_text()
    with pytest.raises(ValueError, match="finite"):
        sync_times.duration(float("nan"))


def test_main_reports_a_damaged_ledger_without_a_traceback(tmp_path, monkeypatch, capsys):
    path = tmp_path / "results.json"
    path.write_text('{"profiles": {"cpu": {"02_x": {"lesson": "x"}}}}')
    monkeypatch.setattr(sync_times.ledger, "LEDGER", path)
    monkeypatch.delenv("TLCOURSE_LEDGER", raising=False)
    assert sync_times.main(["--check"]) == 2
    err = capsys.readouterr().err
    assert "missing field(s) code, runs, summary" in err and "git checkout docs/results.json" in err


def test_a_failed_write_leaves_the_lesson_and_no_temporary_file(tmp_path, monkeypatch):
    register(tmp_path / "lessons", monkeypatch, "02_x")
    path = tmp_path / "results.json"
    fake_ledger(path)
    (tmp_path / "solutions").mkdir()
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "**Time:** <!-- tl:time -->x<!-- /tl:time -->"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    lesson = tmp_path / "solutions" / "02_x.ipynb"
    lesson.write_text(dump(nb))
    before = lesson.read_text()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ledger.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        sync_times.sync(tmp_path, path)
    assert lesson.read_text() == before
    assert [p.name for p in (tmp_path / "solutions").iterdir()] == ["02_x.ipynb"]
