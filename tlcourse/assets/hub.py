"""Installing an asset where its library's own loader looks (torch's hub cache)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any


def torch_hub_checkpoints() -> Path:
    """The folder torch's ``load_state_dict_from_url`` looks in (same rule as ``torch.hub.get_dir``)."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        torch_home = str(Path(base) / "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def install(asset_id: str, spec: dict[str, Any], folder: Path) -> None:
    """Put the asset where its library looks (idempotent)."""
    if spec.get("install") != "torch_hub":
        return
    hub = torch_hub_checkpoints()
    hub.mkdir(parents=True, exist_ok=True)
    for entry in spec["files"]:
        dest = hub / entry["name"]
        src = folder / entry["name"]
        if dest.is_file() and dest.stat().st_size == src.stat().st_size:
            continue
        tmp = hub / f".{entry['name']}.{os.getpid()}.tmp"
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
