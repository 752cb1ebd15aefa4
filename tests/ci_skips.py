"""Under ``CI=true`` a skipped test fails, unless :data:`ALLOWED` names it with the reason.

A skip says "this machine lacks something optional" (Chromium, the course's virtualenv, a fetched
asset). CI installs everything a test needs (``make setup``, ``make test`` fetches the smoke
assets), so a skip there means a broken setup that would otherwise pass unnoticed. tests/conftest.py
registers the hook; ``pytest -p ci_skips`` loads it on its own (tests/test_ci_skips.py does).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

# Test node id (parameters left out) -> why CI may skip it. Keep it short; each entry says why.
ALLOWED: dict[str, str] = {}


def strict() -> bool:
    """True where skips must not pass silently: ``$CI`` set to true (as CI services do)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any):  # noqa: ANN201  (a hook wrapper)
    """Turn a skip (not an xfail) into a failure under CI, unless the test is on :data:`ALLOWED`."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail") or not strict():
        return
    if item.nodeid.split("[")[0] in ALLOWED:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = (f"skipped under CI=true: {reason}\nCI installs everything the tests need: fix the "
                       f"setup, or add {item.nodeid.split('[')[0]!r} with the reason to ALLOWED in tests/ci_skips.py.")
