"""Generate the student notebooks in ``notebooks/`` from the solution notebooks in ``solutions/``.

In a solution notebook's code cells, the lines between ``# BEGIN SOLUTION`` and
``# END SOLUTION`` are removed from the student copy, and each ``# STUB: <code>`` line just before
the block becomes ``<code>`` there. Markdown cells whose source starts with ``<!-- SOLUTION -->``
are dropped. Outputs, execution counts and widget state are stripped from both copies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BEGIN, END, STUB = "# BEGIN SOLUTION", "# END SOLUTION", "# STUB: "
SOLUTION_MD = "<!-- SOLUTION -->"


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
    """Serialise a notebook the way Jupyter does (indent 1, trailing newline)."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def build(root: Path, check: bool = False) -> list[str]:
    """Write (or with ``check``, compare) every student notebook; return the out-of-date ones."""
    stale = []
    for sol in sorted((root / "solutions").glob("*.ipynb")):
        nb = json.loads(sol.read_text(encoding="utf-8"))
        target = root / "notebooks" / sol.name
        text = dump(to_student(nb))
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            stale.append(target.name)
            if not check:
                target.write_text(text, encoding="utf-8")
        if not check:
            sol.write_text(dump(clean(nb)), encoding="utf-8")
    return stale
