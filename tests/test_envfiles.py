"""environment.yml (conda) and pyproject.toml (pip) name the same packages with the same ranges."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
_REQ = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$")


def parse(req: str) -> tuple[str, str]:
    m = _REQ.match(req.strip())
    assert m, req
    return m.group(1).lower().replace("_", "-"), m.group(3).replace(" ", "")


def pyproject_reqs() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["tf-cpu"]
    reqs += project["optional-dependencies"]["dev"]
    return dict(parse(r) for r in reqs)


def conda_reqs() -> tuple[dict[str, str], list[str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out: dict[str, str] = {}
    pip_lines: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_lines = dep["pip"]
            continue
        name, spec = parse(dep)
        if name not in {"python", "pip"}:
            out[name] = spec
    for line in pip_lines:
        if not line.startswith("-"):
            name, spec = parse(line)
            out[name] = spec
    return out, pip_lines


def test_environment_yml_matches_pyproject():
    conda, pip_lines = conda_reqs()
    pip = pyproject_reqs()
    assert set(conda) == set(pip), (
        f"only in environment.yml: {sorted(set(conda) - set(pip))}; "
        f"only in pyproject.toml: {sorted(set(pip) - set(conda))}"
    )
    for name, spec in pip.items():
        assert conda[name] == spec, f"{name}: environment.yml {conda[name]!r} vs pyproject {spec!r}"
    assert "-e ." in pip_lines, "conda users need the tlcourse package itself"


def test_environment_yml_uses_conda_forge_and_one_tensorflow():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"][0] == "conda-forge"
    conda, _ = conda_reqs()
    assert [n for n in conda if n.startswith("tensorflow")] == ["tensorflow-cpu"]
    assert "tf-keras" not in conda


def test_torch_and_torchvision_are_a_matching_pair():
    pip = pyproject_reqs()
    assert pip["torch"] == ">=2.14,<2.15" and pip["torchvision"] == ">=0.29,<0.30"
