"""The course's one inter-process file lock (the asset cache's builds, the ledger's merges).

:func:`hold` takes an exclusive ``flock`` (``msvcrt.locking`` on Windows) on a lock file, waiting for
another process that holds it. The operating system releases it when the holder dies, so a killed
run never leaves a lock that blocks the next one. The lock file is removed on release, so nothing
stays behind; a waiter that locked a file removed meanwhile notices (another inode) and locks again.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class LockTimeout(TimeoutError):
    """Another process held the lock for longer than the caller would wait."""


@contextlib.contextmanager
def hold(path: Path, timeout: float, waiting: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (its folder is created); wait up to ``timeout``
    seconds for another holder, printing ``waiting`` to stderr once when it has to wait.

    Raises :class:`LockTimeout` naming the file when the wait runs out, and ``OSError`` when the
    lock file cannot be created (the caller says what to do about its folder).
    """
    give_up = time.monotonic() + timeout
    told = False
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(path, "a+b")  # noqa: SIM115  (closed below or in the finally)
        except FileNotFoundError:  # the folder was removed between mkdir and open: try again
            continue
        if _try_lock(fh):
            try:
                same = os.fstat(fh.fileno()).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
        fh.close()
        if time.monotonic() > give_up:
            raise LockTimeout(f"Another process has held {path} for over {timeout:.0f} s")
        if waiting and not told:
            print(waiting, file=sys.stderr)
            told = True
        time.sleep(0.1)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # while still holding it: waiters then see another inode
        fh.close()


def _try_lock(fh: Any) -> bool:
    try:
        if os.name == "nt":  # pragma: no cover (Windows)
            import msvcrt

            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True
