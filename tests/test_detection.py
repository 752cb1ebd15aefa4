"""Detection data (lesson 05): generated YOLO datasets, the strict label reader, offline ultralytics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tlcourse import assets
from tlcourse.data import detection as det

REPO = Path(__file__).resolve().parent.parent


def split_with(tmp_path: Path, label_text: str | None, image: bool = True, name: str = "a") -> Path:
    """A one-image YOLO split ``tmp_path/images/train``; returns that folder."""
    img_dir = tmp_path / "images" / "train"
    lbl_dir = tmp_path / "labels" / "train"
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    if image:
        Image.new("RGB", (8, 8)).save(img_dir / f"{name}.png")
    if label_text is not None:
        (lbl_dir / f"{name}.txt").write_text(label_text)
    return img_dir


GOOD = "0 0.5 0.5 0.2 0.2\n"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("3 0.5 0.5 0.2 0.2", "class id 3 is out of range; data.yaml names 3 classes"),
        ("-1 0.5 0.5 0.2 0.2", "class id -1 is out of range"),
        ("0 0.95 0.5 0.2 0.2", "reaches outside the image"),
        ("0 50 40 10 10", "reaches outside the image.*Pixels"),
        ("0 0.5 0.5 0 0.2", "zero or negative width/height"),
        ("0 0.5 0.5 0.2", "4 columns, a detection label has 5"),
        ("0 0.5 0.5 0.2 0.2 0.1 0.1", "7 columns"),
        ("cat 0.5 0.5 0.2 0.2", "class id 'cat' is not an integer"),
        ("0 0.5 half 0.2 0.2", "is not four numbers"),
        ("0 nan 0.5 0.2 0.2", "not finite"),
    ],
)
def test_malformed_label_names_file_and_line(tmp_path, line, message):
    img_dir = split_with(tmp_path, GOOD + line + "\n")
    with pytest.raises(det.LabelError, match=message) as err:
        det.read_yolo_labels(img_dir, nc=3)
    assert "a.txt, line 2" in str(err.value)


def test_good_labels_are_read(tmp_path):
    img_dir = split_with(tmp_path, GOOD + "\n2 0.1 0.1 0.2 0.2\n")  # blank line allowed
    report = det.read_yolo_labels(img_dir, nc=3)
    (rows,) = report.labels.values()
    np.testing.assert_allclose(rows, [[0, 0.5, 0.5, 0.2, 0.2], [2, 0.1, 0.1, 0.2, 0.2]])
    assert report.n_boxes == 2 and report.class_counts(3) == [1, 0, 1] and not report.backgrounds


def test_image_without_label_is_a_background_and_said_so(tmp_path):
    img_dir = split_with(tmp_path, GOOD)
    split_with(tmp_path, None, name="b")
    with pytest.warns(UserWarning, match="1 image.*no label file.*background"):
        report = det.read_yolo_labels(img_dir, nc=1)
    assert [p.name for p in report.backgrounds] == ["b.png"]


def test_label_without_image_is_an_error(tmp_path):
    img_dir = split_with(tmp_path, GOOD)
    split_with(tmp_path, GOOD, image=False, name="orphan")
    with pytest.raises(det.LabelError, match="orphan.txt: a label file without an image"):
        det.read_yolo_labels(img_dir, nc=1)


def test_check_dataset_requires_names_and_splits(tmp_path):
    (tmp_path / "data.yaml").write_text("train: images/train\n")
    with pytest.raises(det.LabelError, match="needs a 'names' mapping"):
        det.check_dataset(tmp_path / "data.yaml")
    split_with(tmp_path, GOOD)
    (tmp_path / "data.yaml").write_text("train: images/train\nnames: {0: a}\n")
    with pytest.raises(det.LabelError, match="needs 'train' and 'val'"):
        det.check_dataset(tmp_path / "data.yaml")


@pytest.fixture(scope="module")
def tiny_target(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return det.detection_dataset("target", 48, 6, 3, 3, seed=5, cache=cache), cache


def test_generated_dataset_is_valid_deterministic_and_exact(tiny_target, tmp_path):
    data, _ = tiny_target
    reports = det.check_dataset(data)
    assert {s: len(r.labels) for s, r in reports.items()} == {"train": 6, "val": 3, "test": 3}
    again = det.detection_dataset("target", 48, 6, 3, 3, seed=5, cache=tmp_path)
    for split in det.SPLITS:
        for a in sorted((data.parent / "images" / split).iterdir()):
            b = again.parent / "images" / split / a.name
            assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between two generations"
    # exact boxes: the pixels just outside each box are the background crop's, not the item's
    for img_path, rows in reports["train"].labels.items():
        assert len(rows) >= 1
        w = Image.open(img_path).size[0]
        for _, cx, _, bw, _ in rows:
            x0, x1 = round((cx - bw / 2) * w), round((cx + bw / 2) * w)
            assert 0 <= x0 < x1 <= w and abs((x1 - x0) - bw * w) < 1e-3


def test_source_and_target_classes_differ_and_splits_use_disjoint_photos():
    assert not set(det.CLASSES["source"]) & set(det.CLASSES["target"])
    photos = [set(v) for v in det.BACKGROUNDS.values()]
    assert all(not (a & b) for i, a in enumerate(photos) for b in photos[i + 1:])
    spec = assets.load_manifest()["assets"]["skimage_backgrounds"]
    assert set().union(*photos) <= {f["name"] for f in spec["files"]}


def test_dataset_is_cached(tiny_target):
    data, cache = tiny_target
    stamp = data.stat().st_mtime_ns
    assert det.detection_dataset("target", 48, 6, 3, 3, seed=5, cache=cache) == data
    assert data.stat().st_mtime_ns == stamp


GUARD = textwrap.dedent(
    """
    import ipaddress, json, os, socket, sys
    attempts = []
    def local(host):
        if host in (None, "", "localhost") or isinstance(host, bytes):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False
    def guard_addr(addr):
        if isinstance(addr, tuple) and not local(addr[0]):
            attempts.append(repr(addr))
            raise OSError(f"network disabled by test: {addr!r}")
    real_connect, real_connect_ex, real_sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
    socket.socket.connect = lambda self, addr: (guard_addr(addr), real_connect(self, addr))[1]
    socket.socket.connect_ex = lambda self, addr: (guard_addr(addr), real_connect_ex(self, addr))[1]
    socket.socket.sendto = lambda self, data, *a: (guard_addr(a[-1]), real_sendto(self, data, *a))[1]
    real_gai = socket.getaddrinfo
    def gai(host, *a, **k):
        if not local(host):
            attempts.append(f"getaddrinfo {host}")
            raise socket.gaierror(f"name resolution disabled by test: {host}")
        return real_gai(host, *a, **k)
    socket.getaddrinfo = gai
    """
)

SCRIPT = GUARD + textwrap.dedent(
    """
    import tlcourse as tl
    from tlcourse import detection
    reference = detection.source_checkpoint()        # the shipped checkpoint, verified by sha256
    assert detection.main(["pretrain", "--profile", "smoke"]) == 0   # the recipe, run here
    own = detection.source_checkpoint("smoke")
    from ultralytics import YOLO
    model = YOLO(detection.to_ultralytics(own, own.parent / "work" / "source.pt"))
    from tlcourse.data.detection import detection_dataset
    data = detection_dataset("target", 32, 4, 2, 2, seed=1)
    model.train(data=str(data), imgsz=32, epochs=1, batch=4, workers=0, device="cpu", plots=True,
                project=str(own.parent / "work"), name="t", exist_ok=True, verbose=False)
    images = sorted((data.parent / "images" / "test").glob("*.png"))
    model.predict([str(p) for p in images], imgsz=32, conf=0.001, verbose=False)
    from ultralytics import settings
    print(json.dumps({"attempts": attempts, "reference": tl.assets.sha256_file(reference),
                      "own": tl.assets.sha256_file(own), "sync": settings["sync"]}))
    """
)


def test_offline_one_thread_makes_and_uses_the_course_assets_without_a_connection(tmp_path):
    """On another float path (``TLCOURSE_THREADS=1``, a stand-in for another CPU) and an empty cache:
    the shipped source checkpoint verifies, the source recipe runs and its checkpoint passes the
    behavioural check, then a tiny fine-tune from it and a prediction run, with every non-loopback
    connection and DNS lookup refused."""
    cache = tmp_path / "cache"
    cache.mkdir()
    for asset in ("fashion_mnist", "skimage_backgrounds"):  # reuse the fetched inputs
        os.symlink(assets.fetch(asset, progress=False), cache / asset)
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOLO_")}
    env.update(TLCOURSE_CACHE=str(cache), HOME=str(tmp_path), TLCOURSE_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["attempts"] == [], f"ultralytics tried the network: {result['attempts']}"
    assert result["sync"] is False
    expected = assets.load_manifest()["assets"]["yolo_source"]["files"][0]["sha256"]
    assert result["reference"] == expected
    assert "source test mAP50" in proc.stdout and "required" in proc.stdout
    assert (cache / "yolo_source_own" / "smoke" / "weights.safetensors").is_file()
    assert not list((cache / "yolo_source_own" / "smoke").glob(".tmp-*")), "pretrain left temporary files"
    assert (cache / "ultralytics" / "Ultralytics" / "Arial.ttf").is_file()


def test_a_corrupt_image_stays_a_corrupt_image_after_ultralytics_loads(tmp_path):
    """ultralytics wraps PIL.Image.open (HEIF autoinstall); offline() undoes it, so Pillow's own error shows."""
    from PIL import Image, UnidentifiedImageError

    from tlcourse import detection

    detection.offline()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(UnidentifiedImageError):
        Image.open(bad)


def test_a_slow_or_busy_cpu_does_not_drop_detections_in_nms(monkeypatch):
    """ultralytics' NMS returns the images it reaches after 2.0 + 0.05 * batch seconds as empty (a wrong mAP
    on a busy machine, issue #25954); offline() lifts that limit. A clock that jumps 5 s per reading shows it."""
    import itertools

    import torch

    from tlcourse import detection

    detection.offline()
    from ultralytics.utils import nms

    class JumpingClock:
        ticks = itertools.count()

        @staticmethod
        def time() -> float:
            return next(JumpingClock.ticks) * 5.0

    monkeypatch.setattr(nms, "time", JumpingClock)
    boxes = torch.zeros(4, 4 + 2, 3)  # 4 images, (cx, cy, w, h, 2 class scores), 3 anchors
    boxes[:, :4, :] = torch.tensor([10.0, 10.0, 4.0, 4.0])[None, :, None] * torch.tensor([1.0, 2.0, 3.0])
    boxes[:, 4, :] = 0.9  # one confident class-0 box per anchor, none overlapping
    kept = [len(d) for d in nms.non_max_suppression(boxes, conf_thres=0.25, nc=2)]
    assert kept == [3, 3, 3, 3], f"boxes kept per image: {kept}"
    dropped = [len(d) for d in nms.non_max_suppression.__wrapped__(boxes, conf_thres=0.25, nc=2)]
    assert dropped[1:] == [0, 0, 0], f"ultralytics' own limit should drop the later images here: {dropped}"


def test_coco_start_offline_names_the_offline_choice(tmp_path):
    """START = "coco" needs the official weights; without them the error names the course's checkpoint."""
    with pytest.raises(assets.AssetError, match="offline choice \\(asset 'yolo_source'\\)"):
        assets.fetch("yolov5nu_coco", cache=tmp_path, progress=False, sources=[])


def test_pretrain_keeps_only_a_checkpoint_that_detects(tmp_path, monkeypatch, capsys):
    """The behavioural check: below the profile's band the checkpoint is refused and not kept."""
    from tlcourse import detection

    monkeypatch.setenv("TLCOURSE_CACHE", str(tmp_path))

    def fake_train(profile, work):
        (work / detection.WEIGHTS_NAME).write_bytes(b"weights")
        return work / detection.WEIGHTS_NAME

    monkeypatch.setattr(detection, "_train_source", fake_train)
    monkeypatch.setattr(detection, "evaluate_source", lambda w, p: {"map50": 0.01, "map50_95": 0.0})
    assert detection.main(["pretrain", "--profile", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "mAP50 0.010" in err and "below the 0.15" in err and "not kept" in err
    assert not detection.own_checkpoint_path("cpu").exists()
    assert not list(detection.own_checkpoint_path("cpu").parent.iterdir()), "temporary files left behind"
    with pytest.raises(assets.AssetError, match="pretrain --profile cpu"):
        detection.source_checkpoint("cpu")

    monkeypatch.setattr(detection, "evaluate_source", lambda w, p: {"map50": 0.2, "map50_95": 0.1})
    assert detection.main(["pretrain", "--profile", "cpu"]) == 0
    assert detection.source_checkpoint("cpu").read_bytes() == b"weights"
    assert "source test mAP50 0.200 (at least 0.15 required)" in capsys.readouterr().out


def test_reference_checkpoint_passes_the_band_and_random_weights_do_not(tmp_path):
    """The band separates a checkpoint that learned the source task from one that did not."""
    import torch

    from tlcourse import detection
    from tlcourse.data.detection import CLASSES

    detection.offline()
    from ultralytics.nn.tasks import DetectionModel

    from tlcourse.profiles import config

    band = config("yolo_detection", "cpu").source_min_map50
    reference = detection.evaluate_source(detection.source_checkpoint(), "cpu")
    assert reference["map50"] >= band + 0.05, reference
    torch.manual_seed(0)
    random_net = DetectionModel(detection.ARCH, nc=len(CLASSES["source"]), verbose=False)
    detection.save_canonical(random_net.state_dict(), tmp_path / "random.safetensors")
    assert detection.evaluate_source(tmp_path / "random.safetensors", "cpu")["map50"] < band / 3


# --------------------------------------------------------------------------- exercise checks



