"""Pytest hooks for the whole repo: no notebook runs twice in one session; print (and save) how long each
notebook took under nbval."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import tlcourse  # noqa: F401  (before any test imports TensorFlow: see tlcourse/__init__.py)

_NOTEBOOK_SECONDS: dict[str, float] = defaultdict(float)
BROWSER_TEST = "tests/test_browser.py"


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ANN001
    """Deselect nbval's run of a solution notebook that tests/test_browser.py runs, every cell, in JupyterLab
    in the same session (its checks include nbval's: every cell runs without an error). Where the browser
    test cannot run (tests/test_browser.py:missing), nbval keeps every notebook."""
    in_browser = set()
    for item in items:
        if item.nodeid.startswith(BROWSER_TEST + "::") and hasattr(item, "callspec"):
            module = item.module
            if module.missing() is None and module.runs_solution(item.callspec.params["name"]):
                in_browser.add(f"solutions/{item.callspec.params['name']}")
    dropped = [item for item in items if item.nodeid.split("::", 1)[0] in in_browser]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
    items.sort(key=_longest_first)  # stable: every file's tests (a notebook's cells) stay in their order


# Test files that take tens of seconds, longest first (fresh-clone `make test`, 2026-12-07: the site build
# ~45 s, JupyterLab restarted ~30 s, the one-thread detection assets ~30 s, doctor's smoke steps ~25 s, ...).
# Handed out alphabetically, the site and slide tests came last: one worker built the site while the other
# had nothing left to do.
SLOW_TEST_FILES = ("tests/test_site.py", "tests/test_lab.py", "tests/test_detection.py", "tests/test_doctor.py",
                   "tests/test_assets_hostile.py", "tests/test_verify.py",
                   "tests/test_slides.py")


def _longest_first(item) -> tuple[int, int]:  # noqa: ANN001
    """The order make test's workers take files in (with ``--no-loadscope-reorder``): the browser test (one
    worker's longest file, minutes), then the notebooks (a minute each), then the slow test files (tens of
    seconds, longest first), then the others (seconds), so that the last files handed out are short and
    neither worker waits long for the other."""
    path = item.nodeid.split("::", 1)[0]
    if path == BROWSER_TEST:
        return 0, 0
    if path.endswith(".ipynb"):
        return 1, 0
    if path in SLOW_TEST_FILES:
        return 2, SLOW_TEST_FILES.index(path)
    return 3, 0


def pytest_runtest_logreport(report) -> None:  # noqa: ANN001
    """Add every phase of every nbval cell to its notebook's total."""
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _NOTEBOOK_SECONDS[path] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    """Print one line per notebook and write build/notebook_times.json."""
    if not _NOTEBOOK_SECONDS:
        return
    tr = terminalreporter
    tr.section("time per notebook (kernel start + all cells)")
    for path, seconds in sorted(_NOTEBOOK_SECONDS.items()):
        tr.write_line(f"{seconds:8.1f} s  {path}")
    tr.write_line(f"{sum(_NOTEBOOK_SECONDS.values()):8.1f} s  total")
    out = Path("build") / "notebook_times.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(sorted(_NOTEBOOK_SECONDS.items())), indent=1) + "\n")
