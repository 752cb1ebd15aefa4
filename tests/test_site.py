"""The static course site: every lesson page and slide deck exists, links resolve, figures are embedded."""

import re
import subprocess
import sys
from pathlib import Path

from tlcourse import lessons as registry

ROOT = Path(__file__).resolve().parent.parent


def test_site_builds_offline(tmp_path):
    out = tmp_path / "site"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_site.py"), "--out", str(out),
                          "--execute", "00_start_here"], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    lessons = [lesson.stem for lesson in registry.all_lessons()]
    pages = {p.stem for p in out.glob("*.html")}
    assert pages == set(lessons) | {"index"}, f"pages {sorted(pages)} vs lessons {lessons}"
    for page in out.glob("*.html"):
        text = page.read_text()
        for href in re.findall(r'href="([^"#:]+\.html)(?:#[^"]*)?"', text):
            assert (out / href).is_file(), f"{page.name} links to missing {href}"
        assert not [s for s in lessons if f'href="{s}.ipynb' in text], f"{page.name} still links to a notebook"
    first = (out / "00_start_here.html").read_text()
    assert "Executed in the smoke profile" in first
    assert re.search(r'<img[^>]+src="data:image/png;base64,', first), "figures must be embedded"
    assert not re.search(r'<img[^>]+src="https?://', first), "no image may need the network"
    index = (out / "index.html").read_text()
    assert all(f'href="{stem}.html"' in index for stem in lessons)
    other = next(s for s in lessons if s != "00_start_here")
    assert "Rendered without running" in (out / f"{other}.html").read_text()
    # a slide deck per lesson, linked from the index; the executed lesson's deck carries its figure
    assert {p.stem for p in (out / "slides").glob("*.html")} == set(lessons)
    assert all(f'href="slides/{stem}.html"' in index for stem in lessons)
    assert re.search(r'<img[^>]+src="data:image/png;base64,', (out / "slides" / "00_start_here.html").read_text())
