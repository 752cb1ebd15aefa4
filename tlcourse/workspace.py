"""The learner's workspace: their own copies of the lessons, which the course never overwrites.

``notebooks/`` holds the course's student copies (generated from ``solutions/`` by
``python -m tlcourse build`` and replaced by every course update). A learner works in
``workspace/`` instead (ignored by git), which ``make lab`` opens:

* :func:`sync` (run by ``make lab`` before JupyterLab starts) copies every lesson of
  ``notebooks/`` that the workspace does not have yet. It never overwrites a file: a learner's
  saved answers and outputs stay; lessons added by a course update appear beside them. A lesson
  whose course copy changed since it was copied is named in a note, with the command to take it.
* :func:`reset` puts the course's copy of one lesson back. The learner's file is moved aside
  (renamed with a timestamp, in the same folder, so it still opens and runs), never deleted.

The workspace sits beside ``notebooks/`` in the course folder, so a notebook finds the course's
files (``docs/``, ``notebooks/``) one level up from its working directory, as in ``notebooks/``.

Command line (``make lab`` / ``make reset LESSON=03`` call it)::

    python -m tlcourse.workspace sync
    python -m tlcourse.workspace reset 03        # or 03_fine_tuning, or 03_fine_tuning.ipynb
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

from .lessons import all_lessons, get
from .validate import write_atomic

COURSE_ROOT = Path(__file__).resolve().parent.parent
RECORD = ".tlcourse-workspace.json"  # what was copied from where (sha256 of the course copy)
# The course's own folders: a workspace there would overwrite or hand out the course's files.
COURSE_FOLDERS = ("notebooks", "solutions", "tlcourse", "tests", "docs", "scripts", "benchmarks",
                  "datasets", "etc", ".git")


class WorkspaceError(RuntimeError):
    """A lesson name that matches no course notebook, or a bad folder."""


def default_workspace() -> Path:
    """``$TLCOURSE_WORKSPACE`` if set, else ``workspace/`` in the course folder."""
    env = os.environ.get("TLCOURSE_WORKSPACE")
    return Path(env).expanduser() if env else COURSE_ROOT / "workspace"


def check_workspace(workspace: Path, course: Path | None = None) -> None:
    """Refuse a workspace that is the course's folder, one of its own folders or inside one.

    ``make reset WORKSPACE=notebooks`` would otherwise move the course's copy aside and hand it
    out later as the course's; ``WORKSPACE=solutions`` would overwrite a solution.
    """
    if workspace.exists() and not workspace.is_dir():
        raise WorkspaceError(f"WORKSPACE {workspace} is a file, not a folder: name a folder (it is created "
                             "if missing), or leave WORKSPACE unset for the default workspace/.")
    here = workspace.expanduser().resolve()
    course = (course or COURSE_ROOT / "notebooks").resolve()
    protected = [course, *(COURSE_ROOT / name for name in COURSE_FOLDERS)]
    if here == COURSE_ROOT.resolve():
        bad = "the course's own folder"
    else:
        inside = [f.resolve() for f in protected if here == f.resolve() or f.resolve() in here.parents]
        if not inside:
            return
        bad = f"the course's folder {inside[0]}" + (" or inside it" if here != inside[0] else "")
    raise WorkspaceError(
        f"WORKSPACE {workspace} is {bad}: the course's files live there and a workspace would "
        f"overwrite or move them. Use a folder of your own, e.g. the default {COURSE_ROOT / 'workspace'} "
        "(leave WORKSPACE and TLCOURSE_WORKSPACE unset)."
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_record(workspace: Path) -> dict[str, str]:
    """The record of what was copied; a damaged record is replaced (with a warning), never fatal.

    The record only serves the "the course updated this lesson" note, so a record that is not
    ``{"copied": {name: sha256}}`` (``[]``, ``null``, garbage, another encoding) is started anew.
    """
    path = workspace / RECORD
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        copied = data["copied"]
        if not isinstance(copied, dict):
            raise TypeError(f"'copied' is {type(copied).__name__}, not an object")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        why = f"{type(exc).__name__}: {exc}" if not isinstance(exc, KeyError) else f"no field {exc}"
        warnings.warn(f"{path} is damaged ({why}); starting a new record. Your notebooks are "
                      "untouched; notes about course updates of lessons you already have resume "
                      "after their next reset.", stacklevel=3)
        return {}
    return {k: v for k, v in copied.items() if isinstance(v, str)}


def _save_record(workspace: Path, record: dict[str, str]) -> None:
    write_atomic(workspace / RECORD, json.dumps({"copied": dict(sorted(record.items()))}, indent=1) + "\n")


def _copy_new(src: Path, dest: Path) -> bool:
    """Copy ``src`` to ``dest`` only if ``dest`` does not exist (atomic; never overwrites).

    A failed copy (a full disk) leaves no temporary file and no ``dest``.
    """
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(src, tmp)
        try:
            os.link(tmp, dest)  # fails if dest exists: a file created meanwhile is never replaced
        except FileExistsError:
            return False
        except OSError:  # file systems without hard links
            if dest.exists():
                return False
            os.replace(tmp, dest)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _course_notebooks(course: Path) -> list[Path]:
    """The lessons of the registry (:mod:`tlcourse.lessons`) that ``course`` holds, in course order."""
    found = [path for lesson in all_lessons() if (path := course / f"{lesson.stem}.ipynb").is_file()]
    if not found:
        raise WorkspaceError(f"No lesson notebooks in {course}: is this the course folder?")
    return found


def sync(workspace: Path | None = None, course: Path | None = None) -> dict[str, list[str]]:
    """Copy the course's lessons the workspace lacks; never touch a file that is there.

    Returns ``added`` (copied now), ``kept`` (the learner's files, left as they are) and
    ``updated`` (kept lessons whose course copy changed since they were copied: take the new one
    with :func:`reset`).
    """
    workspace = workspace or default_workspace()
    course = course or COURSE_ROOT / "notebooks"
    check_workspace(workspace, course)
    sources = _course_notebooks(course)
    workspace.mkdir(parents=True, exist_ok=True)
    record = _load_record(workspace)
    out: dict[str, list[str]] = {"added": [], "kept": [], "updated": []}
    for src in sources:
        digest = _sha256(src)
        if _copy_new(src, workspace / src.name):
            record[src.name] = digest
            out["added"].append(src.name)
            continue
        out["kept"].append(src.name)
        if src.name in record and record[src.name] != digest:
            out["updated"].append(src.name)
    _save_record(workspace, record)
    return out


def resolve_lesson(lesson: str, course: Path | None = None) -> Path:
    """The course notebook named by ``lesson``: ``"03"``, ``"03_fine_tuning"`` or the file name."""
    course = course or COURSE_ROOT / "notebooks"
    sources = _course_notebooks(course)
    try:
        path = course / f"{get(lesson.strip()).stem}.ipynb"
    except KeyError:
        path = None
    if path not in sources:
        known = ", ".join(p.stem for p in sources)
        raise WorkspaceError(f"{lesson!r} matches no lesson; name one of: {known} (or its number).")
    return path


def reset(
    lesson: str, workspace: Path | None = None, course: Path | None = None
) -> tuple[Path, Path | None]:
    """Put the course's copy of ``lesson`` into the workspace; return (new file, moved-aside file).

    The learner's file, if any, is renamed to ``<name>.before-reset-<YYYYmmdd-HHMMSS>.ipynb`` in
    the same folder (never deleted, never overwritten).
    """
    workspace = workspace or default_workspace()
    check_workspace(workspace, course)
    src = resolve_lesson(lesson, course)
    workspace.mkdir(parents=True, exist_ok=True)
    dest = workspace / src.name
    moved = None
    if dest.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in range(1000):
            suffix = f"-{n}" if n else ""
            candidate = workspace / f"{src.stem}.before-reset-{stamp}{suffix}.ipynb"
            try:
                os.link(dest, candidate)  # fails if the name exists; never replaces a file
            except FileExistsError:
                continue
            except OSError:  # file systems without hard links
                if candidate.exists():
                    continue
                os.rename(dest, candidate)
            else:
                dest.unlink()
            moved = candidate
            break
        else:
            raise WorkspaceError(f"Could not find a free name to move {dest} aside.")
    if not _copy_new(src, dest):
        raise WorkspaceError(f"{dest} appeared while resetting it; nothing was overwritten.")
    record = _load_record(workspace)
    record[src.name] = _sha256(src)
    _save_record(workspace, record)
    return dest, moved


def main(argv: list[str] | None = None) -> int:
    """``python -m tlcourse.workspace sync | reset LESSON``."""
    parser = argparse.ArgumentParser(prog="python -m tlcourse.workspace", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, help="default: $TLCOURSE_WORKSPACE or workspace/")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sync", help="copy lessons the workspace lacks (never overwrites)")
    p = sub.add_parser("reset", help="put the course's copy of one lesson back (yours is kept)")
    p.add_argument("lesson", help="03, 03_fine_tuning or 03_fine_tuning.ipynb")
    args = parser.parse_args(argv)
    workspace = args.workspace or default_workspace()
    with warnings.catch_warnings(record=True) as caught:  # a damaged record: one "note:" line
        warnings.simplefilter("always")
        try:
            status = _command(args, workspace)
        except (WorkspaceError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
    for w in caught:
        print(f"note: {w.message}", file=sys.stderr)
    return status


def _command(args: argparse.Namespace, workspace: Path) -> int:
    """Run ``sync`` or ``reset`` and print what happened."""
    if args.command == "sync":
        res = sync(workspace)
        kept = len(res["kept"])
        print(f"workspace {workspace}: {kept} file{'s' if kept != 1 else ''} of yours kept as they are"
              + (f", new: {', '.join(res['added'])}" if res["added"] else ""))
        for name in res["updated"]:
            stem = Path(name).stem
            print(f"note: the course updated {stem}; yours is kept. To take the new copy "
                  f"(yours is moved aside, not deleted): make reset LESSON={stem.split('_')[0]}")
    else:
        dest, moved = reset(args.lesson, workspace)
        if moved:
            print(f"your copy moved aside to {moved}")
        print(f"{dest} is the course's copy again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
