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

The site is built in a fresh folder beside ``--out`` and swapped in at the end. An existing
``--out`` is replaced only when this script made it (it holds the marker file
:data:`SITE_MARKER` and only the pages) or it is empty; any other folder (a workspace, ``notebooks/``, your files)
is refused before anything runs, and nothing in it is touched.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

import nbformat
from build_slides import write_deck  # scripts/build_slides.py: a reveal.js deck per lesson
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tlcourse import lessons  # noqa: E402

SITE_MARKER = ".tlcourse-site"  # in every folder this script built: only such a folder is replaced
# The pages it writes, in this build or an earlier one (whose lessons the registry may no longer list).
SITE_PAGE = re.compile(r"^(index|\d\d_[A-Za-z0-9_]+)\.html$")


def check_out(out: Path) -> None:
    """Refuse (``SystemExit``) an ``--out`` that exists and was not built by this script.

    Allowed: a path that does not exist, an empty folder, or a folder holding only the pages the
    script writes (``index.html``, ``NN_name.html``) and :data:`SITE_MARKER` (a site built before
    the marker existed has the pages only). A folder with any other file is kept as it is.
    """
    if out.is_symlink():
        raise SystemExit(f"--out {out} is a symbolic link: name a real folder (nothing was changed).")
    if not out.exists():
        return
    if not out.is_dir():
        raise SystemExit(f"--out {out} is a file, not a folder: name another folder (nothing was changed).")
    pages = [p for p in out.iterdir() if p.is_file() and not p.is_symlink() and SITE_PAGE.match(p.name)]
    if (out / SITE_MARKER).is_file():
        foreign = sorted({p.name for p in out.iterdir()} - {p.name for p in pages} - {SITE_MARKER})
        if not foreign:
            return
        raise SystemExit(
            f"--out {out} is a site this script built, but it now also holds {', '.join(foreign[:3])}"
            f"{' ...' if len(foreign) > 3 else ''}, which it did not write; move that away first "
            "(nothing was changed)."
        )
    if len(pages) == len(list(out.iterdir())):  # empty, or a site from before the marker: pages only
        return
    raise SystemExit(
        f"--out {out} exists and was not built by build_site.py (it has no {SITE_MARKER} file), so "
        "it is not replaced: nothing in it was touched. Name a new folder (e.g. the default "
        "build/site), or empty that one yourself first."
    )


def swap_in(new: Path, out: Path) -> None:
    """Put the finished site folder ``new`` at ``out`` (checked again by :func:`check_out`)."""
    check_out(out)
    if out.is_dir() and any(out.iterdir()):  # an earlier site: move it aside, then rename
        aside = Path(tempfile.mkdtemp(prefix=".site-old-", dir=out.parent))
        os.replace(out, aside / "old")
        os.replace(new, out)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(new, out)  # a rename replaces an empty folder in one step


def lesson_links(stems: list[str]) -> re.Pattern[str]:
    """``href="<stem>.ipynb#..."`` links to one of the lessons ``stems`` (rewritten to their pages)."""
    return re.compile(r'href="(' + "|".join(map(re.escape, stems)) + r')\.ipynb(#[^"]*)?"')


def execute(nb: nbformat.NotebookNode, profile: str, workdir: Path, timeout: int) -> None:
    """Run the notebook in a fresh kernel, in ``workdir``, in ``profile``."""
    old = os.environ.get("TLCOURSE_PROFILE")
    os.environ["TLCOURSE_PROFILE"] = profile
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}).execute()
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
            f'<div style="color:#666;margin-top:4px">{html.escape(banner)}</div></nav>')


def build(out: Path, profile: str, execute_only: list[str] | None, timeout: int) -> list[Path]:
    """Write ``out/index.html`` and one page per lesson; return the lesson pages."""
    course = lessons.all_lessons()
    sources = [lesson.student(ROOT) for lesson in course]
    missing = [p.name for p in sources if not p.is_file()]
    if missing:
        raise SystemExit(f"notebooks/ lacks {', '.join(missing)}: run `python -m tlcourse build` first")
    unknown = sorted(set(execute_only or []) - {p.stem for p in sources})
    if unknown:
        raise SystemExit(f"--execute names unknown notebooks: {', '.join(unknown)}")
    check_out(out)  # before any notebook runs
    tmp_out = Path(tempfile.mkdtemp(prefix=".site-", dir=out.parent))
    (tmp_out / SITE_MARKER).write_text("built by scripts/build_site.py; the next build replaces this folder\n",
                                       encoding="utf-8")
    exporter = HTMLExporter(template_name="lab")
    today = date.today().isoformat()
    notebooks = [(p, nbformat.read(p, as_version=4)) for p in sources]
    pages = [(lesson.stem, f"{lesson.number} · {lesson.title}") for lesson in course]
    links = lesson_links([lesson.stem for lesson in course])
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
                body = links.sub(lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', body)
                bar = nav_bar(pages, i, banner)
                body = re.sub(r"(<body[^>]*>)", lambda m, bar=bar: m.group(1) + bar, body, count=1)
                target = tmp_out / f"{path.stem}.html"
                target.write_text(body, encoding="utf-8")
                written.append(out / target.name)
                write_deck(nb, path.stem, tmp_out / "slides")
        items = "\n".join(f'<li><a href="{stem}.html">{html.escape(title)}</a> '
                          f'(<a href="slides/{stem}.html">slides</a>)</li>' for stem, title in pages)
        (tmp_out / "index.html").write_text(
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>tlcourse</title></head>"
            "<body style='font-family:sans-serif;max-width:50em;margin:2em auto'>"
            "<h1>tlcourse: transfer learning, hands-on</h1>"
            f"<p>The lessons with their outputs, executed in the {html.escape(profile)} profile on "
            f"{today}. Run them yourself: see the course's README.</p><ol start='0'>{items}</ol>"
            "</body></html>", encoding="utf-8")
        swap_in(tmp_out, out)
    finally:
        shutil.rmtree(tmp_out, ignore_errors=True)
    return written


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds >= 1")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="smoke", choices=["smoke", "cpu", "full"])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--execute", nargs="*", help="execute only these notebook stems")
    parser.add_argument("--timeout", type=positive_int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    args.out = args.out.expanduser().absolute()
    check_out(args.out)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SystemExit(f"--out {args.out}: cannot create its parent folder ({exc.strerror or exc}).") from None
    pages = build(args.out, args.profile, args.execute, args.timeout)
    print(f"site: {len(pages)} lessons in {args.out} (open {args.out / 'index.html'})")


if __name__ == "__main__":
    main()
