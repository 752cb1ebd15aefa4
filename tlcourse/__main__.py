"""Command line: ``python -m tlcourse fetch | bundle | import-bundle | status | doctor | build``."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from . import assets
from .device import env_report
from .profiles import PROFILES, active_profile

REPO_ROOT = Path(__file__).resolve().parent.parent


def _cmd_fetch(args: argparse.Namespace) -> int:
    manifest = assets.load_manifest()
    if args.all:
        ids = list(manifest["assets"])
    elif args.profile:
        ids = [a for a, s in manifest["assets"].items() if args.profile in s.get("profiles", [])]
    else:
        ids = args.ids
    if not ids:
        print("Name an asset, --profile PROFILE or --all.", file=sys.stderr)
        return 2
    sources = [{"kind": "dir", "path": args.from_dir}] if args.from_dir else None
    failed = []
    for asset_id in ids:
        try:
            path = assets.fetch(asset_id, manifest=manifest, sources=sources)
            print(f"ok      {asset_id:<26} {path}")
        except assets.AssetError as exc:
            failed.append(asset_id)
            print(f"FAILED  {asset_id}\n{exc}\n", file=sys.stderr)
    return 1 if failed else 0


def _cmd_status(_: argparse.Namespace) -> int:
    for row in assets.status():
        mark = "present" if row["present"] else "missing"
        where = "online only" if row["online_only"] else "offline ok"
        profiles = ",".join(row["profiles"]) or "on demand"
        print(f"{mark:<8} {row['id']:<26} {row['type']:<8} {where:<12} {profiles:<16} {row['license']}")
    return 0


def _cmd_doctor(_: argparse.Namespace) -> int:
    env_report()
    problems = []
    cache = assets.cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        probe = cache / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        problems.append(f"cache {cache} is not writable ({exc}); set TLCOURSE_CACHE to a folder you own")
    profile = active_profile()
    for row in assets.status():
        if profile in row["profiles"] and not row["present"]:
            problems.append(f"asset {row['id']} (needed by profile {profile}) is missing: "
                            f"python -m tlcourse fetch {row['id']}")  # fmt: skip
    if not shutil.which("apt-get"):
        print("note: apt-get not found; Debian-package sources will be skipped (URL sources remain)")
    print("\n" + ("\n".join("PROBLEM " + p for p in problems) if problems else "doctor: all good"))
    return 1 if problems else 0


def _cmd_bundle(args: argparse.Namespace) -> int:
    ids = assets.bundle(Path(args.file), args.ids or None)
    print(f"wrote {args.file} with {len(ids)} assets: {', '.join(ids)}")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    ids = assets.import_bundle(Path(args.file))
    print(f"imported {len(ids)} assets: {', '.join(ids)}")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from .build import build

    stale = build(Path(args.root), check=args.check)
    if args.check and stale:
        print("Student notebooks out of date (run `python -m tlcourse build`): " + ", ".join(stale))
        return 1
    print("student notebooks " + ("up to date" if args.check else f"written ({len(stale)} changed)"))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tlcourse`` and the ``tlcourse`` script."""
    parser = argparse.ArgumentParser(prog="tlcourse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fetch", help="fetch and verify assets into the cache")
    p.add_argument("ids", nargs="*", help="asset ids (see `status`)")
    p.add_argument("--all", action="store_true", help="every asset in the manifest")
    p.add_argument("--profile", choices=PROFILES, help="the assets a run profile needs")
    p.add_argument("--from-dir", help="take the files from this folder instead of the sources")
    p.set_defaults(func=_cmd_fetch)
    sub.add_parser("status", help="which assets are present").set_defaults(func=_cmd_status)
    sub.add_parser("doctor", help="environment and asset check").set_defaults(func=_cmd_doctor)
    p = sub.add_parser("bundle", help="write one archive of the cached assets (offline workshops)")
    p.add_argument("file")
    p.add_argument("ids", nargs="*", help="only these assets (default: all present)")
    p.set_defaults(func=_cmd_bundle)
    p = sub.add_parser("import-bundle", help="verify and install the assets of a bundle")
    p.add_argument("file")
    p.set_defaults(func=_cmd_import)
    p = sub.add_parser("build", help="generate notebooks/ from solutions/")
    p.add_argument("--check", action="store_true", help="only report out-of-date notebooks")
    p.add_argument("--root", default=str(REPO_ROOT))
    p.set_defaults(func=_cmd_build)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except assets.AssetError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
