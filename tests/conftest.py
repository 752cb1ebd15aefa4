"""Unit tests run against a temporary asset cache, never the learner's ``~/.cache``.

During every test under ``tests/`` (fixtures included), ``TLCOURSE_CACHE``, ``TORCH_HOME`` and
``HF_HOME`` point into one temporary folder per session; afterwards the previous values are back,
so notebooks collected in the same pytest run (``pytest tests notebooks ...``) still use the real
cache. The temporary cache is seeded, on first use, with a copy of every asset already complete in
the real cache (the real cache is only read; torch's copy of installed weights is made in the
temporary TORCH_HOME when a test calls ``tl.fetch``). An asset the real cache lacks is fetched from
its ordinary sources into the temporary cache when a test asks for it.

Under ``CI=true`` a skipped test fails unless tests/ci_skips.py allows it (the hook is imported here).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from ci_skips import pytest_runtest_makereport  # noqa: F401  (the hook: a skip under CI=true fails)
from seeding import seed
from workspace_helpers import nb

from tlcourse import assets

ENV_VARS = ("TLCOURSE_CACHE", "TORCH_HOME", "HF_HOME")
REAL_CACHE = assets.cache_dir()  # read before any test changes the environment
_state: dict[str, object] = {}


def _temp_env() -> dict[str, str]:
    """The temporary folders (created and seeded on first call)."""
    if "env" not in _state:
        root = Path(tempfile.mkdtemp(prefix="tlcourse-tests-"))
        env = {"TLCOURSE_CACHE": str(root / "cache"), "TORCH_HOME": str(root / "torch"),
               "HF_HOME": str(root / "huggingface")}
        _state.update(root=root, env=env)
        saved = {k: os.environ.get(k) for k in ENV_VARS}
        os.environ.update(env)
        try:
            seed(Path(env["TLCOURSE_CACHE"]), REAL_CACHE)
        finally:
            _restore(saved)
    return _state["env"]  # type: ignore[return-value]


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):  # noqa: ANN201
    """Before the test's fixtures: point the caches at the temporary folder."""
    env = _temp_env()
    _state["saved"] = {k: os.environ.get(k) for k in ENV_VARS}
    os.environ.update(env)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):  # noqa: ANN201
    """After the test's fixtures are torn down: the previous environment again."""
    yield
    saved = _state.pop("saved", None)
    if saved is not None:
        _restore(saved)  # type: ignore[arg-type]


@pytest.fixture
def real_cache() -> Path:
    """The learner's asset cache (tests only read it, when seeding)."""
    return REAL_CACHE


@pytest.fixture
def temp_cache_root() -> Path:
    """The session's temporary folder holding the cache, TORCH_HOME and HF_HOME."""
    _temp_env()
    return _state["root"]  # type: ignore[return-value]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Remove the temporary caches."""
    root = _state.pop("root", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)  # type: ignore[arg-type]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course folder with lessons 00 and 03."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "00_start_here.ipynb").write_text(nb("course 00"))
    (folder / "03_fine_tuning.ipynb").write_text(nb("course 03"))
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A one-layer, 16-unit BERT with a 2-class head and a 9-word vocabulary, saved as a Hugging Face model
    folder (random weights): for tests of tl.memory and tl.data.embed without downloading a model."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film", "not"]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=2)
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder
