"""tlcourse.locks: the one file lock (asset cache, ledger) excludes other processes, dies with its
holder, leaves no file behind, and a wait that runs out names the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tlcourse import ledger
from tlcourse.locks import LockTimeout, hold

ROOT = Path(__file__).resolve().parent.parent
HOLD = """
import sys, time
from pathlib import Path
from tlcourse.locks import hold
with hold(Path(sys.argv[1]), 5):
    print("held", flush=True)
    time.sleep(60)
"""


def holder(path: Path) -> subprocess.Popen:
    """Another process holding the lock ``path`` (it says "held" once it does)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_another_process_waits_then_gets_one_clear_error_naming_the_file(tmp_path, capsys):
    path = tmp_path / "locks" / "x.lock"
    proc = holder(path)
    try:
        with pytest.raises(LockTimeout, match=f"Another process has held {path} for over 0 s"), \
                hold(path, 0.3, waiting="waiting for x"):
            pytest.fail("the lock was taken twice")
        assert "waiting for x" in capsys.readouterr().err
    finally:
        proc.kill()
        proc.wait()
    with hold(path, 1):  # the lock died with its process
        assert path.is_file()
    assert not path.exists()  # removed on release


def test_one_process_at_a_time_even_within_a_process(tmp_path):
    path = tmp_path / "x.lock"
    with hold(path, 1), pytest.raises(LockTimeout), hold(path, 0.2):
        pass


def test_a_ledger_held_by_another_writer_is_a_ledger_error(tmp_path):
    path = tmp_path / "results.json"
    proc = holder(tmp_path / "results.json.lock")
    try:
        with pytest.raises(ledger.LedgerError, match="results.json.lock .* another `make verify`"), \
                ledger.locked(path, timeout=0.3):
            pytest.fail("the ledger was locked twice")
    finally:
        proc.kill()
        proc.wait()
    assert not path.exists()  # nothing was written


def test_an_error_under_the_asset_lock_is_the_callers_not_the_locks(tmp_path):
    """An OSError of the work done under the cache's lock is not reported as "cannot create a lock file"."""
    from tlcourse.assets.cache import lock

    with pytest.raises(PermissionError, match="the work's own error"), lock(tmp_path, "x"):
        raise PermissionError(13, "the work's own error")
    assert list(tmp_path.iterdir()) == []  # no lock file, no .locks folder
