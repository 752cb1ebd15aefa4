"""The times the course shows (00_start_here's map, README) are measurements of every notebook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_every_notebook_has_a_measured_time(profile):
    timings = json.loads((ROOT / "docs" / "timings.json").read_text())["profiles"].get(profile, {})
    missing = [nb for nb in NOTEBOOKS if nb not in timings]
    assert not missing, (
        f"no {profile} time for {missing}: run "
        f"`python scripts/time_notebooks.py --profile {profile} --only {' '.join(missing)}`"
    )
    assert all(t["seconds"] > 0 for t in timings.values())
