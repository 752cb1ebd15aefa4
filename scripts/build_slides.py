"""A short reveal.js deck per lesson, built offline from the notebooks (``make site`` calls it).

    python scripts/build_slides.py [--out build/slides] [--execute NAME ...] [--profile smoke]

Each deck has: the lesson's title and opening paragraph; its objectives (the "You will be able to"
list); its outline (the section headings); its key figures (the image outputs of the executed
notebook, each under its section's heading; none when the notebook was not executed); the key
points of the instructor guide (``docs/instructor.md``, the list under ``**Key points**`` in the
lesson's section); and its takeaways. ``jupyter nbconvert --to slides`` renders it with the
template in ``etc/slides/tlcourse_deck``: reveal.js, its CSS and its theme are inlined from the
copy there, so a deck is one HTML file that opens without a network (nbconvert's own reveal
template loads reveal.js, RequireJS, jQuery and MathJax from CDNs; LaTeX stays as typed).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tlcourse import lessons  # noqa: E402

TEMPLATES = ROOT / "etc" / "slides"
GUIDE = ROOT / "docs" / "instructor.md"
MAX_FIGURES = 6
TAKEAWAYS = re.compile(r"^## (\d+\. )?Takeaways", re.M)
FRAME = re.compile(r"## (\d+\. )?(Setup|Exercises|Takeaways|Interview|Next|Clean up|How to use)")  # not the outline


def _md_cells(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "markdown" and not c.source.startswith("<!-- SOLUTION")]


def objectives(nb: nbformat.NotebookNode) -> list[str]:
    """The bullets (``-`` or ``*``) under the first cell's "**You will be able to**", continuation lines joined."""
    first = _md_cells(nb)[0]
    if "**You will be able to**" not in first:
        return []
    items: list[str] = []
    for line in first.split("**You will be able to**", 1)[1].splitlines()[1:]:
        if not line.strip() and not items:
            continue  # a blank line between the heading and its list
        if line.startswith(("- ", "* ")):
            items.append(line[2:].strip())
        elif line.startswith("  ") and items:
            items[-1] += " " + line.strip()
        else:
            break
    return items


def key_points(stem: str, guide: Path = GUIDE) -> list[str]:
    """The bullets under ``**Key points**`` in the guide's section of this lesson (``### NN ...``)."""
    if not guide.is_file():
        return []
    lesson, points, inside = None, [], False
    for line in guide.read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            lesson, inside = line[4:6], False
        elif lesson == stem[:2] and line.strip() == "**Key points**":
            inside = True
        elif inside and line.startswith("- "):
            points.append(line[2:].strip())
        elif inside and line.startswith("  ") and points:
            points[-1] += " " + line.strip()
        elif inside and points:
            inside = False
    return points


def deck_notebook(nb: nbformat.NotebookNode, stem: str, guide: Path = GUIDE) -> nbformat.NotebookNode:
    """The slides of one lesson as a notebook whose every cell is a slide."""
    md = _md_cells(nb)
    first = md[0]
    title = next((ln[2:] for ln in first.splitlines() if ln.startswith("# ")), stem)
    intro = first.split("\n\n")[1] if "\n\n" in first else ""
    cells = [f"# {title}\n\n{intro}"]
    if goals := objectives(nb):
        cells.append("## You will be able to\n\n" + "\n".join(f"- {g}" for g in goals))
    sections = [ln[3:] for src in md for ln in src.splitlines() if ln.startswith("## ") and not FRAME.match(ln)]
    if sections:
        cells.append("## The lesson\n\n" + "\n".join(f"1. {s}" for s in sections))
    out = nbformat.v4.new_notebook(metadata={"title": title})
    out.cells = [nbformat.v4.new_markdown_cell(c) for c in cells]
    heading, figures = title, 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = next((ln.lstrip("#").strip() for ln in cell.source.splitlines()
                            if re.match(r"#{2,3} ", ln)), heading)
            continue
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if images and figures < MAX_FIGURES:
            figures += 1
            out.cells.append(nbformat.v4.new_markdown_cell(f"## {heading}"))
            fig = nbformat.v4.new_code_cell("", outputs=[images[0]])
            fig.metadata["slideshow"] = {"slide_type": "-"}
            out.cells.append(fig)
    if points := key_points(stem, guide):
        out.cells.append(nbformat.v4.new_markdown_cell("## Key points\n\n" + "\n".join(f"- {p}" for p in points)))
    take = next((m for s in md if (m := TAKEAWAYS.search(s))), None)
    if take:
        body = re.split(r"\n#{1,3} ", take.string[take.end():], maxsplit=1)[0].strip()
        out.cells.append(nbformat.v4.new_markdown_cell("## Takeaways\n\n" + body))
    for cell in out.cells:
        cell.metadata.setdefault("slideshow", {"slide_type": "slide"})
    return out


def write_deck(nb: nbformat.NotebookNode, stem: str, out_dir: Path, guide: Path = GUIDE) -> Path:
    """Render the deck of one lesson (executed or not) to ``out_dir/<stem>.html``; return its path."""
    exporter = SlidesExporter(template_name="tlcourse_deck", extra_template_basedirs=[str(TEMPLATES)],
                              exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(deck_notebook(nb, stem, guide), resources={"metadata": {"name": stem}})
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{stem}.html"
    target.write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "slides")
    parser.add_argument("--execute", nargs="*", default=[], help="execute these notebook stems first (figures)")
    parser.add_argument("--profile", default="smoke", choices=["smoke", "cpu", "full"])
    args = parser.parse_args(argv)
    for path in (lesson.student(ROOT) for lesson in lessons.all_lessons()):
        nb = nbformat.read(path, as_version=4)
        if path.stem in args.execute:
            sys.path.insert(0, str(ROOT / "scripts"))
            from build_site import execute

            execute(nb, args.profile, path.parent, timeout=3600)
        print(write_deck(nb, path.stem, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
