"""YOLO detection offline: the engine's offline settings and the course's own source checkpoint.

No registry ships COCO-pretrained YOLO weights, so lesson 05 starts from a *source checkpoint* the
course made itself: ``yolov5n.yaml`` (ultralytics' anchor-free "u" variant of YOLOv5 nano)
pre-trained on the generated ``source`` detection dataset (clothing classes), then fine-tuned on
the ``target`` dataset (footwear and bags).

The reference checkpoint ships with the package (asset ``yolo_source``: the trained network's
``state_dict`` in float32 safetensors, tensors sorted by name, sha256 in the manifest), so every
learner fine-tunes from the same weights, as every YOLOv5 user starts from the same ``yolov5s.pt``.
It was made by the cpu recipe (``python -m tlcourse.detection pretrain --profile cpu``).

The recipe stays runnable: :func:`pretrain` trains it on this machine. Floats round differently
on another CPU, torch build or thread count, so a checkpoint made here never has the reference's
bytes; it is checked by what it does instead (its mAP50 on the source test split must reach the
profile's ``source_min_map50``) and kept beside the cache for lesson 05's ``START = "own_source"``.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .assets import AssetError, cache_dir, fetch
from .data.detection import CLASSES, check_dataset, detection_dataset
from .device import thread_count
from .profiles import PROFILES, config

LESSON = "yolo_detection"
ARCH = "yolov5n.yaml"
WEIGHTS_NAME = "weights.safetensors"
SOURCE_ASSET = "yolo_source"
OFF_SETTINGS = {"sync": False, "clearml": False, "comet": False, "dvc": False, "mlflow": False,
                "raytune": False, "tensorboard": False, "wandb": False, "vscode_msg": False,
                "openvino_msg": False}


def offline(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """Switch every download ultralytics would try on its own off; call before importing it.

    Sets ``YOLO_OFFLINE=1`` (no online checks, no hub, no telemetry), ``YOLO_AUTOINSTALL=0`` (no pip
    installs) and ``YOLO_CONFIG_DIR`` (default ``<tlcourse cache>/ultralytics``) with matplotlib's
    DejaVu Sans copied to ``Ultralytics/Arial.ttf`` and ``Arial.Unicode.ttf`` (the fonts ultralytics
    otherwise downloads for its plots); after import, turns off sync and the logger integrations
    in its settings and takes the wall-clock limit off its NMS (:func:`_no_nms_time_limit`).
    Returns the ``Ultralytics`` settings folder.
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
    _restore_pillow_open()
    _no_nms_time_limit()
    return folder


def _no_nms_time_limit() -> None:
    """Take the wall-clock limit off ultralytics' non-maximum suppression.

    ``ultralytics.utils.nms.non_max_suppression`` stops after ``2.0 + max_time_img * batch`` seconds
    and returns the images of the batch it has not reached as empty, with a warning that
    ``YOLO_VERBOSE=False`` hides: on a slow laptop, or on a machine busy with other work, a
    validation then reports a wrong mAP (0.000 for a model that scores 0.07) and a prediction drops
    boxes, without an error (ultralytics issue #25954). The course's numbers must not depend on
    wall-clock time, so every caller (validation, prediction) gets ``max_time_img=inf``.
    """
    from ultralytics.utils import nms

    original = nms.non_max_suppression
    if getattr(original, "tlcourse_unlimited", False):
        return

    @functools.wraps(original)
    def unlimited(*args: Any, **kwargs: Any) -> Any:
        kwargs["max_time_img"] = math.inf
        return original(*args, **kwargs)

    unlimited.tlcourse_unlimited = True  # type: ignore[attr-defined]
    nms.non_max_suppression = unlimited


def _restore_pillow_open() -> None:
    """Give Pillow its own ``Image.open`` back after ultralytics replaced it.

    On import, ultralytics wraps ``PIL.Image.open`` for the whole process: a file Pillow cannot
    identify makes the wrapper try to install ``pi-heif`` (refused offline) and raise
    ``ModuleNotFoundError`` instead of Pillow's ``UnidentifiedImageError``, so every later reader
    (the course's corrupt-image checks included) would report a missing module instead of a bad
    image. The course ships no HEIF images, so nothing is lost.
    """
    from PIL import Image
    from ultralytics.utils import patches

    original = getattr(patches, "_image_open", None)
    if original is not None and Image.open is not original:
        Image.open = original


def save_canonical(state: dict[str, Any], path: Path) -> None:
    """Save a ``state_dict`` as float32 safetensors with sorted names and no metadata (bit-stable)."""
    import torch
    from safetensors.torch import save_file

    tensors = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in sorted(state.items())
               if v.is_floating_point()}
    tensors.update({k: v.detach().contiguous().clone() for k, v in state.items()
                    if not v.is_floating_point()})
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
                             cfg.source_test, seed=cfg.source_seed)
    check_dataset(data)
    torch.set_num_threads(thread_count())
    model = YOLO(ARCH)
    model.train(data=str(data), imgsz=cfg.source_image_size, epochs=cfg.source_epochs,
                batch=cfg.source_batch, seed=cfg.source_seed, deterministic=True, workers=0,
                device="cpu", amp=False, plots=False, val=True, project=str(work), name="source",
                exist_ok=True, verbose=False, mosaic=cfg.mosaic, close_mosaic=0,
                warmup_epochs=cfg.source_warmup_epochs)
    best = work / "source" / "weights" / "best.pt"
    ckpt = torch.load(best, map_location="cpu", weights_only=False)
    net = ckpt["ema"] if ckpt.get("ema") is not None else ckpt["model"]
    out = work / WEIGHTS_NAME
    save_canonical(net.float().state_dict(), out)
    return out


def evaluate_source(weights: str | os.PathLike[str], profile: str) -> dict[str, float]:
    """mAP50 and mAP50-95 of a source checkpoint on the profile's source *test* split.

    The split is generated by the same recipe as the training data (``source_seed``), so every
    machine scores a checkpoint on the same images.
    """
    cfg = config(LESSON, profile)
    offline()
    from ultralytics import YOLO

    data = detection_dataset("source", cfg.source_image_size, cfg.source_train, cfg.source_val,
                             cfg.source_test, seed=cfg.source_seed)
    with tempfile.TemporaryDirectory(prefix="tlcourse-source-eval-") as tmp:
        model = YOLO(to_ultralytics(weights, Path(tmp) / "source.pt"))
        res = model.val(data=str(data), split="test", imgsz=cfg.source_image_size, batch=cfg.source_batch,
                        workers=0, device="cpu", plots=False, verbose=False, project=tmp, name="val")
    return {"map50": float(res.box.map50), "map50_95": float(res.box.map)}


def own_checkpoint_path(profile: str) -> Path:
    """Where :func:`pretrain` puts the source checkpoint made on this machine for ``profile``."""
    return cache_dir() / "yolo_source_own" / profile / WEIGHTS_NAME


def pretrain(profile: str, *, force: bool = False) -> tuple[Path, dict[str, float]]:
    """Run the source recipe of ``profile`` here, check what the result *does*, and keep it.

    A checkpoint trained on another CPU or torch build has other bytes (floats round differently),
    so it is judged by behaviour: its mAP50 on the source test split must reach the profile's
    ``source_min_map50``, a band below what the recipe reached on the machines it was measured on.
    A checkpoint that passes is kept at :func:`own_checkpoint_path` (lesson 05 uses it with
    ``START = "own_source"``); one that fails is not kept. Returns the path and its scores.
    Unless ``force``, a checkpoint already made here is scored again instead of retrained.
    """
    cfg = config(LESSON, profile)
    band = float(cfg.source_min_map50)
    out = own_checkpoint_path(profile)
    if out.is_file() and not force:
        return out, evaluate_source(out, profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".tmp-pretrain-") as tmp:
        weights = _train_source(profile, Path(tmp))
        scores = evaluate_source(weights, profile)
        if scores["map50"] < band:
            raise AssetError(
                f"The source checkpoint trained here reaches mAP50 {scores['map50']:.3f} on the source "
                f"test split, below the {band:.2f} that the {profile} recipe reaches on the course's "
                "machines: something in this installation trains differently (check `python -m "
                "tlcourse doctor`), so it was not kept. Lesson 05 works with the course's reference "
                'checkpoint (START = "course_source").'
            )
        os.replace(weights, out)
    return out, scores


def source_checkpoint(own: str | None = None) -> Path:
    """The source checkpoint file lesson 05 starts from.

    By default the course's reference (asset ``yolo_source``, shipped with the package and verified
    by sha256), so every learner fine-tunes from the same weights, as from ``yolov5s.pt``. With
    ``own`` = a profile name, the checkpoint :func:`pretrain` made on this machine for that profile.
    """
    if own is None:
        return fetch(SOURCE_ASSET, progress=False) / WEIGHTS_NAME
    path = own_checkpoint_path(own)
    if not path.is_file():
        raise AssetError(
            f"No source checkpoint of your own for the {own} profile yet ({path}). Make it with: "
            f"python -m tlcourse.detection pretrain --profile {own}"
        )
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m tlcourse.detection pretrain --profile P [--force]``."""
    parser = argparse.ArgumentParser(prog="python -m tlcourse.detection", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pretrain", help="run the source recipe here and check the checkpoint by its mAP")
    p.add_argument("--profile", choices=PROFILES, required=True)
    p.add_argument("--force", action="store_true", help="train again even if one was made here before")
    args = parser.parse_args(argv)
    try:
        path, scores = pretrain(args.profile, force=args.force)
    except AssetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    band = config(LESSON, args.profile).source_min_map50
    print(f"{path}: source test mAP50 {scores['map50']:.3f} (at least {band:.2f} required), "
          f"mAP50-95 {scores['map50_95']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
