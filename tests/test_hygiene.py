"""Committed notebooks carry no outputs, execution counts or widget state; all code is ruff-clean."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tlcourse.lessons import all_lessons

ROOT = Path(__file__).resolve().parent.parent


def committed_notebooks() -> list[Path]:
    if shutil.which("git") and (ROOT / ".git").exists():
        out = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
        if out:
            return [ROOT / p for p in out]
    return [path for lesson in all_lessons() for path in (lesson.student(), lesson.solution())]


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


LINTED = ["tlcourse", "tests", "scripts", "benchmarks", "conftest.py", "notebooks", "solutions"]


def ruff_exe() -> str:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed (it is in the dev extra)"
    return ruff


def test_ruff_passes():
    """The package, the tests and the lessons' code cells (notebooks/ and solutions/)."""
    proc = subprocess.run([ruff_exe(), "check", *LINTED], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_formatter_comments(tmp_path):
    """No formatter runs (CONTRIBUTING.md): `make lint` refuses a new `# fmt:` comment (scripts/lint_fmt.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lint_fmt", ROOT / "scripts" / "lint_fmt.py")
    lint_fmt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lint_fmt)
    assert lint_fmt.problems() == []
    (tmp_path / "tlcourse").mkdir()
    (tmp_path / "conftest.py").write_text("")
    (tmp_path / "tlcourse" / "x.py").write_text('s = "# fmt: skip is text here"\nx = [1]  # fmt: skip\n# fmt: off\n')
    assert lint_fmt.problems(tmp_path) == [
        "tlcourse/x.py:2: '# fmt:' comment, but no formatter runs (CONTRIBUTING.md, Formatting)",
        "tlcourse/x.py:3: '# fmt:' comment, but no formatter runs (CONTRIBUTING.md, Formatting)"]


def test_ruff_is_pinned_exactly_and_installed_at_the_pin():
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    pins = [r for r in dev if re.match(r"ruff\b", r)]
    assert len(pins) == 1 and re.fullmatch(r"ruff==[0-9.]+", pins[0].split(";")[0].strip()), pins
    out = subprocess.run([ruff_exe(), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.split()[-1] == pins[0].split("==")[1], f"installed {out.strip()}, pinned {pins[0]}"


def lint_notebook(path: str, *cells: str) -> str:
    """Ruff's findings for a notebook with these code cells, as if it were at ``path``."""
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": c} for c in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    proc = subprocess.run([ruff_exe(), "check", "--output-format", "concise", "--stdin-filename", path],
                          input=json.dumps(nb), cwd=ROOT, capture_output=True, text=True)
    return proc.stdout


@pytest.mark.parametrize("folder", ["notebooks", "solutions"])
def test_lesson_lint_is_real_but_fits_notebook_style(folder):
    style = ["import torch\nx = torch.zeros(2)", "import json\nshow = lambda v: json.dumps(v)\n"
             "def pairs(a, b):\n    return list(zip(a, b))\nshow(pairs([x], [1]))"]
    assert "Found" not in lint_notebook(f"{folder}/99_probe.ipynb", *style), "notebook style flagged"
    bugs = lint_notebook(f"{folder}/99_probe.ipynb", "import os\nprint(f'no placeholder')")
    assert "F401" in bugs and "F541" in bugs, f"ruff does not lint {folder}/: {bugs}"


def test_every_notebook_is_valid_nbformat():
    """A cell id in a notebook of format 4.4 (ids came with 4.5) breaks JupyterLab's save and nbval."""
    import nbformat

    bad = []
    for path in committed_notebooks():
        try:
            nbformat.validate(nbformat.reads(path.read_text(), as_version=nbformat.NO_CONVERT))
        except nbformat.ValidationError as err:
            bad.append(f"{path.relative_to(ROOT)}: {str(err).splitlines()[0]}")
    assert not bad, bad
