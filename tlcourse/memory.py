"""Peak memory of a few training steps, measured the way ``benchmarks/bench.py`` measures it.

On a CPU, PyTorch's tensors are invisible to Python's ``tracemalloc``, and a process's peak resident
memory (``resource.getrusage``) only ever grows, so runs in one kernel cannot be told apart. So each
measurement runs in a **fresh process**: it loads the model, warms up with one forward pass, then
trains a few steps while a thread samples the process's resident memory (RSS) every 5 ms::

    row = measure_training({"model_dir": str(model_dir), "mode": "lora", "texts": [...], "labels": [...],
                            "lora": {"r": 8, "lora_alpha": 16, "target_modules": ["query", "value"]}})
    row["peak_mb"], row["added_mb"]   # peak RSS while training; what training added to the RSS before it

``mode`` is ``"frozen"`` (forward passes without gradients: what a frozen encoder costs),
``"lora"`` (a ``peft`` LoRA model: adapters and the head train) or ``"full"`` (every weight
trains). The optimizer is AdamW over the trainable parameters, as ``transformers.Trainer`` uses.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

MODES = ("frozen", "lora", "full")
_RESULT = "TLCOURSE-MEMORY "


def rss_mb() -> float:
    """This process's resident memory in MiB (psutil: Linux, macOS and Windows)."""
    return psutil.Process().memory_info().rss / 2**20


class PeakRSS:
    """Context manager: sample :func:`rss_mb` every ``interval`` seconds in a thread.

    After the block, ``before_mb`` is the RSS on entry, ``peak_mb`` the largest sample (in MiB) and
    ``added_mb`` their difference: what the block added at its peak.
    """

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.before_mb = self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, rss_mb())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.before_mb = self.peak_mb = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, rss_mb())

    @property
    def added_mb(self) -> float:
        return self.peak_mb - self.before_mb


def validate_spec(spec: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the field when ``spec`` cannot describe a measurement."""
    for field in ("model_dir", "mode", "texts", "labels"):
        if field not in spec:
            raise ValueError(f"measure_training: the spec has no {field!r} field (needs model_dir, mode, texts, labels).")
    if not (Path(spec["model_dir"]) / "config.json").is_file():
        raise ValueError(f"measure_training: model_dir={spec['model_dir']!r} is not a model folder (no config.json); "
                         "pass the folder tl.fetch returns.")
    if spec["mode"] not in MODES:
        raise ValueError(f"measure_training: mode={spec['mode']!r}; use one of {', '.join(MODES)}.")
    if spec["mode"] == "lora" and not isinstance(spec.get("lora"), Mapping):
        raise ValueError("measure_training: mode='lora' needs a 'lora' field, the keyword arguments of peft.LoraConfig.")
    if len(spec["texts"]) != len(spec["labels"]) or not spec["texts"]:
        raise ValueError(f"measure_training: {len(spec['texts'])} texts and {len(spec['labels'])} labels; "
                         "give the same number, at least one.")


def _measure_here(spec: Mapping[str, Any]) -> dict[str, float]:
    """The child's work: load, warm up, train ``steps`` batches under :class:`PeakRSS`."""
    import tlcourse as tl

    tl.seed_everything(int(spec.get("seed", 0)), threads=spec.get("threads"))
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()  # no load report: the child's stderr is shown only when it fails
    tokenizer = AutoTokenizer.from_pretrained(spec["model_dir"])
    model = AutoModelForSequenceClassification.from_pretrained(spec["model_dir"], num_labels=2)
    if spec["mode"] == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", **spec["lora"]))
    elif spec["mode"] == "frozen":
        model.requires_grad_(False)
    batch_size, texts, labels = int(spec.get("batch_size", 16)), list(spec["texts"]), list(spec["labels"])
    batches = [(tokenizer(texts[i:i + batch_size], padding=True, truncation=True,
                          max_length=int(spec.get("max_length", 64)), return_tensors="pt"),
                torch.tensor(labels[i:i + batch_size])) for i in range(0, len(texts), batch_size)]
    with torch.no_grad():
        model.eval()(**batches[0][0])  # warm-up: lazily allocated kernels are not training's memory
    trainable = [p for p in model.parameters() if p.requires_grad]
    model.train()
    start = time.perf_counter()
    with PeakRSS() as peak:
        if trainable:
            optimizer = torch.optim.AdamW(trainable, lr=1e-4)
            for encoded, y in batches:
                model(**encoded, labels=y).loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
        else:
            with torch.no_grad():
                for encoded, _ in batches:
                    model(**encoded)
    return {"before_mb": peak.before_mb, "peak_mb": peak.peak_mb, "added_mb": peak.added_mb,
            "steps": len(batches), "seconds": time.perf_counter() - start,
            "trainable": sum(p.numel() for p in trainable)}


def measure_training(spec: Mapping[str, Any], timeout: float = 600.0) -> dict[str, float]:
    """Run one measurement (see the module docstring) in a fresh Python process; return its numbers.

    Keys: ``before_mb`` (RSS after loading and the warm-up), ``peak_mb``, ``added_mb``, ``steps``,
    ``seconds`` and ``trainable`` (parameters the optimizer updates). A failing child raises
    ``RuntimeError`` with the end of its stderr.
    """
    validate_spec(spec)
    proc = subprocess.run([sys.executable, "-m", "tlcourse.memory", json.dumps(dict(spec))],
                          capture_output=True, text=True, timeout=timeout)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(_RESULT)), None)
    if proc.returncode or line is None:
        raise RuntimeError(f"the memory measurement ({spec['mode']}) failed in its own process:\n{proc.stderr[-3000:]}")
    return json.loads(line[len(_RESULT):])


if __name__ == "__main__":
    _spec = json.loads(sys.argv[1])
    validate_spec(_spec)
    print(_RESULT + json.dumps(_measure_here(_spec)))
