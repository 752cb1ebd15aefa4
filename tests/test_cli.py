"""The command line: status, fetch errors, doctor, bundle/import round trip on real assets."""

from __future__ import annotations

import subprocess
import sys

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
