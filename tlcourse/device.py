"""Devices, seeding and the environment banner every notebook prints first."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import platform
import random
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from types import ModuleType
from typing import Any

import numpy as np

REPORTED_PACKAGES = (
    "tlcourse", "numpy", "torch", "torchvision", "tensorflow-cpu", "tensorflow", "keras",
    "transformers", "datasets", "ultralytics", "scikit-learn", "jupyterlab",
)


def torch_device(prefer: str | None = None) -> Any:
    """The best PyTorch device: CUDA, then Apple MPS, then CPU (or ``prefer`` if given)."""
    import torch

    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def tf_gpus() -> list[str]:
    """Names of the GPUs TensorFlow sees (imports TensorFlow; ``[]`` on CPU builds)."""
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")]


DEFAULT_THREADS = 2


def thread_count() -> int:
    """CPU threads the frameworks may use: ``$TLCOURSE_THREADS``, default 2."""
    raw = os.environ.get("TLCOURSE_THREADS", "").strip()
    if not raw:
        return DEFAULT_THREADS
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"TLCOURSE_THREADS={raw!r} is not a thread count; use a whole number >= 1.")
    return n


def _fix_tensorflow_threads(n: int) -> None:
    """TensorFlow's intra-/inter-op pools: env vars it reads when its runtime starts, or its API."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(n)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(n)
    if "tensorflow" not in sys.modules:
        return
    import tensorflow as tf

    threading = tf.config.threading
    if (threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()) == (n, n):
        return
    try:
        threading.set_intra_op_parallelism_threads(n)
        threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:  # the runtime already started: its pools cannot change any more
        print(f"note: TensorFlow already ran an operation, so its thread count stays as it was; call "
              f"tl.seed_everything before the first TensorFlow operation to fix it to {n}.")


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Seed Python, NumPy, PyTorch and TensorFlow/Keras, and fix their CPU thread count.

    The thread count (``threads``, else ``$TLCOURSE_THREADS``, default 2) decides how
    floating-point sums are split and so their round-off: fixed, a seed gives the same numbers on
    a busy machine and an idle one, with 1 core or 16. TensorFlow takes it when it starts its
    runtime, so call this before TensorFlow's first operation.
    """
    n = threads or thread_count()
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.set_num_threads(n)
        torch.manual_seed(seed)
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    _fix_tensorflow_threads(n)
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)


# TensorFlow 2.21 writes these two lines to the process's stderr while it is imported, through absl
# logging that it has not configured yet, so TF_CPP_MIN_LOG_LEVEL cannot reach them (upstream:
# tensorflow/tensorflow#102212); in JupyterLab they show as a red box. Only they are dropped; every
# other line written during the import is passed on unchanged. (TF_ENABLE_ONEDNN_OPTS=0 would also
# remove them, by turning off the oneDNN kernels: Keras' MobileNetV2 inference then took 1.7-1.9x as
# long in a quick test on a loaded 2-core machine.)
TF_STARTUP_NOISE = (
    re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
    re.compile(r"I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\. .*"),
)


@contextmanager
def drop_stderr_lines(patterns: tuple[re.Pattern[str], ...]) -> Iterator[None]:
    """Hold what is written to file descriptor 2 meanwhile; then pass on every line no pattern matches."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    with tempfile.TemporaryFile() as held:
        sys.stderr.flush()
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            kept = [ln for ln in lines if not any(p.fullmatch(ln.rstrip("\r\n")) for p in patterns)]
            if kept:
                os.write(2, "".join(kept).encode())


class _FilteredLoader(importlib.abc.Loader):
    """Runs a module's real loader inside :func:`drop_stderr_lines`."""

    def __init__(self, loader: importlib.abc.Loader, patterns: tuple[re.Pattern[str], ...]) -> None:
        self.loader, self.patterns = loader, patterns

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with drop_stderr_lines(self.patterns):
            try:
                self.loader.exec_module(module)
            finally:  # afterwards the module shows its real loader
                module.__loader__ = self.loader
                if module.__spec__ is not None:
                    module.__spec__.loader = self.loader


class StartupFilter(importlib.abc.MetaPathFinder):
    """On the first import of ``name``, drop the known start-up ``patterns`` from its stderr."""

    def __init__(self, name: str, patterns: tuple[re.Pattern[str], ...]) -> None:
        self.name, self.patterns = name, patterns

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _FilteredLoader(spec.loader, self.patterns)
        return spec


def quiet_tensorflow_startup() -> None:
    """Install the filter of :data:`TF_STARTUP_NOISE` for TensorFlow's import (if not imported yet)."""
    if "tensorflow" in sys.modules or any(isinstance(f, StartupFilter) and f.name == "tensorflow"
                                          for f in sys.meta_path):
        return
    sys.meta_path.insert(0, StartupFilter("tensorflow", TF_STARTUP_NOISE))


def package_versions() -> dict[str, str]:
    """Installed versions of the course's main packages (without importing them)."""
    out = {}
    for name in REPORTED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def env_report(lesson: str | None = None, assets: bool = True) -> str:
    """Print and return one banner: Python, versions, devices, profile, cache, assets present."""
    from . import assets as assets_mod
    from .profiles import active_profile

    lines = [
        f"tlcourse environment{' - ' + lesson if lesson else ''}",
        f"  python      {sys.version.split()[0]} on {platform.system()} {platform.machine()}",
        "  packages    " + ", ".join(f"{k} {v}" for k, v in package_versions().items()),
    ]
    try:
        dev = torch_device()
        detail = ""
        if dev.type == "cuda":
            import torch

            detail = f" ({torch.cuda.get_device_name(0)})"
        lines.append(f"  torch       device {dev}{detail}")
    except ImportError:
        lines.append("  torch       not installed")
    if "tensorflow" in sys.modules:
        lines.append(f"  tensorflow  GPUs {tf_gpus() or 'none (CPU)'}")
    else:
        lines.append("  tensorflow  not imported yet (tl.tf_gpus() lists its GPUs)")
    lines.append(f"  profile     {active_profile()}  (set TLCOURSE_PROFILE=smoke|cpu|full)")
    lines.append(f"  cache       {assets_mod.cache_dir()}")
    if assets:
        rows = assets_mod.status()
        have = [r["id"] for r in rows if r["present"]]
        miss = [r["id"] for r in rows if not r["present"]]
        lines.append(f"  assets      present: {', '.join(have) or 'none'}")
        if miss:
            lines.append(f"              missing: {', '.join(miss)}")
    text = "\n".join(lines)
    print(text)
    return text
