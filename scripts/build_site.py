"""Build the course as a static HTML site: every student notebook, executed, with a navigation bar.

    python scripts/build_site.py [--profile smoke] [--out build/site] [--execute NAME ...]

Each lesson of ``notebooks/`` (the copies learners open) is executed top to bottom in a fresh
kernel in the chosen profile (default ``smoke``: a few minutes for the whole course), converted to
HTML with nbconvert's ``lab`` template (figures embedded as data URIs), and given a bar with links
to the index and the previous and next lessons, and a banner naming the profile and the date.
Links between lessons (``03_fine_tuning.ipynb``) point to the HTML pages. ``--execute`` limits
execution to the named notebooks (the others are rendered without outputs, marked as such).
Outputs exist only in the build folder; the committed notebooks stay clean. ``slides/`` beside the
pages holds a short self-contained reveal.js deck per lesson (scripts/build_slides.py).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import tempfile
from datetime import date
from pathlib import Path

import nbformat
from build_slides import write_deck  # scripts/build_slides.py: a reveal.js deck per lesson
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
LESSON_LINK = re.compile(r'href="(\d\d_[A-Za-z0-9_]+)\.ipynb(#[^"]*)?"')


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The notebook's first level-1 heading, without the leading '#'."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def execute(nb: nbformat.NotebookNode, profile: str, workdir: Path, timeout: int) -> None:
    """Run the notebook in a fresh kernel, in ``workdir``, in ``profile``."""
    old = os.environ.get("TLCOURSE_PROFILE")
    os.environ["TLCOURSE_PROFILE"] = profile
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}).execute()  # fmt: skip
    finally:
        if old is None:
            os.environ.pop("TLCOURSE_PROFILE", None)
        else:
            os.environ["TLCOURSE_PROFILE"] = old


def nav_bar(pages: list[tuple[str, str]], i: int, banner: str) -> str:
    """The HTML bar at the top of lesson ``i``: index, previous, next, and the banner."""
    links = ['<a href="index.html">index</a>']
    if i > 0:
        links.append(f'<a href="{pages[i - 1][0]}.html">&larr; {html.escape(pages[i - 1][1])}</a>')
    if i + 1 < len(pages):
        links.append(f'<a href="{pages[i + 1][0]}.html">{html.escape(pages[i + 1][1])} &rarr;</a>')
    return ('<nav class="tl-nav" style="padding:8px 16px;border-bottom:1px solid #ccc;'
            'font-family:sans-serif;font-size:14px">' + " &middot; ".join(links) +
            f'<div style="color:#666;margin-top:4px">{html.escape(banner)}</div></nav>')  # fmt: skip


def build(out: Path, profile: str, execute_only: list[str] | None, timeout: int) -> list[Path]:
    """Write ``out/index.html`` and one page per lesson; return the lesson pages."""
    sources = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not sources:
        raise SystemExit("no notebooks in notebooks/: run `python -m tlcourse build` first")
    unknown = sorted(set(execute_only or []) - {p.stem for p in sources})
    if unknown:
        raise SystemExit(f"--execute names unknown notebooks: {', '.join(unknown)}")
    tmp_out = Path(tempfile.mkdtemp(prefix=".site-", dir=out.parent if out.parent.exists() else None))
    exporter = HTMLExporter(template_name="lab")
    today = date.today().isoformat()
    notebooks = [(p, nbformat.read(p, as_version=4)) for p in sources]
    pages = [(p.stem, title_of(nb, p.stem)) for p, nb in notebooks]
    written = []
    try:
        # Lessons run beside each other in a folder beside notebooks/, as in a learner's workspace.
        with tempfile.TemporaryDirectory(prefix=".site-run-", dir=ROOT) as run_dir:
            for p in sources:
                shutil.copy2(p, Path(run_dir) / p.name)
            for i, (path, nb) in enumerate(notebooks):
                run = execute_only is None or path.stem in execute_only
                if run:
                    print(f"executing {path.name} ({profile} profile)", flush=True)
                    execute(nb, profile, Path(run_dir), timeout)
                    banner = (f"Executed in the {profile} profile on {today} (student copy; "
                              "numbers from larger profiles are in the lesson text and the ledger).")
                else:
                    banner = "Rendered without running: no outputs on this page."
                body, _ = exporter.from_notebook_node(nb)
                body = LESSON_LINK.sub(lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', body)
                bar = nav_bar(pages, i, banner)
                body = re.sub(r"(<body[^>]*>)", lambda m, bar=bar: m.group(1) + bar, body, count=1)
                target = tmp_out / f"{path.stem}.html"
                target.write_text(body, encoding="utf-8")
                written.append(out / target.name)
                write_deck(nb, path.stem, tmp_out / "slides")
        items = "\n".join(f'<li><a href="{stem}.html">{html.escape(stem[:2])} &middot; '
                          f'{html.escape(title)}</a> (<a href="slides/{stem}.html">slides</a>)</li>'
                          for stem, title in pages)  # fmt: skip
        (tmp_out / "index.html").write_text(
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>tlcourse</title></head>"
            "<body style='font-family:sans-serif;max-width:50em;margin:2em auto'>"
            "<h1>tlcourse: transfer learning, hands-on</h1>"
            f"<p>The lessons with their outputs, executed in the {html.escape(profile)} profile on "
            f"{today}. Run them yourself: see the course's README.</p><ol start='0'>{items}</ol>"
            "</body></html>", encoding="utf-8")  # fmt: skip
        if out.exists():
            shutil.rmtree(out)
        tmp_out.rename(out)
    finally:
        shutil.rmtree(tmp_out, ignore_errors=True)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="smoke", choices=["smoke", "cpu", "full"])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--execute", nargs="*", help="execute only these notebook stems")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pages = build(args.out, args.profile, args.execute, args.timeout)
    print(f"site: {len(pages)} lessons in {args.out} (open {args.out / 'index.html'})")


if __name__ == "__main__":
    main()
