"""The committed ledger's numbers were measured with today's code: a stale digest fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tlcourse import ledger

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("verify", ROOT / "scripts" / "verify.py")
verify = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(verify)


def test_every_ledger_entry_matches_todays_notebook_toml_modules_and_stack():
    stale = verify.stale_entries(ledger.load(ledger.LEDGER), ROOT / "solutions")
    assert not stale, (
        "docs/results.json holds numbers made by other code:\n  " + "\n  ".join(stale)
        + "\nre-measure them: `make verify LESSON=NN` (cpu) and `TLCOURSE_PROFILE=smoke make verify LESSON=NN`"
    )
