"""environment.yml (conda) and pyproject.toml (pip) name the same packages with the same ranges and
markers; constraints.txt pins what they need on each platform the lock is for."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
_REQ = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*([^;]*?)\s*(?:;\s*(.*))?$")


def parse(req: str) -> tuple[str, str]:
    """``(name, range)``; the marker, if any, after a ``;`` in the range (``>=2.21,<2.22;<marker>``)."""
    m = _REQ.match(req.strip())
    assert m, req
    spec = m.group(3).replace(" ", "")
    if m.group(4):
        from packaging.markers import Marker

        spec += ";" + str(Marker(m.group(4)))
    return m.group(1).lower().replace("_", "-"), spec


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
    conda, pip_lines = conda_reqs()
    assert sorted(n for n in conda if n.startswith("tensorflow")) == ["tensorflow", "tensorflow-cpu"]
    assert "tf-keras" not in conda
    lines = [ln for ln in pip_lines if ln.startswith("tensorflow")]
    for environment, want in TENSORFLOW.items():
        assert _tensorflows(lines, dict(environment)) == [want], dict(environment)


# The TensorFlow distribution `make setup` (the tf-cpu extra) must pick: tensorflow-cpu has wheels for
# x86_64 Linux and Windows only, tensorflow for Apple Silicon and Linux aarch64.
def _env(**values):
    from packaging.markers import default_environment

    return tuple(sorted({**default_environment(), **values}.items()))


TENSORFLOW = {
    _env(sys_platform="linux", platform_system="Linux", platform_machine="x86_64"): "tensorflow-cpu",
    _env(sys_platform="win32", platform_system="Windows", platform_machine="AMD64"): "tensorflow-cpu",
    _env(sys_platform="darwin", platform_system="Darwin", platform_machine="arm64"): "tensorflow",
    _env(sys_platform="linux", platform_system="Linux", platform_machine="aarch64"): "tensorflow",
}


def _tensorflows(lines, environment):
    from packaging.requirements import Requirement

    reqs = [Requirement(ln) for ln in lines]
    return [r.name for r in reqs if r.marker is None or r.marker.evaluate({**environment, "extra": ""})]


def test_tf_cpu_extra_picks_the_tensorflow_that_has_a_wheel_there():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extra = data["project"]["optional-dependencies"]["tf-cpu"]
    for environment, want in TENSORFLOW.items():
        assert _tensorflows(extra, dict(environment)) == [want], dict(environment)
    # the three platforms the lock is for agree with this table
    lock = _lock()
    for plat in lock.PLATFORMS:
        assert _tensorflows(extra, plat.environment("3.11.7")) == [
            "tensorflow" if plat.key == "macos" else "tensorflow-cpu"], plat.label


def pair_problems(torch_range: str, torch_pin: str, declared: str) -> list[str]:
    """Where pyproject's torch range or the locked torch disagree with the torch requirement that
    torchvision declares (``declared``, a specifier set such as ``==2.14.0`` or ``>=2.14.0``)."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    wanted, allowed = SpecifierSet(declared), SpecifierSet(torch_range)
    lowest = [Version(s.version) for s in allowed if s.operator in (">=", "==", "~=")]
    problems = []
    if Version(torch_pin) not in wanted:
        problems.append(f"the lock pins torch {torch_pin}; torchvision requires torch{declared}")
    if not lowest or Version(str(max(lowest))) not in wanted:
        problems.append(f"pyproject allows torch{torch_range}; torchvision requires torch{declared}")
    return problems


def test_torch_and_torchvision_are_a_matching_pair():
    """The torchvision the lock pins says which torch it works with; pyproject and the lock keep to it."""
    from importlib import metadata

    from packaging.requirements import Requirement

    pip = pyproject_reqs()
    _, pins = _lock().parse((ROOT / "constraints.txt").read_text())
    assert metadata.version("torchvision") == pins["torchvision"], "run `make setup`: torchvision is not the locked one"
    declared = next(str(r.specifier) for r in map(Requirement, metadata.requires("torchvision") or [])
                    if r.name == "torch")
    assert pair_problems(pip["torch"], pins["torch"], declared) == []
    # what it catches: a torch range below what torchvision needs, and a lock that pins another torch
    assert len(pair_problems(">=2.13,<2.14", "2.13.1", ">=2.14.0")) == 2
    assert pair_problems(">=2.14,<2.15", "2.14.1", "==2.14.0") == [
        "the lock pins torch 2.14.1; torchvision requires torch==2.14.0"]


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


def test_lock_satisfies_pyproject_ranges_on_each_platform():
    """On Linux x86_64, macOS arm64 and Windows x86_64 every requirement of `make setup` that applies
    there is pinned there, inside pyproject's range (e.g. tensorflow on macOS, tensorflow-cpu elsewhere)."""
    from packaging.requirements import Requirement

    lock = _lock()
    text = (ROOT / "constraints.txt").read_text()
    python = lock.lock_python(text)
    for plat in lock.PLATFORMS:
        env = plat.environment(python)
        pins = lock.pins_for(text, env)
        for line in lock.stack_requirements():
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
                continue
            name = lock.normalize(req.name)
            assert name in pins, f"{req.name} is needed on {plat.label} but not locked there: run `make lock`"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {req.specifier}")


def test_installed_environment_is_the_locked_one():
    """What the suite runs with is what the lock says (a package added since: `make lock`)."""
    from importlib import metadata

    from packaging.markers import default_environment

    lock = _lock()
    pins = lock.pins_for((ROOT / "constraints.txt").read_text(), default_environment())
    installed = {lock.normalize(d.metadata["Name"]): d.version for d in metadata.distributions()}
    installed.pop("tlcourse", None)
    differ = {n: (v, pins.get(n)) for n, v in installed.items() if pins.get(n) != v}
    assert not differ, f"installed vs locked versions differ {differ}: run `make setup` or `make lock`"
