"""YOLO detection offline: the engine's offline settings and the course's own source checkpoint.

No registry ships COCO-pretrained YOLO weights, so lesson 05 starts from a *source checkpoint* the
course makes itself: ``yolov5n.yaml`` (ultralytics' anchor-free "u" variant of YOLOv5 nano)
pre-trained on the generated ``source`` detection dataset (clothing classes), then fine-tuned on
the ``target`` dataset (footwear and bags). Make it with::

    python -m tlcourse.detection pretrain --profile smoke     # seconds
    python -m tlcourse.detection pretrain --profile cpu       # minutes, once

Ultralytics checkpoints embed dates, versions and git state, so their bytes never repeat. The
asset is instead the trained network's ``state_dict`` in float32 as a safetensors file (tensors
sorted by name, no metadata), which is bit-identical on every run of the same recipe on the same
CPU and torch build (fixed seed, ``deterministic=True``, fixed thread count, no worker processes).
Its sha256 is in the manifest (assets ``yolo_source_<profile>``); the file is committed to the
asset cache only when it matches (a workshop bundle carries it like any other asset).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .assets import (
    AssetError,
    ChecksumError,
    asset_dir,
    cache_dir,
    fetch,
    is_present,
    load_manifest,
)
from .data.detection import CLASSES, check_dataset, detection_dataset
from .profiles import PROFILES, config

LESSON = "yolo_detection"
ARCH = "yolov5n.yaml"
WEIGHTS_NAME = "weights.safetensors"
THREADS = 2
OFF_SETTINGS = {"sync": False, "clearml": False, "comet": False, "dvc": False, "mlflow": False,
                "raytune": False, "tensorboard": False, "wandb": False, "vscode_msg": False,
                "openvino_msg": False}  # fmt: skip


def offline(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """Switch every download ultralytics would try on its own off; call before importing it.

    Sets ``YOLO_OFFLINE=1`` (no online checks, no hub, no telemetry), ``YOLO_AUTOINSTALL=0`` (no pip
    installs) and ``YOLO_CONFIG_DIR`` (default ``<tlcourse cache>/ultralytics``) with matplotlib's
    DejaVu Sans copied to ``Ultralytics/Arial.ttf`` and ``Arial.Unicode.ttf`` (the fonts ultralytics
    otherwise downloads for its plots); after import, turns off sync and the logger integrations
    in its settings. Returns the ``Ultralytics`` settings folder.
    """
    if "ultralytics" in sys.modules:
        from ultralytics import utils

        if utils.ONLINE or os.environ.get("YOLO_OFFLINE") != "1":
            raise RuntimeError(
                "ultralytics was imported before tl.detection.offline(): it already decided it is "
                "online. Restart the kernel and call tl.detection.offline() before importing it."
            )
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    base = Path(config_dir or os.environ.get("YOLO_CONFIG_DIR") or cache_dir() / "ultralytics")
    os.environ["YOLO_CONFIG_DIR"] = str(base)
    folder = base / "Ultralytics"
    folder.mkdir(parents=True, exist_ok=True)
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        if not (folder / name).is_file():
            tmp = folder / f".{name}.{os.getpid()}"
            shutil.copyfile(font, tmp)
            os.replace(tmp, folder / name)
    from ultralytics import settings

    if any(settings.get(k) != v for k, v in OFF_SETTINGS.items()):
        settings.update(OFF_SETTINGS)
    return folder


def source_asset(profile: str) -> str:
    """The asset id of the source checkpoint a profile uses."""
    return str(config(LESSON, profile).source_asset)


def save_canonical(state: dict[str, Any], path: Path) -> None:
    """Save a ``state_dict`` as float32 safetensors with sorted names and no metadata (bit-stable)."""
    import torch
    from safetensors.torch import save_file

    tensors = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in sorted(state.items())
               if v.is_floating_point()}  # fmt: skip
    tensors.update({k: v.detach().contiguous().clone() for k, v in state.items()
                    if not v.is_floating_point()})  # fmt: skip
    save_file(dict(sorted(tensors.items())), str(path))


def to_ultralytics(weights: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write a checkpoint ``YOLO(out)`` loads: the ``ARCH`` network with the source weights and names.

    ``weights``: a file saved by :func:`save_canonical` (the source checkpoint asset).
    """
    import torch
    from safetensors.torch import load_file

    offline()
    from ultralytics.nn.tasks import DetectionModel

    state = load_file(str(weights))
    names = CLASSES["source"]
    model = DetectionModel(ARCH, nc=len(names), verbose=False)
    model.load_state_dict(state, strict=True)
    model.names = dict(enumerate(names))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model, "train_args": {"model": ARCH, "task": "detect"}}, out)
    return out


def _train_source(profile: str, work: Path) -> Path:
    """Pre-train ``ARCH`` from random init on the source dataset; return the canonical weights file."""
    import torch

    cfg = config(LESSON, profile)
    offline()
    from ultralytics import YOLO

    data = detection_dataset("source", cfg.source_image_size, cfg.source_train, cfg.source_val,
                             cfg.source_test, seed=cfg.source_seed)  # fmt: skip
    check_dataset(data)
    torch.set_num_threads(THREADS)
    model = YOLO(ARCH)
    model.train(data=str(data), imgsz=cfg.source_image_size, epochs=cfg.source_epochs,
                batch=cfg.source_batch, seed=cfg.source_seed, deterministic=True, workers=0,
                device="cpu", amp=False, plots=False, val=True, project=str(work), name="source",
                exist_ok=True, verbose=False, mosaic=cfg.mosaic, close_mosaic=0,
                warmup_epochs=cfg.source_warmup_epochs)  # fmt: skip
    best = work / "source" / "weights" / "best.pt"
    ckpt = torch.load(best, map_location="cpu", weights_only=False)
    net = ckpt["ema"] if ckpt.get("ema") is not None else ckpt["model"]
    out = work / WEIGHTS_NAME
    save_canonical(net.float().state_dict(), out)
    return out


def pretrain(profile: str, *, accept: bool = False, force: bool = False) -> Path:
    """Make the profile's source checkpoint (unless cached) and return its file in the asset cache.

    The file is verified against the manifest's sha256 before it is committed. A mismatch means
    this CPU or torch build computes floats differently from the reference machine: with
    ``accept`` the local file is used anyway (its own sha256 pinned in the cache marker).
    """
    asset = source_asset(profile)
    manifest = load_manifest()
    if force and is_present(asset, manifest):
        shutil.rmtree(asset_dir(asset))
    if is_present(asset, manifest):
        return fetch(asset, progress=False) / WEIGHTS_NAME
    cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix=".tmp-pretrain-") as tmp:
        weights = _train_source(profile, Path(tmp))
        src = [{"kind": "dir", "path": str(weights.parent)}]
        try:
            folder = fetch(asset, manifest=manifest, progress=False, sources=src)
        except ChecksumError as err:
            if not accept:
                raise AssetError(
                    f"The source checkpoint made here differs from the course's reference ({err}). "
                    "Training is deterministic per machine, but another CPU or torch build rounds "
                    "floats differently. Either import the reference from a workshop bundle "
                    "(python -m tlcourse import-bundle FILE) or use yours: python -m "
                    f"tlcourse.detection pretrain --profile {profile} --accept"
                ) from err
            pinned = {**manifest, "assets": {**manifest["assets"]}}
            spec = dict(pinned["assets"][asset])
            spec["files"] = [{**f, "sha256": None, "size": None} for f in spec["files"]]
            pinned["assets"][asset] = spec
            folder = fetch(asset, manifest=pinned, progress=False, sources=src)
    return folder / WEIGHTS_NAME


def source_checkpoint(profile: str) -> Path:
    """The profile's source checkpoint file: from the cache, or made now by :func:`pretrain`."""
    return pretrain(profile)


def main(argv: list[str] | None = None) -> int:
    """``python -m tlcourse.detection pretrain --profile P [--accept] [--force]``."""
    parser = argparse.ArgumentParser(prog="python -m tlcourse.detection", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pretrain", help="make (or verify) the source checkpoint of a profile")
    p.add_argument("--profile", choices=PROFILES, required=True)
    p.add_argument("--accept", action="store_true", help="use a checkpoint that differs from the reference")
    p.add_argument("--force", action="store_true", help="train again even if the cache has one")
    args = parser.parse_args(argv)
    try:
        path = pretrain(args.profile, accept=args.accept, force=args.force)
    except AssetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    from .assets import sha256_file

    print(f"{source_asset(args.profile)}: {path} (sha256 {sha256_file(path)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
