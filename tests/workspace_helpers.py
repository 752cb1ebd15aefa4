"""Shared by the workspace tests (tests/test_workspace.py, tests/test_hostile_inputs.py); their
``course`` fixture is in tests/conftest.py."""

from __future__ import annotations

import json


def nb(text: str) -> str:
    """A one-cell notebook whose code is ``text`` (tells copies apart by content)."""
    return json.dumps({"cells": [{"cell_type": "code", "source": text}]})
