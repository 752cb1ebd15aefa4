"""`make lock`: record the exact tested stack in constraints.txt and README's "Tested stack".

    python scripts/lock.py            # after `make test` passed: freeze the venv, update README
    python scripts/lock.py --check    # exit 1 if README's block does not match constraints.txt

constraints.txt is `pip freeze --all --exclude-editable` of this interpreter's environment (every
package with its exact version, pip and setuptools included, the editable tlcourse left out),
under a header naming Python and the platform. `make setup` installs with
`pip install -c constraints.txt`, so every machine gets the versions the suite passed with;
pyproject.toml keeps its ranges for people who install tlcourse into their own environment.
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "constraints.txt"
README = ROOT / "README.md"
BEGIN, END = "<!-- tl:stack -->", "<!-- /tl:stack -->"
# The packages README names; every other one is counted.
HEADLINE = ("torch", "torchvision", "tensorflow-cpu", "keras", "transformers", "accelerate", "datasets",
            "ultralytics", "jupyterlab", "ipywidgets", "nbval", "scikit-learn", "pandas", "numpy")  # fmt: skip
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$")


def normalize(name: str) -> str:
    """PEP 503 name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def freeze() -> str:
    """This environment's packages, one ``name==version`` a line, sorted, tlcourse left out."""
    out = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    lines = [ln.strip() for ln in out.splitlines() if ln.strip() and not ln.startswith("#")]
    bad = [ln for ln in lines if not _PIN.match(ln)]
    if bad:
        raise SystemExit(f"pip freeze gave lines that are not exact pins (installed from a path or URL?): {bad}")
    pins = sorted((ln for ln in lines if normalize(_PIN.match(ln).group(1)) != "tlcourse"),
                  key=lambda ln: normalize(ln.split("==")[0]))  # fmt: skip
    return "\n".join(pins) + "\n"


def lock_text(pins: str) -> str:
    """constraints.txt: a header (Python, platform, date) and the pins."""
    py = platform.python_version()
    return (
        "# The exact stack the course's tests passed with: `make setup` installs with `pip install -c` this\n"
        "# file; `make lock` (scripts/lock.py) rewrites it from the venv after `make test` passed.\n"
        f"# python {py} on {platform.system()} {platform.machine()}, locked "
        f"{datetime.now(UTC).strftime('%Y-%m-%d')}\n" + pins
    )  # fmt: skip


def parse(text: str) -> tuple[str, dict[str, str]]:
    """The header's ``python X on OS ARCH`` line and ``{normalized name: version}``."""
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


def stack_block(text: str) -> str:
    """README's generated "Tested stack" paragraph for a lock file's text."""
    where, pins = parse(text)
    named = [f"{name} {pins[name]}" for name in HEADLINE if name in pins]
    others = len(pins) - len(named)
    return (
        f"{BEGIN}\nTested with {where}: " + ", ".join(named) +
        f", and {others} more packages, every one pinned to its exact version in `constraints.txt`.\n{END}"
    )  # fmt: skip


def replace_block(readme: str, block: str) -> str:
    """README with the text between the stack markers replaced by ``block``."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {BEGIN} ... {END} block under 'Tested stack'.")
    return readme[:start] + block + readme[end + len(END):]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check README against constraints.txt")
    args = parser.parse_args(argv)
    if not args.check:
        LOCK.write_text(lock_text(freeze()), encoding="utf-8")
        print(f"wrote {LOCK.name}: {len(parse(LOCK.read_text())[1])} packages")
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
