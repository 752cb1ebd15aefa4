"""The lesson decks: one per lesson, each with its objectives and key points, openable without a network."""

from __future__ import annotations

import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import build_slides  # noqa: E402

from tlcourse import lessons  # noqa: E402

LESSONS = [lesson.student() for lesson in lessons.all_lessons()]


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    out = tmp_path_factory.mktemp("slides")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_slides.py"), "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def _text(html: str) -> str:
    """The visible words of a deck: tags dropped, entities decoded."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


def _plain(markdown: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[`*]", "", markdown))


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_each_deck_has_the_lessons_objectives_key_points_and_takeaways(decks, path):
    nb = nbformat.read(path, as_version=4)
    goals = build_slides.objectives(nb)
    points = build_slides.key_points(path.stem)
    assert goals, f"{path.name}: no 'You will be able to' list in its first cell"
    assert len(points) >= 3, f"docs/instructor.md has no key points for {path.stem}"
    deck = (decks / f"{path.stem}.html").read_text()
    text = _text(deck)
    for item in goals + points:
        assert _plain(item)[:60] in text, f"{path.stem}: deck lacks {item[:60]!r}"
    assert "Takeaways" in text
    assert deck.count("<section") >= 4, "title, objectives, outline, key points, takeaways: one slide each"


@pytest.mark.parametrize("path", LESSONS[:1], ids=[LESSONS[0].stem])
def test_a_deck_needs_no_network(decks, path):
    deck = (decks / f"{path.stem}.html").read_text()
    assert "Reveal.initialize" in deck and "require(" not in deck
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', deck), "a resource from the network"
    assert not re.search(r"@import\s+url\(", deck), "a style sheet from elsewhere"


def test_figures_of_an_executed_notebook_go_into_its_deck(tmp_path):
    nb = nbformat.read(LESSONS[0], as_version=4)
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]
    deck = build_slides.write_deck(nb, LESSONS[0].stem, tmp_path).read_text()
    assert f"data:image/png;base64,{png}" in deck
    assert "&lt;Figure&gt;" not in deck, "only the figure, not its text form"
