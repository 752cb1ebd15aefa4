"""`make lock`: record the exact tested stack in constraints.txt and README's "Tested stack".

    python scripts/lock.py                 # after `make test` passed: freeze the venv, add the macOS and
                                           # Windows pins, update README
    python scripts/lock.py --markers-only  # keep the Linux pins, resolve the macOS and Windows pins again
    python scripts/lock.py --platforms     # does the lock resolve, fully pinned, on all three platforms?
    python scripts/lock.py --check         # exit 1 if README's block does not match constraints.txt

constraints.txt is `pip freeze --all --exclude-editable` of this interpreter's environment (every
package with its exact version, pip and setuptools included, the editable tlcourse left out),
under a header naming Python and the platform: the Linux x86_64 stack the suite passed with. Then
come the pins of the packages that only macOS arm64 or Windows x86_64 need (``tensorflow`` on
macOS, ``colorama`` on Windows, ...), each with a PEP 508 marker (``; sys_platform == "darwin"``),
found by pip itself resolving the same stack for that platform, constrained by the Linux pins:
metadata only, nothing is installed or run there. `make setup` installs with
`pip install -c constraints.txt`, so every machine gets the versions the suite passed with (pip
skips a pin whose marker does not match); pyproject.toml keeps its ranges for people who install
tlcourse into their own environment.

pip evaluates environment markers for the interpreter that runs it, even with ``--platform``
(pip 26: `Marker.evaluate` reads ``packaging.markers.default_environment()``). So each resolution
runs pip in a child process whose ``default_environment`` is the target platform's marker
environment (PLATFORMS below); the report pip writes shows which environment it used, and every
resolution is checked to be closed under that environment's markers by ``packaging`` itself.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from packaging.markers import Marker
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "constraints.txt"
README = ROOT / "README.md"
BEGIN, END = "<!-- tl:stack -->", "<!-- /tl:stack -->"
# The packages README names; every other one is counted.
HEADLINE = ("torch", "torchvision", "tensorflow-cpu", "keras", "transformers", "accelerate", "datasets",
            "ultralytics", "jupyterlab", "ipywidgets", "nbval", "scikit-learn", "pandas", "numpy")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$")
_MARKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*;\s*(\S.*?)\s*$")
OTHERS_HEADER = "# Only on other platforms"
EXTRA = "tf-cpu"  # the extra the lock is made with (`make setup` without an NVIDIA GPU)


class Platform(NamedTuple):
    """A platform the lock must hold for: pip's wheel tags and the PEP 508 marker environment."""

    key: str
    label: str
    tags: tuple[str, ...]
    os_name: str
    sys_platform: str
    system: str
    machine: str
    release: str

    def environment(self, python: str) -> dict[str, str]:
        """The marker environment of CPython ``python`` (``3.11`` or ``3.11.7``) on this platform."""
        full = python if python.count(".") == 2 else python + ".0"
        return {"implementation_name": "cpython", "implementation_version": full, "os_name": self.os_name,
                "platform_machine": self.machine, "platform_python_implementation": "CPython",
                "platform_release": self.release, "platform_system": self.system, "platform_version": "",
                "python_full_version": full, "python_version": ".".join(full.split(".")[:2]),
                "sys_platform": self.sys_platform}


# glibc 2.28 (Debian 10, Ubuntu 20.04, RHEL 8) and newer; pip takes manylinux tags only as listed.
_MANYLINUX = tuple(f"manylinux_2_{v}_x86_64" for v in range(28, 16, -1)) + (
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64")
PLATFORMS = (
    Platform("linux", "Linux x86_64", _MANYLINUX, "posix", "linux", "Linux", "x86_64", "6.1.0"),
    # pip widens a macosx tag to every older macOS of the same architecture (and universal2):
    # macOS 14 or newer on Apple Silicon (TensorFlow 2.21 needs macOS 12 or newer).
    Platform("macos", "macOS arm64", ("macosx_14_0_arm64",), "posix", "darwin", "Darwin", "arm64", "23.6.0"),
    Platform("windows", "Windows x86_64", ("win_amd64",), "nt", "win32", "Windows", "AMD64", "10"),
)
LINUX = PLATFORMS[0]

# Runs pip with its marker environment replaced by the JSON in argv[1]; pip's arguments follow.
_PIP_FOR = """import json, sys
import pip._vendor.packaging.markers as markers
env = json.loads(sys.argv[1])
markers.default_environment = lambda: dict(env)
from pip._internal.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def normalize(name: str) -> str:
    """PEP 503 name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def freeze() -> str:
    """This environment's packages, one ``name==version`` a line, sorted, tlcourse left out."""
    out = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                         capture_output=True, text=True, check=True).stdout
    lines = [ln.strip() for ln in out.splitlines() if ln.strip() and not ln.startswith("#")]
    bad = [ln for ln in lines if not _PIN.match(ln)]
    if bad:
        raise SystemExit(f"pip freeze gave lines that are not exact pins (installed from a path or URL?): {bad}")
    pins = sorted((ln for ln in lines if normalize(_PIN.match(ln).group(1)) != "tlcourse"),
                  key=lambda ln: normalize(ln.split("==")[0]))
    return "\n".join(pins) + "\n"


def lock_text(pins: str) -> str:
    """constraints.txt's Linux part: a header (Python, platform, date) and the pins."""
    py = platform.python_version()
    return (
        "# The exact stack the course's tests passed with: `make setup` installs with `pip install -c` this\n"
        "# file; `make lock` (scripts/lock.py) rewrites it from the venv after `make test` passed.\n"
        f"# python {py} on {platform.system()} {platform.machine()}, locked "
        f"{datetime.now(UTC).strftime('%Y-%m-%d')}\n" + pins
    )


def linux_part(text: str) -> str:
    """constraints.txt without its other-platform pins: the header and the tested Linux pins."""
    return text.split(OTHERS_HEADER, 1)[0]


def parse(text: str) -> tuple[str, dict[str, str]]:
    """The header's ``python X on OS ARCH`` line and the tested pins ``{normalized name: version}``
    (the lines without a marker; the other platforms' pins: ``marked``)."""
    where = ""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# python "):
            where = line[2:].split(", locked")[0]
        elif m := _PIN.match(line):
            pins[normalize(m.group(1))] = m.group(2)
    if not where or not pins:
        raise ValueError("constraints.txt has no '# python ...' header or no pins; rerun `make lock`.")
    return where, pins


def marked(text: str) -> list[tuple[str, str, Marker]]:
    """The pins with a marker: ``(normalized name, version, marker)`` in file order."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if m := _MARKED.match(line):
            try:
                out.append((normalize(m.group(1)), m.group(2), Marker(m.group(3))))
            except ValueError as exc:
                raise ValueError(f"constraints.txt line {number}: bad marker in {line!r}: {exc}") from None
    return out


def pins_for(text: str, env: dict[str, str]) -> dict[str, str]:
    """What the lock pins in marker environment ``env``: every plain pin, plus each marked pin whose
    marker holds there. Two pins of one package that both apply there are an error."""
    pins = dict(parse(text)[1])
    for name, version, marker in marked(text):
        if marker.evaluate(env):
            if name in pins:
                raise ValueError(f"constraints.txt pins {name} twice for {env['sys_platform']}: "
                                 f"{pins[name]} and {version} ; {marker}")
            pins[name] = version
    return pins


def stack_requirements(extra: str = EXTRA) -> list[str]:
    """What `make setup` installs: tlcourse's dependencies, the TensorFlow extra, dev, the build
    backend, pip and uv (the requirement strings of pyproject.toml, markers included)."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    optional = data["project"]["optional-dependencies"]
    return [*data["project"]["dependencies"], *optional[extra], *optional["dev"],
            *data["build-system"]["requires"], "pip", "uv"]


def pip_command(plat: Platform, python: str, constraints: Path, report: Path, target: Path,
                requirements: list[str]) -> list[str]:
    """pip's dry run that resolves ``requirements`` for ``plat`` and writes what it would install to
    ``report``: wheels only (nothing is built), ``--target`` so that this venv's packages do not count.
    fast-deps reads a wheel's metadata with HTTP range requests where the index serves no PEP 658
    metadata file; with one, pip uses that (neither downloads the wheels)."""
    major_minor = ".".join(python.split(".")[:2])
    cmd = [sys.executable, "-c", _PIP_FOR, json.dumps(plat.environment(python)),
           "install", "--dry-run", "--ignore-installed", "--report", str(report),
           "--target", str(target), "--only-binary=:all:", "--use-feature=fast-deps",
           "--python-version", python, "--implementation", "cp",
           "--abi", "cp" + major_minor.replace(".", "")]
    for tag in plat.tags:
        cmd += ["--platform", tag]
    return [*cmd, "--constraint", str(constraints), *requirements]


def closure_problems(report: dict, env: dict[str, str]) -> list[str]:
    """Whether pip's report is a complete install for ``env``: pip used that marker environment, and
    every requirement of a resolved package whose marker holds there (extras aside) is resolved,
    at a version it allows. An empty list: complete."""
    if report.get("environment") != env:
        return [f"pip resolved for marker environment {report.get('environment')}, not {env}"]
    versions = {normalize(i["metadata"]["name"]): i["metadata"]["version"] for i in report["install"]}
    problems = []
    for item in report["install"]:
        for line in item["metadata"].get("requires_dist") or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
                continue
            have = versions.get(normalize(req.name))
            if have is None:
                problems.append(f"{item['metadata']['name']} requires {line}, which was not resolved")
            elif not req.specifier.contains(have, prereleases=True):
                problems.append(f"{item['metadata']['name']} requires {line}, resolved {have}")
    return problems


def resolve(plat: Platform, python: str, constraints: Path, requirements: list[str]) -> tuple[dict[str, str], float]:
    """``{normalized name: version}`` that pip would install for ``plat``, and the seconds it took.
    Raises SystemExit with pip's own explanation when the stack does not resolve there."""
    with tempfile.TemporaryDirectory(prefix="tlcourse-lock-") as tmp:
        report = Path(tmp) / "report.json"
        cmd = pip_command(plat, python, constraints, report, Path(tmp) / "target", requirements)
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0 or not report.is_file():
            said = proc.stdout.splitlines()  # pip's explanation (which pins conflict) comes last
            first = next((i for i, ln in enumerate(said) if ln.startswith("ERROR")), max(0, len(said) - 15))
            raise SystemExit(
                f"{plat.label}: pip could not resolve the locked stack for Python {python} "
                f"(exit {proc.returncode}):\n  " + "\n  ".join(ln for ln in said[first:] if ln.strip()) +
                f"\nA pin in {constraints.name} has no wheel for {plat.label} or conflicts with what that "
                "platform needs: change that pin (or pyproject.toml's range) and run `make lock` again.")
        data = json.loads(report.read_text(encoding="utf-8"))
    problems = closure_problems(data, plat.environment(python))
    if problems:
        raise SystemExit(f"{plat.label}: pip's resolution is incomplete for that platform's markers "
                         "(did pip change how it evaluates markers?):\n  " + "\n  ".join(problems))
    return {normalize(i["metadata"]["name"]): i["metadata"]["version"] for i in data["install"]}, seconds


def resolve_all(platforms: tuple[Platform, ...], python: str, constraints: Path) -> dict[str, dict[str, str]]:
    """``resolve`` for each platform, side by side (each mostly waits on the index); prints the times."""
    reqs = stack_requirements()
    with ThreadPoolExecutor(len(platforms)) as pool:
        jobs = {p.key: pool.submit(resolve, p, python, constraints, reqs) for p in platforms}
        out = {}
        for plat in platforms:
            out[plat.key], seconds = jobs[plat.key].result()
            print(f"{plat.label}: resolved {len(out[plat.key])} packages in {seconds:.0f} s", flush=True)
    return out


def marker_pins(linux: dict[str, str], resolved: dict[str, dict[str, str]]) -> list[str]:
    """The pins that only the other platforms need: ``name==version ; sys_platform == "..."`` for
    each resolved package the Linux pins lack; one line per version, sorted by name."""
    env_of = {p.key: p.sys_platform for p in PLATFORMS}
    by_version: dict[tuple[str, str], list[str]] = {}
    for key, packages in resolved.items():
        for name, version in packages.items():
            if name not in linux:
                by_version.setdefault((name, version), []).append(env_of[key])
    lines = []
    for (name, version), where in sorted(by_version.items()):
        marker = " or ".join(f'sys_platform == "{sp}"' for sp in sorted(where))
        lines.append(f"{name}=={version} ; {marker}")
    return lines


def others_text(lines: list[str], python: str) -> str:
    """constraints.txt's tail: the other platforms' pins under a comment saying what they are."""
    labels = " and ".join(p.label for p in PLATFORMS[1:])
    return (f"{OTHERS_HEADER}: {labels}, python {python}. What pip resolves\n"
            "# there for the same stack under the pins above (scripts/lock.py; resolved, not run there); pip\n"
            "# skips a line whose marker does not match the machine.\n" + "".join(ln + "\n" for ln in lines))


def platform_problems(text: str, plat: Platform, python: str, resolved: dict[str, str]) -> list[str]:
    """Packages pip resolved for ``plat`` that the lock does not pin there (or pins at another version)."""
    pins = pins_for(text, plat.environment(python))
    problems = []
    for name, version in sorted(resolved.items()):
        if name not in pins:
            problems.append(f"{name}=={version} is not pinned")
        elif pins[name] != version:
            problems.append(f"{name}: resolved {version}, the lock pins {pins[name]}")
    return problems


def lock_python(text: str) -> str:
    """The Python version the lock was made with (its header), e.g. ``3.11.7``."""
    return parse(text)[0].split()[1]


def unpinned(text: str, python: str, resolved: dict[str, dict[str, str]]) -> list[str]:
    """What each platform's resolution holds that the lock ``text`` does not pin there (empty: all)."""
    return [f"{plat.label}: {problem}" for plat in PLATFORMS
            for problem in platform_problems(text, plat, python, resolved[plat.key])]


def write_others(linux: str) -> str:
    """Resolve all three platforms under the Linux pins ``linux`` (constraints.txt's Linux part) and
    return the whole lock text: those pins and, with markers, what macOS and Windows need beyond them.
    Fails when a platform does not resolve or Linux needs a package the freeze lacks."""
    python = lock_python(linux)
    with tempfile.TemporaryDirectory(prefix="tlcourse-lock-") as tmp:
        only_linux = Path(tmp) / "constraints.txt"
        only_linux.write_text(linux, encoding="utf-8")
        resolved = resolve_all(PLATFORMS, python, only_linux)
    lines = marker_pins(parse(linux)[1], {k: v for k, v in resolved.items() if k != LINUX.key})
    text = linux.rstrip("\n") + "\n" + others_text(lines, python)
    problems = unpinned(text, python, resolved)
    if problems:
        raise SystemExit("a fresh install needs packages the lock does not pin (a venv made by hand?):\n  "
                         + "\n  ".join(problems))
    for plat in PLATFORMS[1:]:
        print(f"{plat.label}: {sum(plat.sys_platform in ln for ln in lines)} pins only it needs")
    return text


def check_platforms(text: str, constraints: Path) -> int:
    """`--platforms`: resolve the locked stack for each platform under the lock; 1 if any package
    resolved is not pinned for that platform (a SystemExit if one does not resolve)."""
    python = lock_python(text)
    start = time.perf_counter()
    problems = unpinned(text, python, resolve_all(PLATFORMS, python, constraints))
    for line in problems:
        print(line)
    print(f"{'FAILED' if problems else 'ok'}: the lock for Python {python} on "
          f"{', '.join(p.label for p in PLATFORMS)} ({time.perf_counter() - start:.0f} s); "
          f"{'run `make lock`' if problems else 'every package resolved is pinned'}")
    return 1 if problems else 0


def stack_block(text: str) -> str:
    """README's generated "Tested stack" paragraph for a lock file's text."""
    where, pins = parse(text)
    named = [f"{name} {pins[name]}" for name in HEADLINE if name in pins]
    others = len(pins) - len(named)
    return (
        f"{BEGIN}\nTested with {where}: " + ", ".join(named) +
        f", and {others} more packages, every one pinned to its exact version in `constraints.txt`.\n{END}"
    )


def replace_block(readme: str, block: str) -> str:
    """README with the text between the stack markers replaced by ``block``."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {BEGIN} ... {END} block under 'Tested stack'.")
    return readme[:start] + block + readme[end + len(END):]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only check README against constraints.txt")
    mode.add_argument("--platforms", action="store_true",
                      help="resolve the locked stack for Linux, macOS and Windows; exit 1 if not all pinned")
    mode.add_argument("--markers-only", action="store_true",
                      help="keep the Linux pins; resolve the macOS and Windows pins again")
    args = parser.parse_args(argv)
    if args.platforms:
        return check_platforms(LOCK.read_text(encoding="utf-8"), LOCK)
    if not args.check:
        linux = linux_part(LOCK.read_text(encoding="utf-8")) if args.markers_only else lock_text(freeze())
        LOCK.write_text(write_others(linux), encoding="utf-8")
        print(f"wrote {LOCK.name}: {len(parse(linux)[1])} packages, {len(marked(LOCK.read_text()))} "
              "pins for other platforms")
    readme = README.read_text(encoding="utf-8")
    new = replace_block(readme, stack_block(LOCK.read_text(encoding="utf-8")))
    if args.check:
        if new != readme:
            print("README's Tested stack does not match constraints.txt: run `make lock`.")
            return 1
        return 0
    if new != readme:
        README.write_text(new, encoding="utf-8")
        print("updated README.md (Tested stack)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
