"""See the room: exercise results kept in the learner's workspace, exported, and summarised per exercise."""

from __future__ import annotations

import json

import pytest

import tlcourse as tl
from tlcourse import room
from tlcourse.__main__ import main
from tlcourse.workspace import RECORD


def _is_42(a):
    return None if a == 42 else f"{a} is not the answer" + (" (off by one)" if abs(a - 42) == 1 else "")


def _workspace(path, monkeypatch, lesson="03_fine_tuning"):
    path.mkdir()
    (path / RECORD).write_text("{}")
    monkeypatch.chdir(path)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path / f"{lesson}.ipynb"))
    return path


def _learner(ws, answers):
    for answer in answers:
        try:
            tl.checks.exercise("Exercise 1: the answer", answer, _is_42, "six times seven")
        except AssertionError:
            pass
    tl.checks.exercise("Exercise 2: untouched", None, _is_42, "later")


def test_exercise_records_each_outcome_in_the_workspace(tmp_path, monkeypatch):
    ws = _workspace(tmp_path / "ws", monkeypatch)
    _learner(ws, [41, 42])
    lines = [json.loads(ln) for ln in (ws / room.RESULTS).read_text().splitlines()]
    assert [(r["lesson"], r["exercise"], r["status"], r["diagnosis"]) for r in lines] == [
        ("03_fine_tuning", "Exercise 1: the answer", "wrong", "41 is not the answer (off by one)"),
        ("03_fine_tuning", "Exercise 1: the answer", "solved", ""),
        ("03_fine_tuning", "Exercise 2: untouched", "not attempted", "")]


def test_outside_a_workspace_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # e.g. the tests, or notebooks/: no workspace record here
    tl.checks.exercise("Exercise 1: the answer", 42, _is_42, "six times seven")
    assert list(tmp_path.iterdir()) == []


def test_export_and_summary_count_learners_per_exercise(tmp_path, monkeypatch, capsys):
    exports = []
    for name, answers in (("ana", [41, 42]), ("ben", [41]), ("cy", [43, 41]), ("dee", [])):
        ws = _workspace(tmp_path / name, monkeypatch)
        _learner(ws, answers)
        if name == "ben":
            with (ws / room.RESULTS).open("a") as f:
                f.write('{"status": "solv')  # a line cut short (a killed kernel): skipped
        out = tmp_path / f"results-{name}.json"
        assert main(["room", "export", str(out), "--workspace", str(ws), "--name", name]) == 0
        exports.append(out)
    rows = {r["exercise"]: r for r in room.summary(exports)}
    first = rows["Exercise 1: the answer"]
    assert (first["learners"], first["solved"], first["stuck"], first["not attempted"]) == (4, 1, 2, 1)
    # each learner counted once per diagnosis: "41 ... off by one" by ana, ben and cy; "43 ..." by cy only
    assert first["most common wrong answer"] == "41 is not the answer (off by one) (3 learners)"
    second = rows["Exercise 2: untouched"]
    assert (second["solved"], second["stuck"], second["not attempted"]) == (0, 0, 4)
    capsys.readouterr()
    assert main(["room", "summary", *map(str, exports)]) == 0
    out = capsys.readouterr().out
    assert "Exercise 1: the answer" in out and "1/4" in out and "(3 learners)" in out


def test_summary_of_a_file_that_is_no_export_names_it(tmp_path, capsys):
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="notes.json: not an export"):
        room.summary([bad])
    assert main(["room", "summary", str(bad)]) == 1
    assert "notes.json" in capsys.readouterr().err


def test_export_without_results_says_what_to_do(tmp_path, capsys):
    assert main(["room", "export", str(tmp_path / "r.json"), "--workspace", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no exercise results in" in err and "make lab" in err
    assert not (tmp_path / "r.json").exists()
