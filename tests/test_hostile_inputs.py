"""Issue 23: the surfaces a learner touches under hostile or tired input. Nothing a learner owns is
deleted, nothing corrupt is believed, every error names the file (line, field or setting) and what
to do, and no write leaves half a file or a temporary file behind (a full disk is simulated)."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tlcourse as tl
from tlcourse import build as nbbuild
from tlcourse import interview as iv
from tlcourse import profiles
from tlcourse import validate as v
from tlcourse import workspace as ws
from tlcourse.data import detection as det
from tlcourse.data import series as S

ROOT = Path(__file__).resolve().parent.parent


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, "No space left on device")


def nb(text: str) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "source": text}]})


# --------------------------------------------------------------------- 1. a learner's files are sacred


@pytest.fixture(scope="module")
def site():
    return load_script("build_site")


def test_site_refuses_a_folder_it_did_not_make_before_running_anything(site, tmp_path, monkeypatch, capsys):
    mine = tmp_path / "workspace"
    mine.mkdir()
    (mine / "03_fine_tuning.ipynb").write_text("my answers")
    monkeypatch.setattr(site, "execute", lambda *a: pytest.fail("a notebook ran"))
    monkeypatch.setattr(sys, "argv", ["build_site.py", "--out", str(mine)])
    with pytest.raises(SystemExit, match="was not built by build_site.py.*nothing in it was touched"):
        site.main()
    assert [p.name for p in mine.iterdir()] == ["03_fine_tuning.ipynb"]
    assert (mine / "03_fine_tuning.ipynb").read_text() == "my answers"


def test_site_replaces_only_its_own_or_an_empty_folder(site, tmp_path):
    def built(text: str) -> Path:
        new = tmp_path / f".new-{text}"
        new.mkdir()
        (new / site.SITE_MARKER).write_text("")
        (new / "index.html").write_text(text)
        return new

    out = tmp_path / "site"
    site.swap_in(built("one"), out)  # absent
    site.swap_in(built("two"), out)  # made by the script
    assert (out / "index.html").read_text() == "two" and sorted(p.name for p in tmp_path.iterdir()) == ["site"]
    empty = tmp_path / "empty"
    empty.mkdir()
    site.swap_in(built("three"), empty)
    assert (empty / "index.html").read_text() == "three"
    for foreign in (ROOT / "notebooks", ROOT):
        with pytest.raises(SystemExit, match="was not built by build_site.py"):
            site.check_out(foreign)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(SystemExit, match="is a file"):
        site.check_out(afile)
    link = tmp_path / "link"
    link.symlink_to(out)
    with pytest.raises(SystemExit, match="symbolic link"):
        site.check_out(link)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "00_start_here.ipynb").write_text(nb("course 00"))
    (folder / "03_fine_tuning.ipynb").write_text(nb("course 03"))
    return folder


@pytest.mark.parametrize("name", ["notebooks", "solutions", "tlcourse", "notebooks/sub", "."])
def test_workspace_may_not_be_a_course_folder(name):
    target = (ws.COURSE_ROOT / name) if name != "." else ws.COURSE_ROOT
    before = {p: p.stat().st_mtime_ns for p in (ws.COURSE_ROOT / "notebooks").iterdir()}
    for call in (lambda: ws.sync(target), lambda: ws.reset("03", target)):
        with pytest.raises(ws.WorkspaceError, match="WORKSPACE .* is the course's"):
            call()
    assert {p: p.stat().st_mtime_ns for p in (ws.COURSE_ROOT / "notebooks").iterdir()} == before
    assert not (ws.COURSE_ROOT / "notebooks" / "sub").exists()


def test_workspace_command_line_refuses_notebooks_without_a_traceback(tmp_path):
    run = subprocess.run([sys.executable, "-m", "tlcourse.workspace", "--workspace", "notebooks", "reset", "03"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 1 and "is the course's folder" in run.stderr and "Traceback" not in run.stderr
    assert not list((ROOT / "notebooks").glob("*before-reset*"))


def test_workspace_refuses_a_symlink_into_the_course_folder(tmp_path, course):
    link = tmp_path / "ws-link"
    link.symlink_to(course)
    with pytest.raises(ws.WorkspaceError, match="is the course's folder"):
        ws.sync(link, course)


def test_moved_aside_files_are_never_taken_for_the_course_copy(tmp_path, course):
    (course / "03_fine_tuning.before-reset-20260101-000000.ipynb").write_text(nb("someone's old copy"))
    (course / "03_fine_tuning.ipynb").unlink()
    with pytest.raises(ws.WorkspaceError, match="matches no lesson"):
        ws.reset("03", tmp_path / "w", course)
    assert ws.sync(tmp_path / "w", course)["added"] == ["00_start_here.ipynb"]


@pytest.mark.parametrize("content", [b"[]", b"null", b'"x"', b"42", b'{"copied": []}', b'{"copied": null}',
                                     b"{}", b"\xff\xfe{\x00", b"garbage{", b""])  # fmt: skip
def test_damaged_workspace_record_is_replaced_not_fatal(tmp_path, course, content):
    work = tmp_path / "w"
    work.mkdir()
    (work / ws.RECORD).write_bytes(content)
    with pytest.warns(UserWarning, match=r"\.tlcourse-workspace\.json is damaged"):
        res = ws.sync(work, course)
    assert res["added"] == ["00_start_here.ipynb", "03_fine_tuning.ipynb"]
    assert json.loads((work / ws.RECORD).read_text())["copied"].keys() == {"00_start_here.ipynb",
                                                                            "03_fine_tuning.ipynb"}  # fmt: skip


def test_damaged_record_on_the_command_line_is_a_note(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    (work / ws.RECORD).write_text("[]")
    run = subprocess.run([sys.executable, "-m", "tlcourse.workspace", "--workspace", str(work), "sync"],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0 and "note:" in run.stderr and "damaged" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and (work / "00_start_here.ipynb").is_file()


def test_full_disk_leaves_no_temporary_file_and_the_old_record(tmp_path, course, monkeypatch):
    work = tmp_path / "w"
    ws.sync(work, course)
    record = (work / ws.RECORD).read_bytes()
    (course / "05_yolo_detection.ipynb").write_text(nb("course 05"))

    def short_write(src, dst, *a, **k):  # writes half, then the disk is full
        Path(dst).write_bytes(Path(src).read_bytes()[:5])
        enospc()

    monkeypatch.setattr(ws.shutil, "copyfile", short_write)
    with pytest.raises(OSError):
        ws.sync(work, course)
    monkeypatch.undo()
    monkeypatch.setattr(os, "fsync", enospc)
    with pytest.raises(OSError):
        ws.sync(work, course)  # the lesson is copied, the record write fails
    assert sorted(p.name for p in work.iterdir()) == [ws.RECORD, "00_start_here.ipynb", "03_fine_tuning.ipynb",
                                                      "05_yolo_detection.ipynb"]  # fmt: skip
    assert (work / ws.RECORD).read_bytes() == record
    assert (work / "05_yolo_detection.ipynb").read_text() == nb("course 05")


def test_write_atomic_keeps_the_old_file_and_its_mode(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    target.write_text("old")
    target.chmod(0o640)
    v.write_atomic(target, "new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640
    monkeypatch.setattr(os, "replace", enospc)
    with pytest.raises(OSError):
        v.write_atomic(target, "newer")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]
