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


# constraints.txt: the lock of exact tested versions (scripts/lock.py, `make lock`).
def _lock():
    import importlib.util

    spec = importlib.util.spec_from_file_location("lock", ROOT / "scripts" / "lock.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_tested_stack_is_generated_from_the_lock():
    lock = _lock()
    text = (ROOT / "constraints.txt").read_text()
    readme = (ROOT / "README.md").read_text()
    block = lock.stack_block(text)
    assert block in readme, "README's Tested stack differs from constraints.txt: run `make lock`"
    assert lock.replace_block(readme, block) == readme
    where, pins = lock.parse(text)
    assert where.startswith("python 3.") and f"torch {pins['torch']}" in block


def test_lock_satisfies_pyproject_ranges():
    from packaging.requirements import Requirement

    _, pins = _lock().parse((ROOT / "constraints.txt").read_text())
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["tf-cpu"]
    reqs += data["project"]["optional-dependencies"]["dev"] + data["build-system"]["requires"]
    for line in reqs:
        req = Requirement(line)
        name = _lock().normalize(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not locked: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {req.specifier}")


def test_installed_environment_is_the_locked_one():
    """What the suite runs with is what the lock says (a package added since: `make lock`)."""
    from importlib import metadata

    lock = _lock()
    _, pins = lock.parse((ROOT / "constraints.txt").read_text())
    installed = {lock.normalize(d.metadata["Name"]): d.version for d in metadata.distributions()}
    installed.pop("tlcourse", None)
    differ = {n: (v, pins.get(n)) for n, v in installed.items() if pins.get(n) != v}
    assert not differ, f"installed vs locked versions differ {differ}: run `make setup` or `make lock`"
