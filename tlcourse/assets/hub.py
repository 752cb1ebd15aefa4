"""Installing an asset where its library's own loader looks (torch's hub cache)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .cache import sha256_file
from .errors import SettingError

TMP_SUFFIX = ".tlcourse-tmp"


def torch_hub_checkpoints() -> Path:
    """The folder torch's ``load_state_dict_from_url`` looks in (same rule as ``torch.hub.get_dir``)."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        torch_home = str(Path(base) / "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def sweep_hub(hub: Path, name: str) -> None:
    """Remove partial copies of ``name`` left by killed installs (their process is gone)."""
    for tmp in hub.glob(f".{name}.*{TMP_SUFFIX}"):
        pid = tmp.name[len(name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)


def install(asset_id: str, spec: dict[str, Any], folder: Path, shas: dict[str, str]) -> None:
    """Put the asset where its library looks (idempotent).

    ``shas`` are the verified sha256 of the cached files: a file already in the hub is kept only
    when its content matches, else it is replaced by an atomic rename of a complete copy.
    """
    if spec.get("install") != "torch_hub":
        return
    hub = torch_hub_checkpoints()

    def fail(exc: OSError) -> SettingError:
        return SettingError(
            f"Cannot install {asset_id} into torch's hub cache {hub} ({exc.strerror or exc}): "
            "free disk space or fix the folder's permissions, or set TORCH_HOME to a folder you "
            f"own, then run: python -m tlcourse fetch {asset_id}"
        )

    try:
        hub.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(exc) from None
    for entry in spec["files"]:
        name = entry["name"]
        dest = hub / name
        src = folder / name
        if dest.is_file() and dest.stat().st_size == src.stat().st_size:
            if sha256_file(dest) == shas.get(name):
                continue
        sweep_hub(hub, name)
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=hub, prefix=f".{name}.{os.getpid()}.", suffix=TMP_SUFFIX)
            os.close(fd)
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
            tmp = None
        except OSError as exc:
            raise fail(exc) from None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
