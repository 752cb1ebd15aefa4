"""Under CI=true a skip fails unless allow-listed (tests/ci_skips.py); a machine without Playwright or
Chromium gets a clear failure from the browser test there, and a skip with the reason elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
SAMPLE = '''
import ci_skips
import pytest

ci_skips.ALLOWED["test_sample.py::test_allowed"] = "why it may skip in CI"

def test_skips():
    pytest.skip("no widget here")

def test_allowed():
    pytest.skip("optional thing")

@pytest.mark.xfail(strict=True, reason="known")
def test_known():
    assert False

def test_passes():
    pass
'''


def pytest_run(*args: str, ci: bool, extra_path: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    """pytest in a subprocess with only the CI hook (no conftest: no cache seeding; no installed plugins:
    loading nbval, xdist and the others took 5 of each run's 6 seconds)."""
    path = os.pathsep.join(str(p) for p in (extra_path, TESTS, ROOT) if p)
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    environ.update(PYTHONPATH=path, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", **env, **({"CI": "true"} if ci else {}))
    return subprocess.run([sys.executable, "-m", "pytest", "--noconftest", "-p", "ci_skips", "-p", "no:cacheprovider",
                           "-q", "-rA", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)


def test_under_ci_a_skip_fails_with_its_reason_unless_allowed(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text(SAMPLE)
    local = pytest_run(str(sample), "--rootdir", str(tmp_path), ci=False)
    assert "1 passed, 2 skipped, 1 xfailed" in local.stdout, local.stdout[-2000:]
    ci = pytest_run(str(sample), "--rootdir", str(tmp_path), ci=True)
    assert ci.returncode == 1 and "1 failed, 1 passed, 1 skipped, 1 xfailed" in ci.stdout, ci.stdout[-2000:]
    assert "skipped under CI=true: no widget here" in ci.stdout
    assert "add 'test_sample.py::test_skips' with the reason to ALLOWED" in ci.stdout


def test_a_missing_chromium_or_playwright_is_a_clear_failure_under_ci_not_a_collection_error(tmp_path):
    browser = str(TESTS / "test_browser.py")
    gone = pytest_run(browser, ci=True, TLCOURSE_CHROMIUM=str(tmp_path / "no-chromium"))
    assert gone.returncode == 1, gone.stdout[-2000:]
    assert "during collection" not in gone.stdout and "Interrupted" not in gone.stdout, gone.stdout[-2000:]
    assert f"skipped under CI=true: {tmp_path / 'no-chromium'} not found" in gone.stdout, gone.stdout[-2000:]
    local = pytest_run(browser, ci=False, TLCOURSE_CHROMIUM=str(tmp_path / "no-chromium"))
    assert local.returncode == 0 and "skipped" in local.stdout.splitlines()[-1], local.stdout[-2000:]
    fake = tmp_path / "shadow" / "playwright"  # a Playwright that cannot be imported
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("no module named playwright (test stand-in)")\n')
    no_pw = pytest_run(browser, ci=True, extra_path=tmp_path / "shadow")
    assert no_pw.returncode == 1 and "skipped under CI=true: Playwright is not installed" in no_pw.stdout, \
        no_pw.stdout[-2000:]
    assert "during collection" not in no_pw.stdout
