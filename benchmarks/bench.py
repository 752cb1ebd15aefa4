"""`make bench`: the course's recipes measured against their limits on this machine.

    python benchmarks/bench.py [--only NAME ...] [--quick]
    python benchmarks/bench.py --only     # re-read the notebooks' times from the ledger, keep the rest

Writes benchmarks/results.json and benchmarks/results.md and refreshes README's performance table
(between ``<!-- bench:begin -->`` and ``<!-- bench:end -->``). Every figure that load would blur is
a *ratio* of two things measured in the same run, alternating (A, B, A, B, ...) and taking medians,
so background load hits both alike. Goals are stated next to each ratio; a shortfall is reported,
never asserted: this is a measurement, not a test. Run it alone on the machine (the load at start
and end is recorded).

Sections: feature extraction (course path vs a bare inference loop, PyTorch and Keras; the lessons'
PNG loader for context), cached features vs recomputing the frozen base every epoch, fine-tuning
seconds per epoch and peak memory (frozen / top blocks / full, PyTorch and Keras; channels_last,
threads and DataLoader workers on CPU), BERT fine-tuning tokens/s with dynamic padding vs padding to
a maximum length, detection training images/s with the backbone frozen vs not, and the notebooks'
smoke and cpu times from the ledger.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import tlcourse as tl  # noqa: E402  (before TensorFlow)
import tlcourse.data.images  # noqa: E402, F401
import tlcourse.data.small  # noqa: E402, F401
import tlcourse.models  # noqa: E402, F401

OUT_JSON = ROOT / "benchmarks" / "results.json"
OUT_MD = ROOT / "benchmarks" / "results.md"
README = ROOT / "README.md"
THREADS = 2


def load() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def alternate(fns: dict[str, Callable[[], Any]], reps: int) -> dict[str, float]:
    """Median seconds of each function, run in turns ``reps`` times (after one warm-up each)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def fashion_tensors(n_per_class: int, size: int) -> tuple[Any, Any]:
    """Fashion-MNIST images as ImageNet-normalised [N, 3, size, size] float tensors, and labels."""
    import torch
    from torch import nn

    from tlcourse.data.small import fashion_subset
    from tlcourse.models import IMAGENET_MEAN, IMAGENET_STD

    x, y = fashion_subset(list(range(10)), {"train": n_per_class}, seed=0)["train"]
    t = nn.functional.interpolate(torch.from_numpy(x).unsqueeze(1), size=(size, size), mode="bilinear")
    t = (t.repeat(1, 3, 1, 1) - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(
        IMAGENET_STD).view(1, 3, 1, 1)
    return t.contiguous(), torch.from_numpy(y).long()


def torch_feature_model() -> Any:
    """MobileNetV2's frozen feature extractor as the lessons use it (features + global pooling)."""
    from torch import nn

    net, _ = tl.models.torch_backbone("mobilenet_v2")
    return nn.Sequential(net.features, nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval().requires_grad_(False)


def bench_extraction(quick: bool) -> dict[str, Any]:
    """Images/s through tl.features.extract_features_torch vs a bare inference_mode loop; Keras too."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    import tlcourse.features as feats

    n_per_class, size, batch = (20, 64, 100) if quick else (100, 64, 100)
    x, y = fashion_tensors(n_per_class, size)
    model = torch_feature_model()
    loader = DataLoader(TensorDataset(x, y), batch_size=batch)

    def bare() -> None:
        with torch.inference_mode():
            for i in range(0, len(x), batch):
                model(x[i:i + batch])

    def course() -> None:
        feats.extract_features_torch(model, loader, torch.device("cpu"))

    reps = 2 if quick else 3
    t = alternate({"bare": bare, "course": course}, reps)
    out = {"images": len(x), "image_size": size, "batch": batch,
           "torch_bare_img_s": len(x) / t["bare"], "torch_course_img_s": len(x) / t["course"],
           "torch_ratio": t["bare"] / t["course"], "goal": 0.9}

    # The lessons' path from PNG files (decoding included), for context.
    from torchvision import datasets
    from torchvision.transforms import v2

    root = tl.data.images.image_folder("fashion_mnist", {"train": n_per_class, "val": 1, "test": 1},
                                       image_size=size, seed=0)
    tf = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                     v2.Normalize(tl.models.IMAGENET_MEAN, tl.models.IMAGENET_STD)])
    png = DataLoader(datasets.ImageFolder(root / "train", transform=tf), batch_size=batch)
    tp = alternate({"bare": bare, "png": lambda: feats.extract_features_torch(model, png, torch.device("cpu"))},
                   reps)
    out["torch_png_img_s"] = len(png.dataset) / tp["png"]
    out["torch_png_ratio"] = (len(png.dataset) / tp["png"]) / (len(x) / tp["bare"])

    import keras
    import numpy as np
    import tensorflow as tf_

    base, preprocess = tl.models.keras_backbone("mobilenet_v2", (size, size, 3))
    inp = keras.Input((size, size, 3))
    kmodel = keras.Model(inp, base(preprocess(inp), training=False))
    pixels = np.random.default_rng(0).uniform(0, 255, (len(x), size, size, 3)).astype("float32")
    forward = tf_.function(lambda b: kmodel(b, training=False))

    def k_bare() -> None:
        for i in range(0, len(pixels), batch):
            forward(pixels[i:i + batch])

    def k_course() -> None:
        kmodel.predict(pixels, batch_size=batch, verbose=0)

    tk = alternate({"bare": k_bare, "course": k_course}, reps)
    out.update({"keras_bare_img_s": len(x) / tk["bare"], "keras_course_img_s": len(x) / tk["course"],
                "keras_ratio": tk["bare"] / tk["course"]})
    return out


def bench_cache(quick: bool) -> dict[str, Any]:
    """Head training on cached features vs recomputing the frozen base every epoch (same accuracy).

    Three timings, alternated: the cached recipe (one extraction, then E epochs on the features),
    the sources' recipe (the frozen base recomputed in every epoch) and the head's E epochs alone
    (on features already extracted): the last one says how far from free the head's own training is,
    which is what keeps the ratio below its limit E.
    """
    import torch
    from torch import nn

    lesson_epochs = int(tl.config("feature_extraction", "cpu").params.get("head_epochs", 5))
    x, y = fashion_tensors(20 if quick else 50, 64)
    base = torch_feature_model()
    batch = 50

    def extract() -> torch.Tensor:
        with torch.inference_mode():
            return torch.cat([base(x[i:i + batch]) for i in range(0, len(x), batch)])

    features = extract()
    rows = {}
    for epochs in (lesson_epochs, 20):
        heads: dict[str, torch.Tensor] = {}

        def run(mode: str, epochs: int = epochs, heads: dict = heads) -> None:
            torch.manual_seed(0)
            head = nn.Linear(1280, 10)
            opt = torch.optim.Adam(head.parameters(), lr=1e-3)
            f = extract() if mode == "cached" else features
            for _ in range(epochs):
                for i in range(0, len(x), batch):
                    if mode == "recompute":
                        with torch.inference_mode():
                            fb = base(x[i:i + batch])
                    else:
                        fb = f[i:i + batch]
                    loss = nn.functional.cross_entropy(head(fb.clone()), y[i:i + batch])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            heads[mode] = head.weight.detach().clone()

        t = alternate({m: (lambda m=m: run(m)) for m in ("cached", "recompute", "head")}, 1 if quick else 3)
        rows[str(epochs)] = {"epochs": epochs, "cached_s": t["cached"], "recompute_s": t["recompute"],
                             "head_only_s": t["head"], "ratio": t["recompute"] / t["cached"], "limit": epochs,
                             "goal": 0.8 * epochs,
                             "same_head": bool(torch.allclose(heads["cached"], heads["recompute"], atol=1e-5))}
    return {"images": len(x), "by_epochs": rows}


CHILD_CODE = r"""
import json, sys, threading, time
sys.path.insert(0, {root!r})
import tlcourse as tl
import tlcourse.data.images, tlcourse.models, tlcourse.train
spec = json.loads(sys.argv[1])
tl.seed_everything(0, threads=spec.get("threads", 2))
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
sys.path.insert(0, {bench!r})
from bench import fashion_tensors
x, y = fashion_tensors(spec["per_class"], spec["size"])

def rss_mb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS")) / 1024

class Peak(threading.Thread):
    "Samples this process's resident memory every 5 ms while the timed epochs run."
    def __init__(self):
        super().__init__(daemon=True); self.peak = 0.0; self.running = True
    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mb()); time.sleep(0.005)

if spec["framework"] == "torch":
    net, _ = tl.models.torch_backbone("mobilenet_v2")
    net.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 10))
    net.requires_grad_(spec["mode"] == "full")
    if spec["mode"] == "top":
        for b in net.features[-3:]:
            for m in b.modules():
                if isinstance(m, nn.Conv2d):
                    m.requires_grad_(True)
    net.classifier.requires_grad_(True)
    if spec.get("channels_last"):
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-4)
    if spec.get("png"):
        from torchvision import datasets
        from torchvision.transforms import v2
        root = tl.data.images.image_folder("fashion_mnist", {{"train": spec["per_class"], "val": 1, "test": 1}},
                                           image_size=spec["size"], seed=0)
        tf = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                         v2.Normalize(tl.models.IMAGENET_MEAN, tl.models.IMAGENET_STD)])
        loader = DataLoader(datasets.ImageFolder(root / "train", transform=tf), batch_size=50, shuffle=True,
                            num_workers=spec.get("workers", 0))
    else:
        loader = DataLoader(TensorDataset(x, y), batch_size=50, shuffle=True)
    def epoch():
        net.train()
        tl.train.freeze_bn_stats(net)
        for xb, yb in loader:
            if spec.get("channels_last"):
                xb = xb.contiguous(memory_format=torch.channels_last)
            loss = nn.functional.cross_entropy(net(xb), yb)
            opt.zero_grad(); loss.backward(); opt.step()
    epoch()
    base_mb = rss_mb(); peak = Peak(); peak.start()
    times = []
    for _ in range(spec["epochs"]):
        t = time.perf_counter(); epoch(); times.append(time.perf_counter() - t)
    peak.running = False; peak.join()
else:
    import keras
    import numpy as np
    base, pre = tl.models.keras_backbone("mobilenet_v2", (spec["size"], spec["size"], 3))
    inp = keras.Input((spec["size"], spec["size"], 3))
    out = keras.layers.Dense(10)(base(pre(inp)))
    model = keras.Model(inp, out)
    base.trainable = spec["mode"] != "frozen"
    if spec["mode"] == "top":
        weighted = [l for l in base.layers if l.weights]
        top = weighted[-9:]
        for l in base.layers:
            l.trainable = l in top
    for l in base.layers:
        if isinstance(l, keras.layers.BatchNormalization):
            l.trainable = False
    model.compile(keras.optimizers.Adam(1e-4), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    px = (np.random.default_rng(0).uniform(0, 255, (len(y), spec["size"], spec["size"], 3))).astype("float32")
    yy = y.numpy()
    model.fit(px, yy, batch_size=50, epochs=1, verbose=0)
    base_mb = rss_mb(); peak = Peak(); peak.start()
    times = []
    for _ in range(spec["epochs"]):
        t = time.perf_counter(); model.fit(px, yy, batch_size=50, epochs=1, verbose=0); times.append(time.perf_counter() - t)
    peak.running = False; peak.join()
print("RESULT " + json.dumps({{"s_per_epoch": sorted(times)[len(times) // 2], "rss_before_mb": base_mb,
                             "peak_rss_mb": peak.peak, "training_mb": peak.peak - base_mb}}))
"""


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one fine-tuning configuration in a fresh process (so its peak memory is its own)."""
    code = CHILD_CODE.format(root=str(ROOT), bench=str(ROOT / "benchmarks"))
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True,
                          timeout=1800)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        raise RuntimeError(f"benchmark child {spec} failed:\n{proc.stderr[-2000:]}")
    return json.loads(line[len("RESULT "):])


def bench_finetune(quick: bool) -> dict[str, Any]:
    """Seconds per epoch and peak memory: frozen / top blocks / full, PyTorch and Keras; CPU knobs."""
    base = {"per_class": 10 if quick else 50, "size": 64, "epochs": 1 if quick else 3}
    rows = {}
    for fw in ("torch", "keras"):
        for mode in ("frozen", "top", "full"):
            rows[f"{fw} {mode}"] = child({**base, "framework": fw, "mode": mode})
    knobs = {
        "torch full, channels_last": {"channels_last": True},
        "torch full, 1 thread": {"threads": 1},
        "torch full, PNG loader, 0 workers": {"png": True, "workers": 0},
        "torch full, PNG loader, 2 workers": {"png": True, "workers": 2},
    }
    for name, extra in knobs.items():
        rows[name] = child({**base, "framework": "torch", "mode": "full", **extra})
    return {"images": 10 * base["per_class"], "image_size": 64, "batch": 50, "runs": rows,
            "note": "one process per row; memory sampled every 5 ms during the timed epochs, and what training "
                    "adds to the resident memory before them; 2 threads unless stated; no GPU here, so mixed "
                    "precision is not measured"}


def bench_bert(quick: bool) -> dict[str, Any]:
    """MiniLM fine-tuning steps: real (non-padding) tokens/s, dynamic padding vs padding to 128."""
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
    )

    import tlcourse.data.text as text

    model_dir = tl.fetch("minilm_l6_v2", progress=False)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    df = text.load_sentiment_domains(domains=["movies"])
    texts = list(df["text"])[:256]
    n = 64 if quick else 256
    texts = (texts * (n // len(texts) + 1))[:n]
    collate = DataCollatorWithPadding(tok)
    batch = 16

    def steps(pad_max: bool) -> tuple[float, int]:
        real, start = 0, time.perf_counter()
        model.train()
        for i in range(0, n, batch):
            enc = tok(texts[i:i + batch], truncation=True, max_length=128,
                      padding="max_length" if pad_max else False)
            b = collate([{k: enc[k][j] for k in enc} for j in range(len(enc["input_ids"]))])
            real += int(b["attention_mask"].sum())
            out = model(**b, labels=torch.zeros(len(b["input_ids"]), dtype=torch.long))
            opt.zero_grad()
            out.loss.backward()
            opt.step()
        return time.perf_counter() - start, real

    results = {}
    for _ in range(2 if quick else 3):
        for mode in (False, True):
            t, real = steps(mode)
            results.setdefault(mode, []).append((t, real))
    dyn = statistics.median(r / t for t, r in results[False])
    pad = statistics.median(r / t for t, r in results[True])
    return {"texts": n, "batch": batch, "max_length": 128, "dynamic_tokens_s": dyn, "padded_tokens_s": pad,
            "ratio": dyn / pad}


def bench_detection(quick: bool) -> dict[str, Any]:
    """Ultralytics YOLOv5n training images/s with the backbone frozen (freeze=10) vs not."""
    import tlcourse.detection as det

    det.offline()
    from ultralytics import YOLO

    from tlcourse.data.detection import detection_dataset

    n = 32 if quick else 96
    data = detection_dataset("target", 128, n, 8, 8, seed=0)
    work = tl.assets.cache_dir() / "runs" / "bench"
    out = {}
    for _ in range(1 if quick else 2):
        for freeze in (None, 10):
            model = YOLO("yolov5nu.yaml")
            start = time.perf_counter()
            model.train(data=str(data), imgsz=128, epochs=1, batch=8, workers=0, device="cpu", amp=False,
                        plots=False, val=False, project=str(work), name=f"f{freeze}", exist_ok=True,
                        verbose=False, freeze=freeze, warmup_epochs=0)
            out.setdefault(str(freeze), []).append(n / (time.perf_counter() - start))
    full, frozen = statistics.median(out["None"]), statistics.median(out["10"])
    return {"images": n, "image_size": 128, "full_img_s": full, "frozen_img_s": frozen, "ratio": frozen / full}


def ledger_times() -> dict[str, Any]:
    """Seconds per notebook and profile from docs/results.json (what make verify measured)."""
    data = tl.ledger.load()
    out: dict[str, Any] = {}
    for profile, notebooks in data.get("profiles", {}).items():
        for stem, entry in sorted(notebooks.items()):
            sec = entry.get("summary", {}).get("seconds")
            if sec:
                out.setdefault(stem, {})[profile] = sec
    return out


SECTIONS = {"extraction": bench_extraction, "cache": bench_cache, "finetune": bench_finetune,
            "bert": bench_bert, "detection": bench_detection}


def _verdict(ratio: float, goal: float) -> str:
    return "(met)" if ratio >= goal else "(**short**)"


def markdown(res: dict[str, Any]) -> str:
    """The results as Markdown tables."""
    lines = [f"Measured {res['date']} on {res['machine']} by `make bench` (load {res['load_start']:.1f} at start, "
             f"{res['load_end']:.1f} at end).", ""]
    e = res.get("extraction")
    if e:
        lines += ["| frozen-backbone feature extraction | course path | bare loop | ratio | goal |",
                  "|---|---|---|---|---|",
                  f"| PyTorch, tensors ({e['images']} imgs, {e['image_size']} px) | {e['torch_course_img_s']:.0f} img/s "
                  f"| {e['torch_bare_img_s']:.0f} img/s | {e['torch_ratio']:.2f} | >= {e['goal']} "
                  f"{_verdict(e['torch_ratio'], e['goal'])} |",
                  f"| PyTorch, lessons' PNG ImageFolder loader | {e['torch_png_img_s']:.0f} img/s | (same bare) "
                  f"| {e['torch_png_ratio']:.2f} | context |",
                  f"| Keras `predict` vs a `tf.function` loop | {e['keras_course_img_s']:.0f} img/s "
                  f"| {e['keras_bare_img_s']:.0f} img/s | {e['keras_ratio']:.2f} | >= {e['goal']} "
                  f"{_verdict(e['keras_ratio'], e['goal'])} |", ""]
    c = res.get("cache")
    if c:
        lines += [f"| head training on {c['images']} images, E epochs | cached features | of which the head's E "
                  "epochs | recompute base every epoch | ratio | limit | goal | same head |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in c["by_epochs"].values():
            lines.append(f"| E = {r['epochs']} | {r['cached_s']:.2f} s | {r['head_only_s']:.2f} s "
                         f"| {r['recompute_s']:.1f} s | {r['ratio']:.1f} | {r['limit']} | >= {r['goal']:.1f} "
                         f"{_verdict(r['ratio'], r['goal'])} | {r['same_head']} |")
        parts = [f"{(r['recompute_s'] - r['head_only_s']) / (r['cached_s'] - r['head_only_s']):.1f} at E = "
                 f"{r['epochs']}" for r in c["by_epochs"].values()]
        lines += ["", "The limit E assumes that the head's own epochs cost nothing; both recipes pay them. Without "
                  "them, (recompute - head) / (cached - head) = " + ", ".join(parts) + ": what caching removes "
                  "(E - 1 passes through the frozen base) it removes almost entirely.", ""]
    f = res.get("finetune")
    if f:
        lines += [f"| fine-tuning ({f['images']} imgs, {f['image_size']} px, batch {f['batch']}) | s / epoch "
                  "| peak RSS while training | of which training adds |", "|---|---|---|---|"]
        for name, r in f["runs"].items():
            lines.append(f"| {name} | {r['s_per_epoch']:.2f} | {r['peak_rss_mb']:.0f} MB "
                         f"| {r['training_mb']:.0f} MB |")
        lines += ["", f"({f['note']}.)", ""]
    b = res.get("bert")
    if b:
        lines += ["| MiniLM fine-tuning, real tokens/s | dynamic padding | pad to 128 | ratio |", "|---|---|---|---|",
                  f"| {b['texts']} texts, batch {b['batch']} | {b['dynamic_tokens_s']:.0f} | {b['padded_tokens_s']:.0f} "
                  f"| {b['ratio']:.1f} |", ""]
    d = res.get("detection")
    if d:
        lines += ["| YOLOv5n training, images/s | all layers | backbone frozen (freeze=10) | ratio |",
                  "|---|---|---|---|",
                  f"| {d['images']} imgs, {d['image_size']} px | {d['full_img_s']:.1f} | {d['frozen_img_s']:.1f} "
                  f"| {d['ratio']:.2f} |", ""]
    t = res.get("ledger_times")
    if t:
        lines += ["| notebook | smoke (s, mean) | cpu (s, mean) |", "|---|---|---|"]
        for stem, profiles in t.items():
            cell = {p: f"{v['mean']:.0f}" for p, v in profiles.items()}
            lines.append(f"| {stem} | {cell.get('smoke', '-')} | {cell.get('cpu', '-')} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", choices=sorted(SECTIONS),
                    help="sections to run (default: all); with no names, only the notebooks' times are "
                         "re-read from the ledger and the measured sections are kept")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (to try the script, not to report)")
    ap.add_argument("--no-write", action="store_true", help="print only; write no file")
    args = ap.parse_args(argv)
    tl.seed_everything(0, threads=THREADS)
    sections = list(SECTIONS) if args.only is None else args.only  # [] = only re-read the ledger times
    res: dict[str, Any] = json.loads(OUT_JSON.read_text()) if OUT_JSON.is_file() and args.only is not None else {}
    if not sections and not res:
        ap.error(f"--only without sections refreshes {OUT_JSON.name}, which does not exist yet: run all first")
    if sections:
        res.update({"date": date.today().isoformat(), "load_start": load(), "quick": args.quick,
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU", "threads": THREADS})
    for name in sections:
        print(f"bench {name} ...", flush=True)
        start = time.perf_counter()
        res[name] = SECTIONS[name](args.quick)
        print(f"  {time.perf_counter() - start:.0f} s: {json.dumps(res[name])[:300]}", flush=True)
    res["ledger_times"] = ledger_times()
    if sections:
        res["load_end"] = load()
    md = markdown(res)
    print(md)
    if not args.no_write:
        OUT_JSON.write_text(json.dumps(res, indent=1) + "\n")
        OUT_MD.write_text("# Benchmarks\n\n" + md + "\n")
        readme = README.read_text()
        block = re.compile(r"(<!-- bench:begin -->\n).*?(<!-- bench:end -->)", re.S)
        if block.search(readme):
            README.write_text(block.sub(lambda m: m.group(1) + md + "\n" + m.group(2), readme))
    return 0


if __name__ == "__main__":
    sys.exit(main())
