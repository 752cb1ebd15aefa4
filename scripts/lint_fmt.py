"""`make lint`: the course has no code formatter, so no ``# fmt:`` comment (``# fmt: skip``, ``off``, ``on``).

    python scripts/lint_fmt.py        # exit 1 and name file:line of each one

The line style is made by hand (ruff checks it; nothing reformats it), so a ``# fmt:`` comment only
addresses a tool that never runs. Lessons' code cells are not read here (``.py`` files only).
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("tlcourse", "scripts", "tests", "benchmarks")
FMT = re.compile(r"#\s*fmt:")


def fmt_comments(path: Path) -> list[int]:
    """Line numbers of the ``# fmt:`` comments of a Python file (comments only, not strings)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [tok.start[0] for tok in tokens if tok.type == tokenize.COMMENT and FMT.match(tok.string)]


def problems(root: Path = ROOT) -> list[str]:
    """``file:line`` of each ``# fmt:`` comment in the course's Python files."""
    out = []
    files = sorted(p for folder in FOLDERS for p in (root / folder).rglob("*.py")) + [root / "conftest.py"]
    for path in files:
        rel = path.relative_to(root).as_posix()
        lines = fmt_comments(path) if path.is_file() else []
        out += [f"{rel}:{n}: '# fmt:' comment, but no formatter runs (CONTRIBUTING.md, Formatting)" for n in lines]
    return out


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
