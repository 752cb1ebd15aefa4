"""Assets under hostile input (issue 8): corrupt data, bad environments, races, size limits,
junk, deadlines, non-atomic bundles. Servers listen on 127.0.0.1 only; caches are temporary."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import types
from pathlib import Path

import pytest
from assets_helpers import (
    PAYLOAD,
    SHA,
    assert_clean_failure,
    blob_manifest,
    cli,
    enospc,
    http_server,
    leftovers,
    manifest,
    run_python,
    safetensors_blob,
    small_disk,
    stalled_server,
)

from tlcourse import assets
from tlcourse.__main__ import main
from tlcourse.assets import AssetError


@pytest.fixture(scope="module")
def server():
    with http_server() as httpd:
        yield httpd


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A temporary cache and torch home for code that uses the defaults (the CLI)."""
    monkeypatch.setenv("TLCOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path


def write_manifest(tmp_path: Path, m: dict) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(m))
    return path


def fetch(m: dict, cache: Path, **kw: object) -> Path:
    return assets.fetch("blob", manifest=m, cache=cache, progress=False, **kw)


# --------------------------------------------------------------------- 1. corrupt data accepted


@pytest.mark.parametrize("kind", ["short", "html", "htmlplain"])
def test_unpinned_file_rejects_short_body_and_error_pages(server, tmp_path, kind):
    """No published checksum: a short body (matching Content-Length) or an HTML page served with
    status 200 must not be pinned as the asset."""
    server.bodies["model.safetensors"] = safetensors_blob(5000)
    server.bodies["config.json"] = json.dumps({"hidden_size": 768, "pad": "x" * 400}).encode()
    m = manifest([{"name": "config.json", "sha256": None}, {"name": "model.safetensors", "sha256": None}],
                 [{"kind": "url", "base": f"{server.url}/{kind}/"}])
    with pytest.raises(AssetError, match="HTML page|not a complete|refusing to pin"):
        fetch(m, tmp_path)
    assert list(tmp_path.iterdir()) == []
    # the real files pass the same checks
    good = manifest(m["assets"]["blob"]["files"], [{"kind": "url", "base": f"{server.url}/good/"}])
    folder = fetch(good, tmp_path)
    assert (folder / "model.safetensors").read_bytes() == safetensors_blob(5000)


def test_unpinned_file_below_min_size_refused(server, tmp_path):
    m = manifest([{"name": "blob.bin", "sha256": None, "min_size": len(PAYLOAD)}],
                 [{"kind": "url", "base": f"{server.url}/short/"}])
    with pytest.raises(AssetError, match="at least"):
        fetch(m, tmp_path)


# Online-only files whose sha256 no source we could read publishes (no network here to hash them): each
# is a fixed release, so the first learner online can pin it; until then a size bound refuses a short body.
UNPINNED = {("yolov5nu_coco", "yolov5nu.pt"),  # min_size only: its byte count is not published either
            ("cats_and_dogs_filtered", "cats_and_dogs_filtered.zip")}  # exact size (68,606,236 bytes)


def test_every_file_is_pinned_by_sha256_but_a_short_explained_list_with_a_size_bound():
    unpinned = set()
    for asset_id, spec in assets.load_manifest()["assets"].items():
        for entry in spec["files"]:
            if not entry.get("sha256"):
                unpinned.add((asset_id, entry["name"]))
                assert entry.get("size", 0) > 0 or entry.get("min_size", 0) > 0, (asset_id, entry["name"])
    assert unpinned == UNPINNED


def test_truncated_cached_file_is_not_present_and_is_refetched(server, tmp_path, capsys):
    m = blob_manifest(f"{server.url}/good/")
    folder = fetch(m, tmp_path)
    target = folder / "blob.bin"
    target.write_bytes(PAYLOAD[:1000])
    assert not assets.is_present("blob", m, tmp_path)
    row = assets.status(m, tmp_path)[0]
    assert row["present"] is False and "bytes" in row["problem"]
    assert fetch(m, tmp_path) == folder
    assert target.read_bytes() == PAYLOAD


def test_same_size_edit_in_cache_is_detected(server, tmp_path):
    m = blob_manifest(f"{server.url}/good/", sha=None)  # pinned on first fetch, no size
    folder = fetch(m, tmp_path)
    data = bytearray(PAYLOAD)
    data[100] ^= 0xFF
    time.sleep(0.01)
    (folder / "blob.bin").write_bytes(bytes(data))
    assert not assets.is_present("blob", m, tmp_path)


def test_hub_install_replaces_a_corrupt_copy_of_the_same_size(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    src = tmp_path / "src"
    src.mkdir()
    (src / "blob.bin").write_bytes(PAYLOAD)
    m = blob_manifest("unused")
    m["assets"]["blob"].update(install="torch_hub", sources=[{"kind": "dir", "path": str(src)}])
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "blob.bin").write_bytes(bytes(len(PAYLOAD)))  # same size, wrong content
    fetch(m, tmp_path / "cache")
    assert (hub / "blob.bin").read_bytes() == PAYLOAD
    # a truncated cache copy is never installed over the good hub copy
    (tmp_path / "cache" / "blob" / "blob.bin").write_bytes(PAYLOAD[:10])
    (hub / "blob.bin").write_bytes(PAYLOAD[:10])
    fetch(m, tmp_path / "cache")
    assert (hub / "blob.bin").read_bytes() == PAYLOAD


def test_import_bundle_over_a_present_asset_still_verifies(server, tmp_path):
    m = blob_manifest(f"{server.url}/good/")
    fetch(m, tmp_path / "cache")
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as tf:
        info = tarfile.TarInfo("blob/blob.bin")
        info.size = len(PAYLOAD)
        tf.addfile(info, io.BytesIO(bytes(len(PAYLOAD))))
    with pytest.raises(AssetError, match="does not match"):
        assets.import_bundle(bad, cache=tmp_path / "cache", manifest=m)
    assert (tmp_path / "cache" / "blob" / "blob.bin").read_bytes() == PAYLOAD


# --------------------------------------------------------------------- 2. one-line errors, no traceback


def test_bad_timeout_setting_is_one_line(isolated, tmp_path):
    path = write_manifest(tmp_path, blob_manifest("http://127.0.0.1:9/"))
    for value in ("abc", "0", "-3", "nan", "inf"):
        proc = cli(["fetch", "blob"], {"TLCOURSE_TIMEOUT": value}, path)
        assert_clean_failure(proc, "TLCOURSE_TIMEOUT", "positive number")
    proc = cli(["fetch", "blob"], {"TLCOURSE_DEADLINE": "soon"}, path)
    assert_clean_failure(proc, "TLCOURSE_DEADLINE")


def test_cache_path_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    proc = cli(["fetch", "photo_chelsea"], {"TLCOURSE_CACHE": str(tmp_path / "afile")})
    assert_clean_failure(proc, "is a file", "TLCOURSE_CACHE")
    proc = cli(["fetch", "photo_chelsea"], {"TLCOURSE_CACHE": str(tmp_path / "afile" / "sub")})
    assert_clean_failure(proc, "TLCOURSE_CACHE")


def test_read_only_cache(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    with small_disk(ro, readonly=True) as mounted:
        if mounted:  # a real read-only file system
            proc = cli(["fetch", "photo_chelsea"], {"TLCOURSE_CACHE": str(ro)})
            assert_clean_failure(proc, "not usable", "TLCOURSE_CACHE")
            return
    # mounting not permitted here: simulate the read-only disk by patching
    monkeypatch.setattr(assets.cache.tempfile, "mkstemp", lambda **kw: enospc())
    with pytest.raises(AssetError, match="not usable"):
        assets.fetch("photo_chelsea", cache=tmp_path / "c", progress=False)


@pytest.mark.parametrize("what", ["file", "dangling-link", "link-to-junk"])
def test_cache_entry_that_is_a_file_or_a_link(tmp_path, what):
    cache = tmp_path / "cache"
    cache.mkdir()
    entry = cache / "photo_chelsea"
    if what == "file":
        entry.write_text("junk")
    elif what == "dangling-link":
        entry.symlink_to(tmp_path / "nowhere")
    else:
        (tmp_path / "junk").mkdir()
        entry.symlink_to(tmp_path / "junk")
    proc = cli(["fetch", "photo_chelsea"], {"TLCOURSE_CACHE": str(cache)})
    assert_clean_failure(proc, str(entry))
    assert os.path.lexists(entry)  # the user's file or link is left alone


def test_full_disk_under_torch_home(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    (src / "blob.bin").write_bytes(PAYLOAD)
    m = blob_manifest("unused")
    m["assets"]["blob"].update(install="torch_hub", sources=[{"kind": "dir", "path": str(src)}])
    torch_home = tmp_path / "torch"
    with small_disk(torch_home, size="100k") as mounted:
        if not mounted:  # simulate ENOSPC by patching the copy into the hub (mount not permitted)
            monkeypatch.setattr(assets.hub, "shutil", types.SimpleNamespace(copyfile=enospc))
        monkeypatch.setenv("TORCH_HOME", str(torch_home))
        with pytest.raises(AssetError, match="TORCH_HOME") as err:
            fetch(m, tmp_path / "cache")
        assert "\n" not in str(err.value)
        hub = torch_home / "hub" / "checkpoints"
        assert leftovers(hub) == [] and not (hub / "blob.bin").exists()  # no partial copy


@pytest.mark.parametrize("kind", ["badlen", "neglen"])
def test_invalid_content_length_is_a_source_failure(server, tmp_path, kind):
    m = blob_manifest(f"{server.url}/{kind}/")
    m["assets"]["blob"]["sources"].append({"kind": "url", "base": f"{server.url}/good/"})
    folder = fetch(m, tmp_path)  # the second source is used
    assert (folder / "blob.bin").read_bytes() == PAYLOAD
    m["assets"]["blob"]["sources"].pop()
    with pytest.raises(AssetError, match="invalid Content-Length"):
        fetch(m, tmp_path / "other")


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w") as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, link
    return info


def test_bad_bundles_give_one_line_bundle_advice(isolated, tmp_path):
    good = tmp_path / "good.tar"
    assert main(["fetch", "photo_chelsea"]) == 0
    assert main(["bundle", str(good), "photo_chelsea"]) == 0
    raw = good.read_bytes()
    png = (isolated / "cache" / "photo_chelsea" / "chelsea.png").read_bytes()
    cases = {
        "missing": tmp_path / "no-such.tar",
        "empty": tmp_path / "empty.tar",
        "truncated": tmp_path / "truncated.tar",
        "garbage": tmp_path / "garbage.tar",
        "hardlink": _tar(tmp_path / "hl.tar", [(_info("photo_chelsea/chelsea.png", kind=tarfile.LNKTYPE,
                                                      link="photo_chelsea/missing.png"), None)]),
        "dotdot": _tar(tmp_path / "dd.tar", [(_info("photo_chelsea/../../x.png", 3), b"bad")]),
        "absolute": _tar(tmp_path / "abs.tar", [(_info("/tmp/x.png", 3), b"bad")]),
        "newline": _tar(tmp_path / "nl.tar", [(_info("photo_chelsea/chel\nsea.png", 3), b"bad")]),
        "fifo": _tar(tmp_path / "fifo.tar", [(_info("photo_chelsea/chelsea.png", kind=tarfile.FIFOTYPE), None)]),
        "extra": _tar(tmp_path / "extra.tar", [(_info("photo_chelsea/notes.txt", 2), b"hi")]),
        "only-unknown": _tar(tmp_path / "unk.tar", [(_info("someone_elses/x.bin", 2), b"hi")]),
        "dir-only": _tar(tmp_path / "dir.tar", [(_info("photo_chelsea", kind=tarfile.DIRTYPE), None)]),
        "wrong-size": _tar(tmp_path / "ws.tar", [(_info("photo_chelsea/chelsea.png", 10), png[:10])]),
    }
    cases["empty"].write_bytes(b"")
    cases["truncated"].write_bytes(raw[: len(raw) // 2])
    cases["garbage"].write_bytes(os.urandom(5000))
    for label, path in cases.items():
        proc = cli(["import-bundle", str(path)])
        line = assert_clean_failure(proc)
        for word in ("network", "proxy", "wi-fi", "pip"):
            assert word not in line.lower(), (label, line)
        assert "bundle" in line.lower(), (label, line)
    assert leftovers(isolated) == [], leftovers(isolated)
    assert sorted(p.name for p in (isolated / "cache").iterdir()) == ["photo_chelsea"]


def test_doctor_with_a_bad_profile_reports_it(isolated):
    proc = cli(["doctor"], {"TLCOURSE_PROFILE": "turbo"})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "PROBLEM TLCOURSE_PROFILE='turbo' is not a profile" in proc.stdout


def test_unexpected_error_is_one_line(isolated, monkeypatch, capsys):
    monkeypatch.setattr(assets, "status", lambda *a, **k: 1 / 0)
    assert main(["status"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "ZeroDivisionError" in err and "TLCOURSE_DEBUG=1" in err


# --------------------------------------------------------------------- 3. two processes at once


RACE = """
import json, os, sys, time
from pathlib import Path
from tlcourse import assets
real = os.replace
def slow(a, b):  # a slow disk: widens the window between 'is it there?' and the rename
    time.sleep(0.5)
    return real(a, b)
os.replace = slow
m = json.loads(Path(sys.argv[1]).read_text())
folder = assets.fetch("blob", manifest=m, cache=Path(sys.argv[2]), progress=False)
assert (folder / "blob.bin").read_bytes()[:4] == bytes(range(4))
print("done", folder)
"""


@pytest.mark.parametrize("round_", range(2))
def test_two_processes_fetch_the_same_asset(server, tmp_path, round_):
    path = write_manifest(tmp_path, blob_manifest(f"{server.url}/slow/"))
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(path), str(cache)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "done" in out
    assert (cache / "blob" / "blob.bin").read_bytes() == PAYLOAD
    assert sorted(p.name for p in cache.iterdir()) == ["blob"]


# --------------------------------------------------------------------- 4. size limits


LIMITED = """
import resource, signal, sys, json
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, 4 << 20))  # a 4 MiB 'disk' per file
from tlcourse import assets
m = json.loads(Path(sys.argv[1]).read_text())
try:
    assets.fetch("blob", manifest=m, cache=Path(sys.argv[2]), progress=False)
except assets.AssetError as exc:
    print(exc)
"""


def fetch_on_small_disk(tmp_path: Path, m: dict) -> str:
    """Fetch in a child whose files may hold at most 4 MiB (RLIMIT_FSIZE): writing on past the
    declared size fails there with 'File too large' instead of filling this machine's disk."""
    proc = subprocess.run(
        [sys.executable, "-c", LIMITED, str(write_manifest(tmp_path, m)), str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert "File too large" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert leftovers(tmp_path / "cache") == []
    return proc.stdout


def test_download_stops_at_the_declared_size(server, tmp_path):
    server.sent["endless"] = 0
    out = fetch_on_small_disk(tmp_path, blob_manifest(f"{server.url}/endless/"))
    assert "more than the 307200 bytes the manifest allows" in out, out
    time.sleep(0.3)
    assert server.sent["endless"] < 20 * len(PAYLOAD)  # stopped near 300 KB


def test_unpinned_download_stops_at_max_size(server, tmp_path):
    m = manifest([{"name": "blob.bin", "sha256": None, "max_size": 100_000}],
                 [{"kind": "url", "base": f"{server.url}/endless/"}])
    assert "100000 bytes" in fetch_on_small_disk(tmp_path, m)


def test_announced_length_above_the_cap_is_refused_before_reading(server, tmp_path):
    with pytest.raises(AssetError, match="announces"):
        fetch(blob_manifest(f"{server.url}/biglen/"), tmp_path)


def test_gzip_bomb_is_stopped_at_the_declared_size(tmp_path):
    """A .gz source that inflates to 64 MiB for a 300 KB file."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "blob.bin.gz").write_bytes(gzip.compress(bytes(64 << 20), compresslevel=9))
    m = blob_manifest("unused")
    m["assets"]["blob"]["sources"] = [{"kind": "dir", "path": str(src), "gzip": True}]
    out = fetch_on_small_disk(tmp_path, m)
    assert "decompressed is larger than the 307200 bytes" in out, out


def test_bundle_members_are_checked_before_anything_is_extracted(server, tmp_path, monkeypatch):
    m = blob_manifest(f"{server.url}/good/")
    evil = _tar(tmp_path / "evil.tar", [(_info("blob/blob.bin", len(PAYLOAD)), PAYLOAD),
                                        (_info("not_in_manifest/big.bin", 5 << 20), bytes(5 << 20))])
    opened = []
    real = tarfile.TarFile.extractfile
    monkeypatch.setattr(tarfile.TarFile, "extractfile", lambda self, m_: opened.append(str(m_)) or real(self, m_))
    monkeypatch.setattr(tarfile.TarFile, "extractall", lambda *a, **k: opened.append("extractall"))
    with pytest.raises(AssetError, match="not_in_manifest"):
        assets.import_bundle(evil, cache=tmp_path / "cache", manifest=m)
    assert opened == []
    assert not (tmp_path / "cache" / "blob").exists()


def test_archive_asset_extraction_is_capped(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("zeros.bin")
        info.size = 32 << 20
        tf.addfile(info, io.BytesIO(bytes(32 << 20)))
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.tar.gz").write_bytes(buf.getvalue())
    m = manifest([{"name": "data.tar.gz", "sha256": assets.sha256_file(src / "data.tar.gz"), "extract": True,
                   "max_extracted_size": 1 << 20}], [{"kind": "dir", "path": str(src)}])
    with pytest.raises(AssetError, match="decompression bomb"):
        fetch(m, tmp_path / "cache")
    assert leftovers(tmp_path / "cache") == [] and not (tmp_path / "cache" / "blob").exists()


# --------------------------------------------------------------------- 5. junk left behind


KILLED = """
import json, sys
from pathlib import Path
from tlcourse import assets
m = json.loads(Path(sys.argv[1]).read_text())
assets.fetch("blob", manifest=m, cache=Path(sys.argv[2]), progress=False)
"""


def test_temp_folder_of_a_killed_fetch_is_swept(server, tmp_path):
    cache = tmp_path / "cache"
    path = write_manifest(tmp_path, blob_manifest(f"{server.url}/trickle/"))
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(path), str(cache)],
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    try:
        for _ in range(300):
            if cache.is_dir() and [p for p in cache.iterdir() if p.name.startswith(".tmp")]:
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert [p for p in cache.iterdir() if p.name.startswith(".tmp")], "the fetch never started"
    (cache / ".tmp-blob-abcd1234").mkdir()  # a temp folder named as before the module split
    fetch(blob_manifest(f"{server.url}/good/"), cache)
    assert sorted(p.name for p in cache.iterdir()) == ["blob"]


def test_failed_bundle_leaves_no_temp_file(server, tmp_path):
    m = blob_manifest(f"{server.url}/good/")
    m["assets"]["other"] = m["assets"]["blob"]
    fetch(m, tmp_path / "cache")
    out = tmp_path / "out" / "b.tar"
    out.parent.mkdir()
    with pytest.raises(AssetError, match="other"):
        assets.bundle(out, ["blob", "other"], cache=tmp_path / "cache", manifest=m)
    assert list(out.parent.iterdir()) == []
    proc = cli(["bundle", str(tmp_path / "no-dir" / "b.tar"), "photo_chelsea"],
               {"TLCOURSE_CACHE": str(tmp_path / "cache")})
    assert_clean_failure(proc)


# --------------------------------------------------------------------- 6. time


def test_trickling_server_hits_the_deadline(server, tmp_path):
    """One byte every 50 ms never trips the per-read timeout; the total deadline stops it."""
    path = write_manifest(tmp_path, blob_manifest(f"{server.url}/trickle/"))
    proc = cli(["fetch", "blob"], {"TLCOURSE_CACHE": str(tmp_path / "c"), "TLCOURSE_TIMEOUT": "5",
                                   "TLCOURSE_DEADLINE": "1.5"}, path, timeout=60)
    assert proc.returncode == 1 and "deadline" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert leftovers(tmp_path / "c") == []


PIP = """
import json, sys, time
from pathlib import Path
from tlcourse import assets
m = json.loads(Path(sys.argv[1]).read_text())
for asset_id in m["assets"]:
    start = time.monotonic()
    try:
        assets.fetch(asset_id, manifest=m, cache=Path(sys.argv[2]), progress=False)
    except assets.AssetError as exc:
        print(asset_id, round(time.monotonic() - start, 1), str(exc).splitlines()[1])
"""


def test_stalled_package_index_costs_one_timeout_and_names_the_cause(tmp_path):
    src = {"kind": "pypi", "requirement": "tlcourse-no-such-package==1.0", "prefix": "x/"}
    m = manifest([{"name": "a.bin", "sha256": SHA}], [src], asset_id="one")
    m["assets"]["two"] = m["assets"]["one"]
    path = write_manifest(tmp_path, m)
    with stalled_server() as index:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
               "PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": f"{index}/simple", "PIP_EXTRA_INDEX_URL": "",
               "PIP_FIND_LINKS": "", "PIP_DEFAULT_TIMEOUT": "180", "TLCOURSE_TIMEOUT": "1"}
        # pip's own settings here (180 s x 5 retries) would take far longer than this limit
        proc = subprocess.run([sys.executable, "-c", PIP, str(path), str(tmp_path / "c")],
                              capture_output=True, text=True, env=env, timeout=100)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2, proc.stdout + proc.stderr
    assert "Read timed out" in lines[0] and "HTTPConnectionPool" not in lines[0], lines[0]
    assert "skipped" in lines[1], lines[1]


# --------------------------------------------------------------------- 7. bundles are atomic


def test_bundle_is_all_or_nothing(server, tmp_path):
    m = blob_manifest(f"{server.url}/good/")
    m["assets"]["zzz"] = json.loads(json.dumps(m["assets"]["blob"]))
    mixed = _tar(tmp_path / "mixed.tar", [(_info("blob/blob.bin", len(PAYLOAD)), PAYLOAD),
                                          (_info("unknown_asset/x.bin", 2), b"hi")])
    with pytest.raises(AssetError, match="unknown_asset"):
        assets.import_bundle(mixed, cache=tmp_path / "c", manifest=m)
    assert not (tmp_path / "c" / "blob").exists()
    tampered = _tar(tmp_path / "t.tar", [(_info("blob/blob.bin", len(PAYLOAD)), PAYLOAD),
                                         (_info("zzz/blob.bin", len(PAYLOAD)), bytes(len(PAYLOAD)))])
    with pytest.raises(AssetError, match="Nothing was imported"):
        assets.import_bundle(tampered, cache=tmp_path / "c", manifest=m)
    assert not (tmp_path / "c" / "blob").exists()
    assert leftovers(tmp_path / "c") == []


def test_from_dir_failure_gives_folder_advice(isolated, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "chelsea.png").write_bytes(b"not the photo")
    proc = cli(["fetch", "photo_chelsea", "--from-dir", str(folder)])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "--from-dir" in proc.stderr and "network" not in proc.stderr.lower()
    assert "bundle" not in proc.stderr.lower()
    proc = cli(["fetch", "photo_chelsea", "--from-dir", str(tmp_path / "nope")])
    assert_clean_failure(proc, "no such folder")


# --------------------------------------------------------------------- 8. smaller


def test_relative_cache_is_resolved_once(tmp_path):
    code = ("import os\nfrom tlcourse import assets\na = assets.cache_dir()\nos.chdir('sub')\n"
            "b = assets.cache_dir()\nassert a == b and a.is_absolute(), (a, b)\n"
            "print(os.environ['TLCOURSE_CACHE'])")
    (tmp_path / "sub").mkdir()
    proc = run_python(code, {"TLCOURSE_CACHE": "rel-cache"}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "rel-cache")


def test_nothing_left_in_tmp_or_the_real_cache():
    """Guard for this module's own hygiene: the real cache holds no temp folders or locks."""
    real = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tlcourse"
    if real.is_dir():
        assert not [p for p in real.iterdir() if p.name.startswith((".tmp", ".locks"))]


# --------------------------------------------------------------------- issue 16: bundles carry pins


def _retar(src: Path, dest: Path, change: dict[str, bytes], drop: tuple[str, ...] = ()) -> Path:
    """Copy a tar, replacing the data of the members in ``change`` (same size) and dropping some."""
    with tarfile.open(src) as tin, tarfile.open(dest, "w") as tout:
        for m in tin:
            if m.name in drop:
                continue
            data = change.get(m.name, tin.extractfile(m).read())
            tout.addfile(m, io.BytesIO(data))
    return dest


def test_bundle_of_an_unpinned_asset_carries_its_pin(server, tmp_path):
    m = blob_manifest(f"{server.url}/good/", sha=None)  # no published checksum
    fetch(m, tmp_path / "a")
    out = tmp_path / "b.tar"
    assert assets.bundle(out, cache=tmp_path / "a", manifest=m) == ["blob"]
    with tarfile.open(out) as tf:
        index = json.load(tf.extractfile("tlcourse-bundle.json"))
    assert index["assets"]["blob"]["blob.bin"] == SHA
    evil = bytearray(PAYLOAD)
    evil[5] ^= 1
    tampered = _retar(out, tmp_path / "t.tar", {"blob/blob.bin": bytes(evil)})
    with pytest.raises(AssetError, match="bundle's pin"):
        assets.import_bundle(tampered, cache=tmp_path / "b", manifest=m)
    assert not (tmp_path / "b" / "blob").exists()
    no_index = _retar(out, tmp_path / "n.tar", {}, drop=("tlcourse-bundle.json",))
    with pytest.raises(AssetError, match="carries no pin"):
        assets.import_bundle(no_index, cache=tmp_path / "b", manifest=m)
    assert assets.import_bundle(out, cache=tmp_path / "b", manifest=m) == ["blob"]
    marker = json.loads((tmp_path / "b" / "blob" / assets.MARKER).read_text())
    assert marker["sha256"]["blob.bin"] == SHA  # the room's copy keeps the original pin
    # a later bundle that differs from the copy already pinned in this room is refused too
    with pytest.raises(AssetError, match="already pinned"):
        assets.import_bundle(_retar(out, tmp_path / "t2.tar", {"blob/blob.bin": bytes(evil)}),
                             cache=tmp_path / "b", manifest=m)


def test_ctrl_c_during_a_fetch_is_one_line_and_leaves_nothing(server, tmp_path):
    path = write_manifest(tmp_path, blob_manifest(f"{server.url}/trickle/"))
    cache = tmp_path / "cache"
    # A foreground process gets Python's KeyboardInterrupt on SIGINT; a test runner started in the
    # background (`cmd &`) passes SIGINT down as ignored, so restore the default handler first.
    code = ("import signal, sys\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "import tlcourse.assets.manifest as m\n"
            f"m.MANIFEST_PATH = {str(path)!r}\nfrom tlcourse.__main__ import main\n"
            "sys.exit(main(['fetch', 'blob']))\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
           "TLCOURSE_CACHE": str(cache)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for _ in range(300):
        if cache.is_dir() and [p for p in cache.iterdir() if p.name.startswith(".tmp")]:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("interrupted")
    assert list(cache.iterdir()) == []


# --------------------------------------------------------------------- more inputs of our own


def test_full_cache_disk_during_a_fetch_is_one_line(server, tmp_path, monkeypatch):
    cache = tmp_path / "small"
    with small_disk(cache, size="100k") as mounted:
        if not mounted:  # mount not permitted: simulate the full disk by patching the write
            monkeypatch.setattr(assets.fetcher.os, "replace", enospc)
        with pytest.raises(assets.SettingError, match="free disk space") as err:
            fetch(blob_manifest(f"{server.url}/good/"), cache)
        assert "\n" not in str(err.value) and "network" not in str(err.value)
        assert list(cache.iterdir()) == []


def test_a_gzipped_bundle_imports(isolated, tmp_path, monkeypatch):
    assert main(["fetch", "photo_chelsea"]) == 0
    plain = tmp_path / "b.tar"
    assert main(["bundle", str(plain), "photo_chelsea"]) == 0
    packed = tmp_path / "b.tar.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    monkeypatch.setenv("TLCOURSE_CACHE", str(tmp_path / "room"))
    assert main(["import-bundle", str(packed)]) == 0
    assert assets.is_present("photo_chelsea", cache=tmp_path / "room")


def test_legacy_torch_pickle_passes_the_format_check(tmp_path):
    legacy = tmp_path / "resnet-0000.pth"
    legacy.write_bytes(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19." + bytes(100))
    assets.content.check_format(legacy, legacy.name, "test")
    page = tmp_path / "resnet-0001.pth"
    page.write_bytes(b"<html><body>404</body></html>")
    with pytest.raises(AssetError, match="HTML page"):
        assets.content.check_format(page, page.name, "test")


def test_marker_written_before_stamps_is_upgraded_once(server, tmp_path):
    m = blob_manifest(f"{server.url}/good/")
    folder = fetch(m, tmp_path)
    marker_path = folder / assets.MARKER
    marker = json.loads(marker_path.read_text())
    del marker["files"], marker["extracted"]
    marker_path.write_text(json.dumps(marker))  # as the code before this change wrote it
    hits = server.hits.get("good", 0)
    assert assets.is_present("blob", m, tmp_path)  # re-hashed, still good
    fetch(m, tmp_path)
    assert "files" in json.loads(marker_path.read_text())
    assert server.hits.get("good", 0) == hits  # no download for the upgrade


def test_archive_member_that_would_overwrite_the_asset_is_refused(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    with tarfile.open(src / "data.tar", "w") as tf:
        info = tarfile.TarInfo(assets.MARKER)  # would replace the marker that says 'verified'
        info.size = 2
        tf.addfile(info, io.BytesIO(b"{}"))
    m = manifest([{"name": "data.tar", "sha256": assets.sha256_file(src / "data.tar"), "extract": True}],
                 [{"kind": "dir", "path": str(src)}])
    with pytest.raises(AssetError, match="overwrite the asset's own files"):
        fetch(m, tmp_path / "cache")


def test_zip_bomb_in_an_archive_asset_is_refused(tmp_path):
    import zipfile

    src = tmp_path / "src"
    src.mkdir()
    with zipfile.ZipFile(src / "data.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(16 << 20))
    m = manifest([{"name": "data.zip", "sha256": assets.sha256_file(src / "data.zip"), "extract": True,
                   "max_extracted_size": 1 << 20}], [{"kind": "dir", "path": str(src)}])
    with pytest.raises(AssetError, match="decompression bomb"):
        fetch(m, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize("asset_id", ["../../etc", "blob/../blob", "", "BLOB"])
def test_odd_asset_ids_are_unknown(server, tmp_path, asset_id):
    with pytest.raises(AssetError, match="Unknown asset"):
        assets.fetch(asset_id, manifest=blob_manifest(f"{server.url}/good/"), cache=tmp_path)


HOLD = """
import sys, time
from pathlib import Path
from tlcourse.assets.cache import lock
with lock(Path(sys.argv[1]), "blob"):
    print("held", flush=True)
    time.sleep(30)
"""


def test_a_lock_held_too_long_is_one_clear_error(server, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(cache)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("TLCOURSE_LOCK_TIMEOUT", "0.5")
        with pytest.raises(AssetError, match="Another process has held"):
            fetch(blob_manifest(f"{server.url}/good/"), cache)
    finally:
        holder.kill()
        holder.wait()
    fetch(blob_manifest(f"{server.url}/good/"), cache)  # the lock died with its process
    assert sorted(p.name for p in cache.iterdir()) == ["blob"]


def test_a_cache_copied_without_file_times_is_restamped(server, tmp_path):
    import shutil

    m = blob_manifest(f"{server.url}/good/")
    fetch(m, tmp_path / "a")
    time.sleep(0.01)
    shutil.copytree(tmp_path / "a", tmp_path / "b", copy_function=shutil.copyfile)  # like cp -r
    assert assets.is_present("blob", m, tmp_path / "b")  # times differ: re-hashed, still good
    folder = fetch(m, tmp_path / "b")
    stamps = json.loads((folder / assets.MARKER).read_text())["files"]["blob.bin"]
    assert stamps["mtime_ns"] == (folder / "blob.bin").stat().st_mtime_ns


def test_bundle_onto_a_full_disk_leaves_no_temp_file(server, tmp_path, monkeypatch):
    m = blob_manifest(f"{server.url}/good/")
    fetch(m, tmp_path / "cache")
    out_dir = tmp_path / "usb"
    with small_disk(out_dir, size="100k") as mounted:
        if not mounted:  # mount not permitted: simulate the full disk while the tar is written
            monkeypatch.setattr(tarfile.TarFile, "addfile", lambda *a, **k: enospc())
        with pytest.raises(assets.SettingError, match="Cannot write the bundle"):
            assets.bundle(out_dir / "b.tar", cache=tmp_path / "cache", manifest=m)
        assert list(out_dir.iterdir()) == []
