"""Committed notebooks carry no outputs, execution counts or widget state; the code is ruff-clean."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def committed_notebooks() -> list[Path]:
    if shutil.which("git") and (ROOT / ".git").exists():
        out = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()  # fmt: skip
        if out:
            return [ROOT / p for p in out]
    return sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("solutions/*.ipynb"))


def problems(nb: dict) -> list[str]:
    found = []
    if "widgets" in nb.get("metadata", {}):
        found.append("metadata.widgets present")
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            if cell.get("outputs"):
                found.append(f"cell {i} has outputs")
            if cell.get("execution_count") is not None:
                found.append(f"cell {i} has an execution count")
        if "widgets" in cell.get("metadata", {}):
            found.append(f"cell {i} has widget metadata")
    return found


def test_checker_catches_dirty_notebooks():
    dirty = {"metadata": {"widgets": {}}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [{"x": 1}], "source": ""}]}
    assert len(problems(dirty)) == 3


@pytest.mark.parametrize("path", committed_notebooks(), ids=lambda p: p.name)
def test_committed_notebook_is_clean(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert not problems(nb), f"{path.name}: {problems(nb)}; run `python -m tlcourse build`"


def test_ruff_passes():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed (it is in the dev extra)"
    proc = subprocess.run([ruff, "check", "tlcourse", "tests", "scripts", "conftest.py"], cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
