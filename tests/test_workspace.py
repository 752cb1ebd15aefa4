"""tlcourse.workspace: the learner's copies are never overwritten; reset moves them aside."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from workspace_helpers import nb

import tlcourse as tl
from tlcourse import workspace as ws


def test_first_sync_copies_every_lesson(tmp_path, course):
    work = tmp_path / "workspace"
    res = ws.sync(work, course)
    assert res == {"added": ["00_start_here.ipynb", "03_fine_tuning.ipynb"], "kept": [], "updated": []}
    for name in res["added"]:
        assert (work / name).read_bytes() == (course / name).read_bytes()


def test_learner_files_are_never_overwritten_and_new_lessons_appear(tmp_path, course):
    work = tmp_path / "workspace"
    ws.sync(work, course)
    (work / "03_fine_tuning.ipynb").write_text(nb("my answers + outputs"))
    (work / "my_notes.ipynb").write_text(nb("mine"))
    # a course update: lesson 03 changes, lesson 05 is added
    (course / "03_fine_tuning.ipynb").write_text(nb("course 03, version 2"))
    (course / "05_yolo_detection.ipynb").write_text(nb("course 05"))
    res = ws.sync(work, course)
    assert res["added"] == ["05_yolo_detection.ipynb"]
    assert res["kept"] == ["00_start_here.ipynb", "03_fine_tuning.ipynb"]
    assert res["updated"] == ["03_fine_tuning.ipynb"]
    assert (work / "03_fine_tuning.ipynb").read_text() == nb("my answers + outputs")
    assert (work / "my_notes.ipynb").read_text() == nb("mine")
    assert (work / "05_yolo_detection.ipynb").read_text() == nb("course 05")
    assert ws.sync(work, course)["added"] == []  # nothing new the second time


def test_reset_moves_the_learner_copy_aside(tmp_path, course):
    work = tmp_path / "workspace"
    ws.sync(work, course)
    (work / "03_fine_tuning.ipynb").write_text(nb("my answers"))
    dest, moved = ws.reset("03", work, course)
    assert dest == work / "03_fine_tuning.ipynb" and dest.read_text() == nb("course 03")
    assert re.fullmatch(r"03_fine_tuning\.before-reset-\d{8}-\d{6}\.ipynb", moved.name)
    assert moved.parent == work and moved.read_text() == nb("my answers")
    # a second reset in the same second keeps both earlier files
    dest.write_text(nb("second try"))
    _, moved2 = ws.reset("03_fine_tuning.ipynb", work, course)
    assert moved2 != moved and moved2.read_text() == nb("second try")
    assert moved.read_text() == nb("my answers")
    assert ws.sync(work, course)["updated"] == []  # reset took the course's current copy


def test_reset_of_a_missing_copy_just_copies(tmp_path, course):
    dest, moved = ws.reset("00_start_here", tmp_path / "w", course)
    assert moved is None and dest.read_text() == nb("course 00")


@pytest.mark.parametrize("name,match", [("7", "matches no lesson"), ("fine", "matches no lesson")])
def test_reset_unknown_lesson_names_the_known_ones(tmp_path, course, name, match):
    with pytest.raises(ws.WorkspaceError, match=f"{match}.*00_start_here, 03_fine_tuning"):
        ws.reset(name, tmp_path / "w", course)
    assert not (tmp_path / "w").exists() or not any((tmp_path / "w").iterdir())


def test_only_the_registrys_lessons_are_lessons(tmp_path, course):
    """A notebook the registry does not know (a moved-aside copy, a learner's own) is never handed out."""
    (course / "03_other.ipynb").write_text(nb("x"))
    (course / "03_fine_tuning.before-reset-20260101-000000.ipynb").write_text(nb("old"))
    assert ws.resolve_lesson("03", course).name == "03_fine_tuning.ipynb"
    assert ws.sync(tmp_path / "w", course)["added"] == ["00_start_here.ipynb", "03_fine_tuning.ipynb"]
    with pytest.raises(ws.WorkspaceError, match="'03_other' matches no lesson"):
        ws.resolve_lesson("03_other", course)


def test_empty_course_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ws.WorkspaceError, match="No lesson notebooks"):
        ws.sync(tmp_path / "w", tmp_path / "empty")


def test_real_course_notebooks_resolve_by_number():
    for lesson in tl.lessons.all_lessons():
        assert ws.resolve_lesson(lesson.number) == lesson.student()


def test_command_line_sync_and_reset(tmp_path):
    work = tmp_path / "w"
    env = {**os.environ, "TLCOURSE_WORKSPACE": str(work)}
    cmd = [sys.executable, "-m", "tlcourse.workspace"]
    out = subprocess.run([*cmd, "sync"], env=env, capture_output=True, text=True, check=True).stdout
    assert "new: 00_start_here.ipynb" in out and (work / "00_start_here.ipynb").is_file()
    (work / "00_start_here.ipynb").write_text(nb("mine"))
    out = subprocess.run([*cmd, "reset", "00"], env=env, capture_output=True, text=True, check=True).stdout
    assert "moved aside" in out
    assert [p.read_text() for p in work.glob("00_start_here.before-reset-*.ipynb")] == [nb("mine")]
    bad = subprocess.run([*cmd, "reset", "99"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "matches no lesson" in bad.stderr
