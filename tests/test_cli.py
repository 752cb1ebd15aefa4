"""The command line: status, fetch errors, doctor, bundle/import round trip on real assets."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

import tlcourse as tl
from tlcourse.__main__ import main


def test_status_lists_every_asset(capsys):
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    for asset_id in tl.assets.load_manifest()["assets"]:
        assert asset_id in out


def test_fetch_unknown_asset_fails_with_message(capsys):
    assert main(["fetch", "nope"]) == 1
    assert "Unknown asset 'nope'" in capsys.readouterr().err


def test_online_only_asset_offline_names_the_offline_switch(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TLCOURSE_CACHE", str(tmp_path))
    monkeypatch.setenv("TLCOURSE_TIMEOUT", "3")
    monkeypatch.setattr(tl.assets.download, "download", _no_network)
    assert main(["fetch", "resnet50_imagenet"]) == 1
    err = capsys.readouterr().err
    assert "online only" in err and "'mobilenet_v2_imagenet'" in err
    assert list(tmp_path.iterdir()) == []


def _no_network(url, dest, *args):
    raise OSError(f"network unreachable (test): {url}")


def test_bundle_and_import_real_asset(tmp_path, monkeypatch, capsys):
    src = tl.fetch("photo_chelsea")  # offline source: the installed scikit-image
    bundle = tmp_path / "b.tar"
    assert main(["bundle", str(bundle), "photo_chelsea"]) == 0
    monkeypatch.setenv("TLCOURSE_CACHE", str(tmp_path / "room"))
    assert main(["import-bundle", str(bundle)]) == 0
    assert (tmp_path / "room" / "photo_chelsea" / "chelsea.png").read_bytes() == (
        src / "chelsea.png"
    ).read_bytes()


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "tlcourse", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "import-bundle" in proc.stdout


# --------------------------------------------------------------------------- status / doctor / env report
# against a temporary cache and a small manifest: which assets are reported present or missing.


@pytest.fixture
def small_course(tmp_path, monkeypatch):
    """Three assets from a local folder: two needed by the smoke profile, one on demand."""
    src = tmp_path / "src"
    src.mkdir()
    specs = {}
    for asset_id, profiles in (("needed_one", ["smoke"]), ("needed_two", ["smoke", "cpu"]),
                               ("on_demand", [])):
        data = asset_id.encode() * 1000
        (src / f"{asset_id}.bin").write_bytes(data)
        specs[asset_id] = {
            "title": asset_id, "type": "data", "license": "test", "profiles": profiles,
            "files": [{"name": f"{asset_id}.bin", "sha256": hashlib.sha256(data).hexdigest(),
                       "size": len(data)}],
            "sources": [{"kind": "dir", "path": str(src)}],
        }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"version": 1, "assets": specs}))
    monkeypatch.setattr(tl.assets.manifest, "MANIFEST_PATH", path)
    monkeypatch.setenv("TLCOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TLCOURSE_PROFILE", "smoke")
    return tmp_path / "cache"


def _marks(out: str) -> dict[str, str]:
    return {ln.split()[1]: ln.split()[0] for ln in out.splitlines() if ln and not ln.startswith(" ")}


def test_status_reports_present_missing_and_damaged(small_course, capsys):
    assert main(["status"]) == 0
    assert _marks(capsys.readouterr().out) == dict.fromkeys(["needed_one", "needed_two", "on_demand"], "missing")
    assert main(["fetch", "needed_one"]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    assert _marks(capsys.readouterr().out) == {"needed_one": "present", "needed_two": "missing",
                                               "on_demand": "missing"}
    victim = small_course / "needed_one" / "needed_one.bin"
    victim.write_bytes(victim.read_bytes()[:-1])  # truncated in the cache
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert _marks(out)["needed_one"] == "damaged" and "fetch needed_one replaces it" in out


def test_doctor_names_exactly_the_missing_assets_of_the_profile(small_course, capsys):
    assert main(["fetch", "needed_one"]) == 0
    capsys.readouterr()
    assert main(["doctor"]) == 1
    problems = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("PROBLEM")]
    assert problems == ["PROBLEM asset needed_two (needed by profile smoke) is missing: "
                        "python -m tlcourse fetch needed_two"]
    assert main(["fetch", "needed_two"]) == 0
    capsys.readouterr()
    assert main(["doctor"]) == 0
    assert "doctor: all good" in capsys.readouterr().out
    # a same-size edit that kept the file's time: status (cheap) cannot see it, doctor re-hashes
    victim = small_course / "needed_two" / "needed_two.bin"
    st = victim.stat()
    victim.write_bytes(bytes(st.st_size))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM asset needed_two is damaged (needed_two.bin changed since it was verified" in out


def test_env_report_lists_present_and_missing_assets(small_course, capsys):
    assert main(["fetch", "needed_two"]) == 0
    text = tl.env_report("unit-test")
    assert "assets      present: needed_two\n" in text + "\n"
    assert "missing: needed_one, on_demand" in text
    assert str(small_course) in text


@pytest.mark.parametrize("setting", ["cache-is-file", "cache-missing-parent-file", "timeout", "profile",
                                     "torch-home-is-file", "deadline"])
@pytest.mark.parametrize("command", [["status"], ["doctor"], ["fetch", "photo_chelsea"],
                                     ["bundle", "{tmp}/b.tar"], ["import-bundle", "{tmp}/nope.tar"],
                                     ["fetch", "--all", "--from-dir", "{tmp}"],
                                     ["build", "--check", "--root", "{tmp}/no-course"]])
def test_no_command_raises_in_a_bad_environment(tmp_path, monkeypatch, capsys, setting, command):
    """Every subcommand, each with one broken setting: an exit code and a message, never an exception."""
    (tmp_path / "afile").write_text("x")
    env = {"cache-is-file": ("TLCOURSE_CACHE", str(tmp_path / "afile")),
           "cache-missing-parent-file": ("TLCOURSE_CACHE", str(tmp_path / "afile" / "c")),
           "timeout": ("TLCOURSE_TIMEOUT", "soon"), "deadline": ("TLCOURSE_DEADLINE", "-1"),
           "profile": ("TLCOURSE_PROFILE", "turbo"),
           "torch-home-is-file": ("TORCH_HOME", str(tmp_path / "afile"))}
    if setting not in ("cache-is-file", "cache-missing-parent-file"):
        monkeypatch.setenv("TLCOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(*env[setting])
    rc = main([part.format(tmp=tmp_path) for part in command])
    captured = capsys.readouterr()
    assert isinstance(rc, int)
    assert "Traceback" not in captured.err + captured.out
    if rc != 0:
        assert captured.err.strip() or "PROBLEM" in captured.out


def test_build_with_a_root_that_is_no_course_says_so(tmp_path, capsys):
    assert main(["build", "--check", "--root", str(tmp_path / "nowhere")]) == 2
    assert "no solutions/ folder" in capsys.readouterr().err
