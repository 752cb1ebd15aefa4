"""Generate the student notebooks in ``notebooks/`` from the solution notebooks in ``solutions/``.

In a solution notebook's code cells, the lines between ``# BEGIN SOLUTION`` and
``# END SOLUTION`` are removed from the student copy, and each ``# STUB: <code>`` line just before
the block becomes ``<code>`` there. Markdown cells whose source starts with ``<!-- SOLUTION -->``
are dropped. Outputs, execution counts and widget state are stripped from both copies.

:func:`audit` checks a pair: every solution cell that calls an exercise check
(``tl.checks.exercise(...)``) has a stub line and a solution block, and no line of a solution
block or solution markdown cell appears in the student copy.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .validate import load_json, write_atomic

BEGIN, END, STUB = "# BEGIN SOLUTION", "# END SOLUTION", "# STUB: "
SOLUTION_MD = "<!-- SOLUTION -->"
EXERCISE_CALL = re.compile(r"\bchecks\.exercise\(")
NBFORMAT = (4, 5)  # every notebook's version (4.5: cells have ids)


def clean(nb: dict[str, Any]) -> dict[str, Any]:
    """Strip outputs, execution counts and widget state (in place) and return the notebook."""
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def student_source(source: str) -> str:
    """Turn one solution cell's source into the student's version."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if stripped.startswith(STUB):
            out.append(indent + stripped[len(STUB):])
        elif stripped == BEGIN:
            if inside:
                raise ValueError("nested '# BEGIN SOLUTION'")
            inside = True
        elif stripped == END:
            if not inside:
                raise ValueError("'# END SOLUTION' without BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("'# BEGIN SOLUTION' without END")
    return "\n".join(out)


def to_student(nb: dict[str, Any]) -> dict[str, Any]:
    """The student notebook for a solution notebook (a new object)."""
    nb = clean(json.loads(json.dumps(nb)))
    cells = []
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown" and src.lstrip().startswith(SOLUTION_MD):
            continue
        if cell["cell_type"] == "code":
            src = student_source(src)
        cell["source"] = src
        cells.append(cell)
    nb["cells"] = cells
    return nb


def dump(nb: dict[str, Any]) -> str:
    """The course's one notebook JSON form: nbformat 4.5, as ``nbformat.write`` (and so JupyterLab)
    writes it: sorted keys, indent 1, sources as lists of lines, a trailing newline.

    A cell without an id (a 4.4 notebook, a cell written by hand) gets one made from its position
    and source, so the same notebook always gives the same text (nbformat's own ids are random).
    """
    import nbformat  # here, not at the top: every lesson imports this module (tl.ledger.record -> tl.interview), and
    # nbformat brings jsonschema, whose format checkers take about 2 s to import (rfc3987_syntax builds its grammars)

    nb = json.loads(json.dumps(nb))  # a copy
    nb["nbformat"], nb["nbformat_minor"] = NBFORMAT
    for i, cell in enumerate(nb.get("cells", [])):
        if isinstance(cell, dict) and not cell.get("id"):
            cell["id"] = hashlib.sha256(f"{i}\0{_source(cell)}".encode()).hexdigest()[:8]
    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


def same_notebook(path: Path, text: str) -> bool:
    """True when ``path`` holds the notebook ``text`` (a :func:`dump`), in whatever JSON form."""
    try:
        return dump(json.loads(path.read_text(encoding="utf-8"))) == text
    except (OSError, ValueError):  # missing, unreadable, not JSON
        return False


class BuildError(ValueError):
    """A solution notebook cannot be turned into a student copy; the message names each problem."""


def _prepare(sol: Path) -> tuple[str, str]:
    """(student copy, cleaned solution) of one solution notebook, as text; BuildError if it is bad."""
    nb = load_json(sol, error=BuildError, fix="Restore it (git checkout) or fix it in JupyterLab.")
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise BuildError(f"{sol}: not a notebook (no 'cells' list).")
    for i, cell in enumerate(nb["cells"]):
        src = cell.get("source") if isinstance(cell, dict) else None
        if not (isinstance(src, str) or (isinstance(src, list) and all(isinstance(x, str) for x in src))) \
                or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise BuildError(f"{sol}, cell {i}: not a notebook cell (cell_type and text source).")
        if cell["cell_type"] == "code":
            try:
                student_source(_source(cell))
            except ValueError as exc:
                raise BuildError(f"{sol}, cell {i}: {exc} (every '{BEGIN}' needs its '{END}').") from None
    student = to_student(nb)
    problems = audit(nb, student)
    if problems:
        raise BuildError(f"{sol}: " + "; ".join(problems))
    return dump(student), dump(clean(nb))


def build(root: Path, check: bool = False) -> list[str]:
    """Write (or with ``check``, compare) every student notebook; return the out-of-date ones.

    Every solution is read and checked (JSON, cells, balanced solution markers, :func:`audit`)
    before any file is written; a :class:`BuildError` lists every bad solution and nothing is
    rewritten. Then the interview question bank is rendered into the lessons' interview blocks
    (:func:`tlcourse.interview.sync_lessons`; a solution notebook out of date counts as stale), and
    each file is replaced atomically, in the one JSON form of :func:`dump`. A student copy is out of
    date when its content differs (a copy in another JSON form only is rewritten, not listed;
    tests/test_lesson_hygiene.py checks the form).
    """
    from .interview import sync_lessons
    from .lessons import all_lessons

    prepared, errors = {}, []
    for sol in (lesson.solution(root) for lesson in all_lessons()):
        if not sol.is_file():
            errors.append(f"{sol}: missing (the lesson registry, tlcourse/lessons/, names it): restore it "
                          "(git checkout) or remove the lesson's TOML")
            continue
        try:
            prepared[sol] = _prepare(sol)
        except BuildError as exc:
            errors.append(str(exc))
    if errors:
        raise BuildError("no notebook was written; fix these solution notebooks first:\n  " + "\n  ".join(errors))
    stale = [f"solutions/{name}" for name in sync_lessons(root / "solutions", check=check)]
    if stale and not check:  # the bank changed some solutions: read them again
        prepared = {sol: _prepare(sol) for sol in prepared}
    for sol, (student, solution) in prepared.items():
        target = root / "notebooks" / sol.name
        if not same_notebook(target, student):
            stale.append(target.name)
        if not check:  # also a file of the same content in another JSON form: rewritten in the course's
            for path, text in ((target, student), (sol, solution)):
                if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
                    write_atomic(path, text)
    return stale


def _source(cell: dict[str, Any]) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _split(source: str) -> tuple[list[str], list[str], bool]:
    """(lines outside solution blocks, lines inside them, has a stub line) of one code cell."""
    outside, inside, stub, within = [], [], False, False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            within = True
        elif stripped == END:
            within = False
        elif stripped.startswith(STUB):
            stub = True
        else:
            (inside if within else outside).append(stripped)
    return outside, inside, stub


def _telling(line: str) -> bool:
    """Lines long enough to give an answer away (not ``)``, ``else:`` or blank)."""
    return len(line) >= 10 and any(ch.isalnum() for ch in line)


def audit(solution: dict[str, Any], student: dict[str, Any]) -> list[str]:
    """Problems of one solution notebook and its student copy (empty list: none).

    * a code cell that calls ``checks.exercise(`` without a ``# STUB:`` line and a non-empty
      ``# BEGIN SOLUTION`` / ``# END SOLUTION`` block (its answer would reach the student);
    * a line found only in solution blocks or ``<!-- SOLUTION -->`` markdown of ``solution`` that
      appears in ``student``.
    """
    problems, public, secret = [], set(), set()
    for i, cell in enumerate(solution["cells"]):
        src = _source(cell)
        if cell["cell_type"] == "markdown" and src.lstrip().startswith(SOLUTION_MD):
            secret.update(ln.strip() for ln in src.splitlines()[1:])
            continue
        if cell["cell_type"] != "code":
            public.update(ln.strip() for ln in src.splitlines())
            continue
        outside, inside, stub = _split(src)
        public.update(outside)
        secret.update(inside)
        if EXERCISE_CALL.search(src) and not (stub and any(inside)):
            what = "has no '# STUB: ...' line" if not stub else "its solution block is missing or empty"
            problems.append(f"cell {i} calls an exercise check but {what} (a student copy needs "
                            f"the stub, and the answer only inside the block): {src.strip().splitlines()[0][:80]!r}")
    leaked = {ln for ln in secret - public if _telling(ln)}
    for i, cell in enumerate(student["cells"]):
        for line in _source(cell).splitlines():
            if line.strip() in leaked:
                problems.append(f"student cell {i} shows solution text: {line.strip()[:80]!r}")
    return problems
