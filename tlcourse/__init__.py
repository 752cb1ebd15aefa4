"""tlcourse: the helpers shared by the transfer-learning course's notebooks.

Importing it is cheap (no torch or TensorFlow import). Typical first cell of a lesson::

    import tlcourse as tl
    LESSON = tl.lessons.get("02")
    cfg = LESSON.config()
    tl.env_report("feature_extraction")
    tl.seed_everything(cfg.seed)
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter quiet
# Idle OpenMP threads sleep instead of spinning: on a busy 2-core laptop spinning threads starved
# PyTorch (81 -> 2 images/s measured); set before torch loads.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# TensorFlow takes GPU memory as it needs it instead of all of it at start, so PyTorch in the same
# kernel still finds memory (no effect on CPU; set before TensorFlow loads).
_os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")

try:  # triton (a torch dependency) must load before TensorFlow: loaded after it, creating a torch
    import triton  # noqa: F401  optimizer segfaults the process (torch 2.14 + TF 2.21).
except ImportError:
    pass

from . import assets, checks, ledger, lessons  # noqa: E402
from .assets import AssetError, fetch  # noqa: E402
from .device import env_report, seed_everything, tf_gpus, torch_device  # noqa: E402
from .device import quiet_tensorflow_startup as _quiet_tensorflow_startup  # noqa: E402
from .profiles import PROFILES, Config, active_profile, config  # noqa: E402

_quiet_tensorflow_startup()  # drops TensorFlow's two absl start-up lines (tlcourse/device.py)

__version__ = "0.1.0"
__all__ = [
    "PROFILES", "AssetError", "Config", "active_profile", "assets", "checks", "config",
    "env_report", "fetch", "ledger", "lessons", "seed_everything", "tf_gpus", "torch_device",
]
