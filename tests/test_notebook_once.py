"""No notebook runs twice in one `make test`: nbval leaves out the solution notebooks the browser test runs
(conftest.py), but only where the browser test can run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def collected(**env: str) -> set[str]:
    """The files whose tests `pytest tests/test_browser.py solutions` would run (collection only)."""
    environ = {k: v for k, v in os.environ.items()  # PYTEST_ADDOPTS (e.g. -v) would change the listing read below
               if k not in ("TLCOURSE_BROWSER", "TLCOURSE_CHROMIUM", "PYTEST_ADDOPTS")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "--nbval-lax", "--nbval-current-env", "tests/test_browser.py", "solutions"],
                          cwd=ROOT, env={**environ, **env, "TLCOURSE_PROFILE": "smoke"},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return {line.split("::", 1)[0] for line in proc.stdout.splitlines() if "::" in line}


def test_the_browser_runs_its_solutions_and_nbval_the_rest():
    import test_browser

    if why := test_browser.missing():  # the second test covers this machine's case
        pytest.skip(why)
    runs = set(test_browser.NOTEBOOKS)
    assert "00_start_here.ipynb" in runs and len(runs) >= 2, runs
    files = collected()
    solutions = {Path(f).name for f in files if f.startswith("solutions/")}
    assert "tests/test_browser.py" in files
    assert solutions == {p.name for p in (ROOT / "solutions").glob("*.ipynb")} - runs


def test_without_a_browser_nbval_runs_every_solution(tmp_path):
    files = collected(TLCOURSE_CHROMIUM=str(tmp_path / "no-chromium"))
    assert {Path(f).name for f in files if f.startswith("solutions/")} == \
        {p.name for p in (ROOT / "solutions").glob("*.ipynb")}


def test_every_student_copy_in_make_test_browser_leaves_nbval_whole():
    files = collected(TLCOURSE_BROWSER="all")
    assert {Path(f).name for f in files if f.startswith("solutions/")} == \
        {p.name for p in (ROOT / "solutions").glob("*.ipynb")}
