"""Command line: ``python -m tlcourse fetch | bundle | import-bundle | status | doctor [--smoke] | room | build | profile``."""

from __future__ import annotations

import argparse
import os
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
    sources = None
    if args.from_dir:
        folder = Path(args.from_dir).expanduser().absolute()
        if not folder.is_dir():
            print(f"--from-dir {args.from_dir}: no such folder; name the folder that holds the "
                  "asset's files.", file=sys.stderr)
            return 2
        sources = [{"kind": "dir", "path": str(folder)}]
    failed = []
    for asset_id in ids:
        try:
            path = assets.fetch(asset_id, manifest=manifest, sources=sources)
            print(f"ok      {asset_id:<26} {path}")
        except assets.SettingError:
            raise  # the cache or a setting: the same for every asset, report it once
        except assets.AssetError as exc:
            failed.append(asset_id)
            print(f"FAILED  {asset_id}\n{exc}\n", file=sys.stderr)
    return 1 if failed else 0


def _cmd_status(_: argparse.Namespace) -> int:
    for row in assets.status():
        mark = "present" if row["present"] else ("missing" if _absent(row) else "damaged")
        where = "online only" if row["online_only"] else "offline ok"
        profiles = ",".join(row["profiles"]) or "on demand"
        print(f"{mark:<8} {row['id']:<26} {row['type']:<8} {where:<12} {profiles:<16} {row['license']}")
        if mark == "damaged":
            print(f"         {row['problem']}: python -m tlcourse fetch {row['id']} replaces it")
    return 0


def _absent(row: dict) -> bool:
    return row["problem"] == "not in the cache"


def _cmd_doctor(args: argparse.Namespace) -> int:
    problems = []
    try:
        profile = active_profile()
    except ValueError as exc:
        problems.append(str(exc))
        profile = None
    if profile is not None:
        env_report()
    cache = assets.cache_dir()
    try:
        assets.ensure_cache(cache)
    except assets.SettingError as exc:
        problems.append(str(exc))
    manifest = assets.load_manifest()
    for asset_id, spec in manifest["assets"].items():
        needed = profile in spec.get("profiles", [])
        why = assets.check_cached(asset_id, spec, cache, deep=True)
        if why == "not in the cache":
            if needed:
                problems.append(f"asset {asset_id} (needed by profile {profile}) is missing: "
                                f"python -m tlcourse fetch {asset_id}")
        elif why:
            problems.append(f"asset {asset_id} is damaged ({why}): python -m tlcourse fetch {asset_id}")
    if not shutil.which("apt-get"):
        print("note: apt-get not found; Debian-package sources will be skipped (URL sources remain)")
    print("\n" + ("\n".join("PROBLEM " + p for p in problems) if problems else "doctor: all good"))
    if args.smoke:
        from .doctor import smoke

        print("\nstarting a Jupyter kernel to run a tiny step in each framework (offline) ...", flush=True)
        ready, lines = smoke()
        print("\n".join(lines))
        if not ready:
            problems.append("smoke")
            print("doctor --smoke: some lessons cannot run here (NOT READY lines above)")
    return 1 if problems else 0


def _cmd_profile(_: argparse.Namespace) -> int:
    """Print the active profile (``make lab`` reads it); a bad ``TLCOURSE_PROFILE`` is one line."""
    print(active_profile())
    return 0


def _cmd_bundle(args: argparse.Namespace) -> int:
    ids = assets.bundle(Path(args.file), args.ids or None)
    print(f"wrote {args.file} with {len(ids)} assets: {', '.join(ids)}")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    ids = assets.import_bundle(Path(args.file))
    print(f"verified and imported {len(ids)} assets: {', '.join(ids)}")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from .build import build

    root = Path(args.root)
    if not (root / "solutions").is_dir():
        print(f"{root} holds no solutions/ folder: pass --root the course's checkout.", file=sys.stderr)
        return 2
    stale = build(root, check=args.check)
    if args.check and stale:
        print("Student notebooks out of date (run `python -m tlcourse build`): " + ", ".join(stale))
        return 1
    print("student notebooks " + ("up to date" if args.check else f"written ({len(stale)} changed)"))
    return 0


def _cmd_room(args: argparse.Namespace) -> int:
    from . import room

    if args.action == "export":
        if len(args.files) != 1:
            print("room export writes one file: name exactly one (e.g. results-ana.json)", file=sys.stderr)
            return 2
        n = room.export(Path(args.files[0]), Path(args.workspace) if args.workspace else None, args.name)
        print(f"wrote {args.files[0]} with {n} exercise results (a local file: hand it to your instructor)")
        return 0
    print(room.format_summary(room.summary([Path(f) for f in args.files])))
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
    p = sub.add_parser("doctor", help="environment and asset check")
    p.add_argument("--smoke", action="store_true",
                   help="also run a tiny step of every lesson's frameworks in a Jupyter kernel (offline)")
    p.set_defaults(func=_cmd_doctor)
    sub.add_parser("profile", help="print the active profile (TLCOURSE_PROFILE, else by GPU)").set_defaults(
        func=_cmd_profile)
    p = sub.add_parser("bundle", help="write one archive of the cached assets (offline workshops)")
    p.add_argument("file")
    p.add_argument("ids", nargs="*", help="only these assets (default: all present)")
    p.set_defaults(func=_cmd_bundle)
    p = sub.add_parser("import-bundle", help="verify and install the assets of a bundle")
    p.add_argument("file")
    p.set_defaults(func=_cmd_import)
    p = sub.add_parser("room", help="exercise results: export yours (learner), summarise several (instructor)")
    p.add_argument("action", choices=["export", "summary"])
    p.add_argument("files", nargs="+", help="export: the file to write; summary: the learners' exported files")
    p.add_argument("--workspace", help="export: the workspace folder (default: the course's workspace/)")
    p.add_argument("--name", help="export: your name or initials in the file (default: an anonymous id)")
    p.set_defaults(func=_cmd_room)
    p = sub.add_parser("build", help="generate notebooks/ from solutions/")
    p.add_argument("--check", action="store_true", help="only report out-of-date notebooks")
    p.add_argument("--root", default=str(REPO_ROOT))
    p.set_defaults(func=_cmd_build)
    args = parser.parse_args(argv)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """Run a subcommand; report every failure as the package's own message, never a traceback.

    ``TLCOURSE_DEBUG=1`` re-raises, to see the traceback of an unexpected error.
    """
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted; nothing half-written was kept (rerun the command)", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001  (the command line's last line of defence)
        if os.environ.get("TLCOURSE_DEBUG"):
            raise
        if isinstance(exc, assets.AssetError):
            print(exc, file=sys.stderr)
        elif isinstance(exc, ValueError):  # a bad setting, e.g. TLCOURSE_PROFILE
            print(f"tlcourse {args.command}: {exc}", file=sys.stderr)
        elif isinstance(exc, OSError):
            print(f"tlcourse {args.command}: {exc.strerror or exc} ({exc.filename or 'no file'}); "
                  "check the path, its permissions and the free disk space.", file=sys.stderr)
        else:
            print(f"tlcourse {args.command}: unexpected {type(exc).__name__}: {exc}. Rerun with "
                  "TLCOURSE_DEBUG=1 to see the traceback, and report it.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
