"""Student notebooks are generated from solutions and kept in sync."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlcourse import build

ROOT = Path(__file__).resolve().parent.parent


def test_solution_block_replaced_by_stub():
    src = "x = 1\n    # STUB: y = None  # your answer\n    # BEGIN SOLUTION\n    y = 2\n    # END SOLUTION\nz = 3"
    assert build.student_source(src) == "x = 1\n    y = None  # your answer\nz = 3"


@pytest.mark.parametrize(
    "bad", ["# BEGIN SOLUTION\nx", "# END SOLUTION", "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION"]
)
def test_unbalanced_markers_are_errors(bad):
    with pytest.raises(ValueError):
        build.student_source(bad)


def test_solution_markdown_dropped_and_outputs_cleared():
    nb = {
        "metadata": {"widgets": {"state": {}}},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "<!-- SOLUTION -->\nWhy: ..."},
            {"cell_type": "code", "metadata": {}, "execution_count": 3,
             "outputs": [{"output_type": "stream", "text": "hi"}],
             "source": ["# STUB: a = None\n", "# BEGIN SOLUTION\n", "a = 1\n", "# END SOLUTION"]},
        ],
    }  # fmt: skip
    student = build.to_student(nb)
    assert len(student["cells"]) == 1
    cell = student["cells"][0]
    assert cell["source"] == "a = None" and cell["outputs"] == [] and cell["execution_count"] is None
    assert "widgets" not in student["metadata"]
    assert nb["cells"][1]["outputs"], "the solution object itself is not modified"


def test_student_notebooks_in_sync_with_solutions():
    stale = build.build(ROOT, check=True)
    assert not stale, f"run `python -m tlcourse build`: out of date: {stale}"
    sols = {p.name for p in (ROOT / "solutions").glob("*.ipynb")}
    studs = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert sols == studs and "00_start_here.ipynb" in sols
