"""``python -m tlcourse doctor --smoke``: prove that each lesson's frameworks start and train here.

The asset check of ``doctor`` says what is on disk; this one starts a real Jupyter kernel (the one
JupyterLab starts for a lesson, with nbclient), offline, and runs one tiny step in each framework:
a PyTorch and a Keras training step, a scikit-learn fit, a forward pass of the offline MiniLM
encoder with transformers, a YOLO network built by ultralytics in offline mode, and an all-reduce
of ``torch.distributed`` (gloo) with Accelerate imported. It prints one line per lesson, ``ready``
or what failed and what to do, so a laptop that would fail at 09:05 fails at 08:45 instead.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any

SETUP = "make setup (offline: make setup WHEELS=<the room's wheel folder>), then run the doctor again"

# Each step: the code its kernel cell runs, and what to do when it fails.
STEPS: dict[str, tuple[str, str]] = {
    "kernel": ("import tlcourse as tl\ntl.seed_everything(0)", SETUP),
    "torch": (
        "import torch\nimport torchvision  # noqa: F401\n"
        "m = torch.nn.Linear(4, 2)\nopt = torch.optim.SGD(m.parameters(), lr=0.1)\n"
        "m(torch.randn(8, 4)).pow(2).mean().backward()\nopt.step()",
        SETUP,
    ),
    "scikit-learn": (
        "from sklearn.linear_model import LogisticRegression\n"
        "LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])",
        SETUP,
    ),
    "keras": (
        "import numpy as np\nimport keras\n"
        "km = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\nkm.compile('sgd', 'mse')\n"
        "km.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=1, verbose=0)",
        SETUP,
    ),
    "transformers": (
        "if not tl.assets.is_present('minilm_l6_v2'):\n"
        "    raise RuntimeError('the asset minilm_l6_v2 is not in the cache')\n"
        "from transformers import AutoModel, AutoTokenizer\n"
        "where = tl.assets.asset_dir('minilm_l6_v2')\n"
        "tok, enc = AutoTokenizer.from_pretrained(where), AutoModel.from_pretrained(where)\n"
        "with torch.no_grad():\n"
        "    assert enc(**tok(['ready?'], return_tensors='pt')).last_hidden_state.shape[-1] == 384",
        "python -m tlcourse fetch minilm_l6_v2 (or import the room's bundle); if it is present: " + SETUP,
    ),
    "ultralytics": (
        "import tlcourse.detection\ntl.detection.offline()\nfrom ultralytics.nn.tasks import DetectionModel\n"
        "yolo = DetectionModel('yolov5n.yaml', nc=2, verbose=False)\nyolo(torch.zeros(1, 3, 64, 64))",
        SETUP,
    ),
    "torch.distributed": (
        "import tempfile\nimport accelerate  # noqa: F401\nimport torch.distributed as dist\n"
        "store = tempfile.mkdtemp()\n"
        "dist.init_process_group('gloo', init_method=f'file://{store}/rendezvous', rank=0, world_size=1)\n"
        "t = torch.ones(1)\ndist.all_reduce(t)\ndist.destroy_process_group()\nassert t.item() == 1.0",
        SETUP,
    ),
}

def lesson_needs() -> dict[str, tuple[str, ...]]:
    """What each lesson needs, in the order the steps run: ``needs`` in its registry entry ([lesson] of its
    TOML file). A step that :data:`STEPS` does not know is an error in that file."""
    from .lessons import all_lessons

    out = {}
    for lesson in all_lessons():
        unknown = [n for n in lesson.needs if n not in STEPS]
        if unknown or not lesson.needs:
            raise ValueError(f"{lesson.toml}: [lesson] needs = {list(lesson.needs)}: one or more of "
                             f"{', '.join(STEPS)} (unknown: {unknown or 'none given'}).")
        out[lesson.stem] = lesson.needs
    return out


OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
               "YOLO_OFFLINE": "1", "TLCOURSE_PROFILE": "smoke", "TF_CPP_MIN_LOG_LEVEL": "2"}


@dataclass
class Step:
    """The outcome of one step in the kernel."""

    name: str
    ok: bool
    seconds: float = 0.0
    error: str = ""


def _error_of(outputs: list[Any]) -> str:
    for out in outputs:
        if out.get("output_type") == "error":
            return f"{out['ename']}: {out['evalue']}".strip().splitlines()[0][:300]
    return ""


def run_steps(names: list[str], timeout: int = 120, kernel_name: str = "python3") -> list[Step]:
    """Run ``names`` (keys of :data:`STEPS`), in order, in one fresh kernel; one :class:`Step` each.

    A step whose cell raises is marked failed with the error's first line and the kernel goes on
    (a later step may still pass); if the kernel cannot start or dies, every step not yet run fails
    with that reason.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(STEPS[n][0]) for n in names]
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=True)
    client.reset_execution_trackers()
    results: list[Step] = []
    try:
        # the kernel's own log (TensorFlow's start-up lines) stays out of the report: errors are in the cells
        with client.setup_kernel(env={**os.environ, **OFFLINE_ENV}, stderr=subprocess.DEVNULL):
            for i, (name, cell) in enumerate(zip(names, nb.cells, strict=True)):
                start = time.perf_counter()
                try:
                    client.execute_cell(cell, i)
                except Exception as exc:  # noqa: BLE001  (a dead kernel or a timeout: say which step)
                    results.append(Step(name, False, time.perf_counter() - start,
                                        f"the kernel stopped here ({type(exc).__name__}: {exc})"[:300]))
                    break
                error = _error_of(cell.outputs)
                results.append(Step(name, not error, time.perf_counter() - start, error))
    except Exception as exc:  # noqa: BLE001  (no kernel at all: every step fails with the reason)
        if not results:
            reason = f"the Jupyter kernel {kernel_name!r} did not start ({type(exc).__name__}: {exc})"
            return [Step(n, False, 0.0, reason[:300]) for n in names]
    done = {s.name for s in results}
    results += [Step(n, False, 0.0, "not run: the kernel stopped at an earlier step") for n in names if n not in done]
    return results


def lesson_lines(steps: list[Step], lessons: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """One line per lesson (default: :func:`lesson_needs`): ``ready`` with the steps it needs, or the first
    failed step and the fix."""
    lessons = lesson_needs() if lessons is None else lessons
    by_name = {s.name: s for s in steps}
    width = max(map(len, lessons))
    lines = []
    for lesson, needs in lessons.items():
        failed = [by_name[n] for n in needs if not by_name[n].ok]
        if not failed:
            lines.append(f"ready      {lesson:<{width}}  ({', '.join(needs)})")
        else:
            first = failed[0]
            lines.append(f"NOT READY  {lesson:<{width}}  {first.name} failed: {first.error} -> {STEPS[first.name][1]}")
    return lines


def smoke(timeout: int = 120, kernel_name: str = "python3") -> tuple[bool, list[str]]:
    """Run every step in one kernel; return (all lessons ready, the lines to print)."""
    start = time.perf_counter()
    names = list(dict.fromkeys(n for needs in lesson_needs().values() for n in needs))
    steps = run_steps(names, timeout=timeout, kernel_name=kernel_name)
    lines = lesson_lines(steps)
    took = ", ".join(f"{s.name} {s.seconds:.1f} s" for s in steps)
    lines.append(f"smoke steps in one kernel, {time.perf_counter() - start:.0f} s in all: {took}")
    return all(s.ok for s in steps), lines
