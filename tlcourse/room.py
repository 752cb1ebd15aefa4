"""See the room: learners' exercise results, kept in their own workspace, summarised for the instructor.

Every :func:`tlcourse.checks.exercise` call in a notebook that runs in a learner's workspace (the
folder ``make lab`` opens, marked by its ``.tlcourse-workspace.json``) appends one line to
``.tlcourse-exercises.jsonl`` there: the lesson, the exercise, ``solved`` / ``wrong`` /
``not attempted`` and, for a wrong answer, the check's diagnosis. Nothing is sent anywhere; a
notebook run outside a workspace (the tests, ``notebooks/``) records nothing.

    python -m tlcourse room export results-ana.json [--name ana]   # a learner: one file to hand in
    python -m tlcourse room summary results-*.json                  # the instructor: per exercise
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from .workspace import RECORD, default_workspace

RESULTS = ".tlcourse-exercises.jsonl"
FORMAT = "tlcourse-exercise-results/1"
STATUSES = ("solved", "wrong", "not attempted")


def record(title: str, status: str, diagnosis: str = "", folder: Path | None = None) -> Path | None:
    """Append one exercise result to the workspace's results file; return it (None outside a workspace).

    ``folder`` defaults to the working directory (where Jupyter runs the notebook). The lesson is the
    notebook's name, which JupyterLab passes to the kernel (``JPY_SESSION_NAME``). A results file
    that cannot be written costs a one-line note, never the learner's exercise.
    """
    folder = Path.cwd() if folder is None else folder
    if not (folder / RECORD).is_file():
        return None
    line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "lesson": Path(os.environ.get("JPY_SESSION_NAME", "")).stem,
            "exercise": title, "status": status, "diagnosis": diagnosis.splitlines()[0] if diagnosis else ""}
    path = folder / RESULTS
    try:
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    except OSError as exc:
        print(f"(note: could not record this result in {path}: {exc.strerror or exc})", file=sys.stderr)
        return None
    return path


def read_results(path: Path) -> list[dict[str, Any]]:
    """The records of a workspace's results file; a line cut short (a killed kernel) is skipped with a note."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            rec = json.loads(line)
            if rec.get("status") in STATUSES and isinstance(rec.get("exercise"), str):
                out.append(rec)
                continue
        except ValueError:
            pass
        print(f"note: {path}, line {n}: not an exercise result, skipped", file=sys.stderr)
    return out


def export(out: Path, workspace: Path | None = None, name: str | None = None) -> int:
    """Write one file with every result of ``workspace`` (default: the course's); return how many."""
    workspace = workspace or default_workspace()
    src = workspace / RESULTS
    if not src.is_file():
        raise ValueError(f"no exercise results in {workspace} (no {RESULTS}): run an exercise cell of a lesson "
                         "in JupyterLab (make lab) first, or pass --workspace the folder make lab opens")
    records = read_results(src)
    data = {"format": FORMAT, "learner": name or f"learner-{secrets.token_hex(3)}",
            "exported": time.strftime("%Y-%m-%dT%H:%M:%S"), "results": records}
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return len(records)


def load_export(path: Path) -> dict[str, Any]:
    """One learner's export, checked: a clear error that names the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON ({exc}); pass files written by `python -m tlcourse room export`") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("results"), list):
        raise ValueError(f"{path}: not an export of exercise results (format {FORMAT!r} expected); pass files "
                         "written by `python -m tlcourse room export`")
    return data


def summary(paths: list[Path]) -> list[dict[str, Any]]:
    """Per exercise, over the learners of ``paths``: how many solved, are stuck, have not tried, and the
    wrong answer the checks diagnosed most often (counted once per learner)."""
    per: dict[tuple[str, str], dict[str, str]] = {}  # (lesson, exercise) -> learner -> best status
    wrong: dict[tuple[str, str], Counter[str]] = {}
    rank = {"not attempted": 0, "wrong": 1, "solved": 2}
    learners = []
    for path in paths:
        data = load_export(path)
        who = f"{data.get('learner', '?')} ({path.name})"
        learners.append(who)
        seen: dict[tuple[str, str], set[str]] = {}
        for rec in data["results"]:
            key = (str(rec.get("lesson", "")), str(rec.get("exercise", "")))
            status = rec.get("status")
            if status not in rank:
                continue
            best = per.setdefault(key, {})
            if who not in best or rank[status] > rank[best[who]]:
                best[who] = status
            if status == "wrong" and rec.get("diagnosis"):
                seen.setdefault(key, set()).add(rec["diagnosis"])
        for key, diagnoses in seen.items():
            wrong.setdefault(key, Counter()).update(diagnoses)
    rows = []
    for key in sorted(per):
        counts = Counter(per[key].values())
        common = wrong.get(key, Counter()).most_common(1)
        rows.append({"lesson": key[0], "exercise": key[1], "learners": len(learners),
                     "solved": counts["solved"], "stuck": counts["wrong"],
                     "not attempted": len(learners) - counts["solved"] - counts["wrong"],
                     "most common wrong answer": f"{common[0][0]} ({common[0][1]} learners)" if common else ""})
    return rows


def format_summary(rows: list[dict[str, Any]]) -> str:
    """The summary as a plain-text table, one exercise per line."""
    if not rows:
        return "no exercise results in these files"
    lines = [f"{'lesson':<22} {'exercise':<48} solved stuck  none  most common wrong answer"]
    for r in rows:
        lines.append(f"{r['lesson'][:22]:<22} {r['exercise'][:48]:<48} {r['solved']:>3}/{r['learners']:<2} "
                     f"{r['stuck']:>4} {r['not attempted']:>5}  {r['most common wrong answer']}")
    return "\n".join(lines)
