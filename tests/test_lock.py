"""scripts/lock.py's multi-platform lock, offline: marker pins, parsing, pip resolving for a target
platform's markers (against a local folder of tiny wheels, no index), the completeness check."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lock():
    spec = importlib.util.spec_from_file_location("lock", ROOT / "scripts" / "lock.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def plat(lock, key):
    return next(p for p in lock.PLATFORMS if p.key == key)


LINUX_TEXT = """# header
# python 3.11.7 on Linux x86_64, locked 2026-12-01
numpy==2.4.6
tensorflow_cpu==2.21.0
"""


def test_marker_pins_only_for_what_linux_lacks_one_line_per_version(lock):
    resolved = {"macos": {"numpy": "2.4.6", "tensorflow": "2.21.0", "appnope": "1.0.0", "shared": "1.0"},
                "windows": {"numpy": "2.4.6", "colorama": "0.4.6", "shared": "1.0", "appnope": "0.9"}}
    assert lock.marker_pins({"numpy": "2.4.6"}, resolved) == [
        'appnope==0.9 ; sys_platform == "win32"',
        'appnope==1.0.0 ; sys_platform == "darwin"',
        'colorama==0.4.6 ; sys_platform == "win32"',
        'shared==1.0 ; sys_platform == "darwin" or sys_platform == "win32"',
        'tensorflow==2.21.0 ; sys_platform == "darwin"',
    ]


def test_lock_text_round_trip_per_platform(lock):
    lines = lock.marker_pins({"numpy": "2.4.6", "tensorflow-cpu": "2.21.0"},
                             {"macos": {"tensorflow": "2.21.0", "numpy": "2.4.6"}, "windows": {"colorama": "0.4.6"}})
    text = LINUX_TEXT + lock.others_text(lines, "3.11.7")
    assert lock.linux_part(text) == LINUX_TEXT
    assert lock.parse(text) == ("python 3.11.7 on Linux x86_64", {"numpy": "2.4.6", "tensorflow-cpu": "2.21.0"})
    assert lock.lock_python(text) == "3.11.7"
    mac = lock.pins_for(text, plat(lock, "macos").environment("3.11.7"))
    win = lock.pins_for(text, plat(lock, "windows").environment("3.11.7"))
    linux = lock.pins_for(text, plat(lock, "linux").environment("3.11.7"))
    assert mac == {"numpy": "2.4.6", "tensorflow-cpu": "2.21.0", "tensorflow": "2.21.0"}
    assert win == {"numpy": "2.4.6", "tensorflow-cpu": "2.21.0", "colorama": "0.4.6"}
    assert linux == {"numpy": "2.4.6", "tensorflow-cpu": "2.21.0"}


def test_a_package_pinned_twice_for_one_platform_or_a_bad_marker_is_named(lock):
    env = plat(lock, "macos").environment("3.11.7")
    with pytest.raises(ValueError, match="pins numpy twice for darwin: 2.4.6 and 2.0"):
        lock.pins_for(LINUX_TEXT + 'numpy==2.0 ; sys_platform == "darwin"\n', env)
    with pytest.raises(ValueError, match="line 5: bad marker"):
        lock.pins_for(LINUX_TEXT + 'appnope==1.0 ; sys_platfrom == "darwin"\n', env)


def test_platform_problems_names_unpinned_and_other_versions(lock):
    linux = plat(lock, "linux")
    assert lock.platform_problems(LINUX_TEXT, linux, "3.11.7", {"numpy": "2.4.6"}) == []
    assert lock.platform_problems(LINUX_TEXT, linux, "3.11.7", {"numpy": "2.4.7", "six": "1.17.0"}) == [
        "numpy: resolved 2.4.7, the lock pins 2.4.6", "six==1.17.0 is not pinned"]


def test_marker_environments_of_the_three_platforms(lock):
    env = {p.key: p.environment("3.11") for p in lock.PLATFORMS}
    assert [env[k]["sys_platform"] for k in ("linux", "macos", "windows")] == ["linux", "darwin", "win32"]
    assert [env[k]["platform_machine"] for k in ("linux", "macos", "windows")] == ["x86_64", "arm64", "AMD64"]
    assert env["windows"]["os_name"] == "nt" and env["macos"]["platform_system"] == "Darwin"
    assert env["linux"]["python_version"] == "3.11" and env["linux"]["python_full_version"] == "3.11.0"
    assert plat(lock, "linux").environment("3.11.7")["python_full_version"] == "3.11.7"


def test_closure_problems(lock):
    env = plat(lock, "windows").environment("3.11.7")

    def item(name, version, *requires):
        return {"metadata": {"name": name, "version": version, "requires_dist": list(requires)}}

    report = {"environment": env, "install": [
        item("tqdm", "4.70.1", 'colorama; platform_system == "Windows"', "pytest; extra == 'dev'"),
        item("ipython", "9.18.1", 'pexpect>4.3; sys_platform != "win32"', "traitlets>=5.13"),
        item("traitlets", "5.16.1")]}
    assert lock.closure_problems(report, env) == [
        "tqdm requires colorama; platform_system == \"Windows\", which was not resolved"]
    report["install"].append(item("colorama", "0.4.6"))
    assert lock.closure_problems(report, env) == []
    report["install"][2]["metadata"]["version"] = "5.0"
    assert lock.closure_problems(report, env) == ["ipython requires traitlets>=5.13, resolved 5.0"]
    report["environment"] = plat(lock, "linux").environment("3.11.7")
    assert "not {" in lock.closure_problems(report, env)[0]


def test_pip_command_targets_the_platform(lock, tmp_path):
    mac = plat(lock, "macos")
    cmd = lock.pip_command(mac, "3.11.7", tmp_path / "c.txt", tmp_path / "r.json", tmp_path / "t", ["numpy"])
    assert cmd[cmd.index("--python-version") + 1] == "3.11.7"
    assert cmd[cmd.index("--abi") + 1] == "cp311"
    assert cmd[cmd.index("--platform") + 1] == "macosx_14_0_arm64"
    assert {"--dry-run", "--ignore-installed", "--only-binary=:all:"} <= set(cmd)
    assert cmd[-3:] == ["--constraint", str(tmp_path / "c.txt"), "numpy"]
    linux = lock.pip_command(lock.LINUX, "3.11.7", tmp_path, tmp_path, tmp_path, [])
    tags = [linux[i + 1] for i, a in enumerate(linux) if a == "--platform"]
    assert "manylinux_2_28_x86_64" in tags and "manylinux2014_x86_64" in tags and "manylinux_2_17_x86_64" in tags


def _wheel(folder: Path, name: str, version: str, *requires: str) -> None:
    dist = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as zf:
        zf.writestr(f"{dist}/METADATA", meta)
        zf.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{dist}/RECORD", "")


@pytest.fixture
def wheels(tmp_path, monkeypatch):
    """A local folder of wheels as the only index (no network, no pip config of this machine)."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    _wheel(folder, "demo", "1.0", 'onlymac; sys_platform == "darwin"', 'onlywin; sys_platform == "win32"',
           'onlylinux; platform_system == "Linux"', 'onlyposix; os_name == "posix"')
    for name in ("onlymac", "onlywin", "onlylinux", "onlyposix"):
        _wheel(folder, name, "1.0")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("")
    return constraints


def test_pip_resolves_with_the_target_platforms_markers(lock, wheels):
    """What pip would install differs by platform as the markers say, though pip runs here, on Linux."""
    got = {p.key: set(lock.resolve(p, "3.11.7", wheels, ["demo"])[0]) for p in lock.PLATFORMS}
    assert got == {"linux": {"demo", "onlylinux", "onlyposix"}, "macos": {"demo", "onlymac", "onlyposix"},
                   "windows": {"demo", "onlywin"}}


def test_a_stack_that_does_not_resolve_is_one_clear_error(lock, wheels):
    wheels.write_text('onlymac==2.0 ; sys_platform == "darwin"\n')
    with pytest.raises(SystemExit) as err:
        lock.resolve(plat(lock, "macos"), "3.11.7", wheels, ["demo"])
    said = str(err.value)
    assert said.startswith("macOS arm64: pip could not resolve the locked stack for Python 3.11.7")
    assert "The conflict is caused by" in said and "onlymac==2.0" in said  # pip's own explanation
    assert said.endswith("run `make lock` again.")


def test_write_others_and_check_platforms_with_pip_stubbed(lock, monkeypatch, tmp_path, capsys):
    """`make lock`'s text from the three resolutions; a package Linux needs that the freeze lacks and
    an unpinned package in `--platforms` both fail, naming the package and the platform."""
    resolved = {"linux": {"numpy": "2.4.6", "tensorflow-cpu": "2.21.0"},
                "macos": {"numpy": "2.4.6", "tensorflow": "2.21.0"},
                "windows": {"numpy": "2.4.6", "tensorflow-cpu": "2.21.0", "colorama": "0.4.6"}}
    monkeypatch.setattr(lock, "resolve_all", lambda platforms, python, constraints: resolved)
    text = lock.write_others(LINUX_TEXT)
    assert text.startswith(LINUX_TEXT) and text.endswith(
        'colorama==0.4.6 ; sys_platform == "win32"\ntensorflow==2.21.0 ; sys_platform == "darwin"\n')
    assert "macOS arm64: 1 pins only it needs" in capsys.readouterr().out
    assert lock.check_platforms(text, tmp_path / "c.txt") == 0
    resolved["macos"]["appnope"] = "1.0.0"
    assert lock.check_platforms(text, tmp_path / "c.txt") == 1
    assert "macOS arm64: appnope==1.0.0 is not pinned\n" in capsys.readouterr().out
    resolved["linux"]["six"] = "1.17.0"
    with pytest.raises(SystemExit, match="Linux x86_64: six==1.17.0 is not pinned"):
        lock.write_others(LINUX_TEXT)
