"""`make verify`: run solution notebooks top to bottom and merge what they measure into the ledger.

    python scripts/verify.py [--lessons 02 03 | all] [--seeds 5] [--profile cpu] [--ledger PATH]
    python scripts/verify.py --migrate-digests     # one-off: previous-formula digests -> today's formula

Each run is one notebook in one fresh kernel (nbclient, no per-cell timeout) with
``TLCOURSE_PROFILE`` = the profile, ``TLCOURSE_SEED`` = 42, 43, ... and ``TLCOURSE_RECORD`` = a
temporary JSON-lines file that ``tl.ledger.record`` appends the lesson's headline numbers to, and
``TLCOURSE_LEDGER`` = the ledger it writes (the notebook's checks compare with that one). The
ledger and the arguments are validated before the first notebook runs. A successful run (wall seconds, date, machine, load, numbers) is merged into docs/results.json under
a file lock (re-read before write, so parallel verifies of different lessons do not clobber each
other); a failed run is not merged: the failing cell and its error are printed and the exit status
is 1. docs/results.md is regenerated from the ledger at the end. The executed copies are kept in
build/verify/ for inspection. Run it alone on the machine: the times are part of the ledger.

Default seeds per profile: 5 in cpu (claims need 5 paired seeds, docs/claims.md), 3 in smoke (the
checks of `make test` compare from 3), 1 in full.

The ``code`` digest of an entry covers what decides its numbers: the code cells, the sizes in the
lesson's TOML, the number-making ``tlcourse`` modules the kernel had imported (recorded as the
entry's ``modules``; :data:`MODULE_ROLES` classifies every module) and the installed versions of the
distributions pinned in constraints.txt when it ran (its ``stack``). Code counts as the interpreter
sees it (its syntax tree): comments, docstrings, line breaks, TOML comments, `assert` statements and a
claim's `expect=` and a ledger check's `min_tol=` (they judge numbers, make none) are not part of it.
A change to any of the rest makes the old runs stale (tests/test_ledger_digest.py fails until
`make verify` re-measures them).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import platform
import re
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tlcourse import ledger, lessons  # noqa: E402
from tlcourse.device import thread_count  # noqa: E402
from tlcourse.lessons import number_text  # noqa: E402
from tlcourse.profiles import LESSONS_DIR, PROFILES  # noqa: E402

FIRST_SEED = 42
DEFAULT_SEEDS = {"cpu": 5, "smoke": 3, "full": 1}
CONSTRAINTS = ROOT / "constraints.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)")
_MODULES_TAG = "TLCOURSE-MODULES "
# Appended to the notebook when it runs (and removed from the executed copy): which tlcourse modules it used.
MODULES_CELL = ("import json as _json, sys as _sys\n"
                f"print({_MODULES_TAG!r} + _json.dumps(sorted(m for m in _sys.modules "
                "if m == 'tlcourse' or m.startswith('tlcourse.'))))")

NUMBERS, BOOKKEEPING = "numbers", "bookkeeping"
# Every tlcourse module, by whether its code can change a recorded number (tests/test_verify.py
# fails when a module is missing here). Number-making modules are hashed into the digest.
MODULE_ROLES = {
    "tlcourse.device": NUMBERS,  # seeds, the thread count (float summation order), the device
    "tlcourse.train": NUMBERS,  # the training loops
    "tlcourse.features": NUMBERS,  # feature extraction
    "tlcourse.memory": NUMBERS,  # peak training memory (lesson 04 quotes it)
    "tlcourse.detection": NUMBERS,  # YOLO training and evaluation
    "tlcourse.viz": NUMBERS,  # computes Grad-CAM maps and 2-D embeddings, not only plots
    "tlcourse.models": NUMBERS,
    "tlcourse.models.backbones": NUMBERS,
    "tlcourse.models.small": NUMBERS,
    "tlcourse.data": NUMBERS,  # the data a lesson trains on: splits, subsets, shifts, windows
    "tlcourse.data.detection": NUMBERS,
    "tlcourse.data.domains": NUMBERS,
    "tlcourse.data.images": NUMBERS,
    "tlcourse.data.series": NUMBERS,
    "tlcourse.data.small": NUMBERS,
    "tlcourse.data.text": NUMBERS,
    "tlcourse.data.embed": NUMBERS,
    "tlcourse": BOOKKEEPING,  # re-exports and environment defaults that do not change results
    "tlcourse.__main__": BOOKKEEPING,  # the command line
    "tlcourse.build": BOOKKEEPING,  # student copies
    "tlcourse.claims": BOOKKEEPING,  # judges numbers, makes none
    "tlcourse.ledger": BOOKKEEPING,
    "tlcourse.interview": BOOKKEEPING,  # question bank and quiz
    "tlcourse.workspace": BOOKKEEPING,
    "tlcourse.room": BOOKKEEPING,  # stores the learner's exercise verdicts in the workspace
    "tlcourse.doctor": BOOKKEEPING,  # the readiness check
    # refuses bad input (encodings, syntax, types); what it accepts reaches the data modules unchanged
    "tlcourse.validate": BOOKKEEPING,
    "tlcourse.profiles": BOOKKEEPING,  # reads the lesson TOML, whose sizes are hashed themselves
    "tlcourse.lessons": BOOKKEEPING,  # the registry: file names, titles, where claims are in force
    "tlcourse.locks": BOOKKEEPING,  # the file lock of the asset cache and the ledger
    # the asset layer fetches files pinned by sha256: what arrives is fixed by the manifest
    **{f"tlcourse.assets{m}": BOOKKEEPING for m in ("", ".archive", ".bundles", ".cache", ".content",
                                                     ".download", ".errors", ".fetcher", ".hub",
                                                     ".manifest", ".sources")},
    # exercise checks: verdicts and messages for the learner's answers; no recorded number comes from them
    **{f"tlcourse.checks{m}": BOOKKEEPING for m in ("", ".adaptation", ".detection", ".finetune", ".forecast",
                                                     ".interview", ".nlp", ".scaling", ".types", ".vision")},
}
EXECUTED = ROOT / "build" / "verify"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colour codes in tracebacks


class RunFailed(Exception):
    """A notebook run that must not be merged; the message says where and why."""


def select(wanted: list[str], folder: Path) -> list[Path]:
    """The solution notebooks in ``folder`` of the lessons named by number (``02``, ``2``), name or
    stem (:func:`tlcourse.lessons.get`); ``all`` (or nothing) = every lesson of the registry."""
    if not wanted or wanted == ["all"]:
        chosen = list(lessons.all_lessons())
    else:
        chosen = []
        for want in wanted:
            try:
                chosen.append(lessons.get(want))
            except KeyError as err:
                raise SystemExit(f"no solution notebook for LESSON={want!r}: {err.args[0]}") from None
    paths = list(dict.fromkeys(folder / f"{lesson.stem}.ipynb" for lesson in chosen))
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"the lesson registry names {', '.join(missing)}, which {folder} lacks "
                         "(restore it, or remove the lesson's TOML from tlcourse/lessons/)")
    return paths


def raw_code_digest(nb: nbformat.NotebookNode, lesson: str | None) -> str:
    """The previous formula's first part (code cells and TOML sizes as bytes): migration only."""
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            h.update(cell.source.encode() + b"\0")
    toml = LESSONS_DIR / f"{lesson}.toml"
    if lesson and toml.is_file():
        h.update(number_text(toml.read_text(encoding="utf-8")).encode())
    return h.hexdigest()


class _DropChecks(ast.NodeTransformer):
    """Leaves out what judges numbers and makes none: ``assert`` statements, the ``expect=`` of a
    claim (``tl.ledger.claim(..., expect=...)``, the text's verdict, written after the seeds are in)
    and the ``min_tol=`` of a ledger check (``tl.ledger.check`` / ``tl.ledger.table``: how far one run
    may sit from the ledger's mean). A claim's ``min_tol=`` counts: it is the smallest effect that
    matters, part of the verdict's rule, and it is not tuned after the seeds are in without a re-measure.
    ``tolerances=True`` keeps the checks' ``min_tol=`` (the previous formula, for migration)."""

    def __init__(self, *, tolerances: bool = False) -> None:
        self.tolerances = tolerances

    def visit_Assert(self, node: ast.Assert) -> None:
        return None  # removed from its block (the tree is dumped, never compiled)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name == "claim":
            node.keywords = [k for k in node.keywords if k.arg != "expect"]
        if name in ("check", "table") and not self.tolerances and _is_ledger(node.func):
            node.keywords = [k for k in node.keywords if k.arg != "min_tol"]
        return node


def _is_ledger(func: ast.expr) -> bool:
    """``tl.ledger.check``, ``ledger.check`` (an attribute of something named ``ledger``)."""
    if not isinstance(func, ast.Attribute):
        return False
    owner = func.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "ledger") or (
        isinstance(owner, ast.Name) and owner.id == "ledger")


def _dump(node: Any) -> str:
    """``ast.dump`` that reads the same on Python 3.11-3.13: fields that are empty or None are left out
    (3.12 gave every def an empty ``type_params``; 3.13's ``ast.dump`` leaves empty fields out, older
    ones print them) and so are empty string parts of an f-string (3.12.0-3.12.1 add one after a nested
    format spec)."""
    if isinstance(node, ast.AST):
        fields = []
        for name, value in ast.iter_fields(node):
            if isinstance(node, ast.JoinedStr) and name == "values":
                value = [v for v in value if not (isinstance(v, ast.Constant) and v.value == "")]
            if value is not None and value != []:
                fields.append(f"{name}={_dump(value)}")
        return f"{type(node).__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return "[" + ", ".join(_dump(item) for item in node) + "]"
    return repr(node)


def canonical_code(source: str, *, cell: bool = False, checks: bool = False, tolerances: bool = False,
                   legacy_dump: bool = False) -> str:
    """Python as the interpreter runs it: the syntax tree without comments, formatting or docstrings,
    and without ``assert`` statements, a claim's ``expect=`` and a ledger check's ``min_tol=`` (a run
    that fails one is never merged, so a passing run's numbers do not depend on them; ``checks=True``
    keeps them all, ``tolerances=True`` the checks' ``min_tol=``: previous formulas, for migration).
    The tree is written by :func:`_dump`, the same on every supported Python (``legacy_dump=True``:
    ``ast.dump``, whose text changed between 3.11, 3.12 and 3.13; the previous formula).

    A notebook cell (``cell``) is first turned into Python the way IPython does (``%magic`` and
    ``!shell`` lines become calls). Text that does not parse is kept as it is.
    """
    if cell:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    tree = tree if checks else _DropChecks(tolerances=tolerances).visit(tree)
    return ast.dump(tree) if legacy_dump else _dump(tree)


def canonical_toml(text: str, profile: str | None = None) -> str:
    """The sizes of a lesson TOML (the part before [lesson]) as sorted JSON: comments and layout do not
    count. With ``profile``, only the tables that profile reads ([common] and its own)."""
    table = tomllib.loads(number_text(text))
    if profile is not None:
        table = {k: v for k, v in table.items() if k in ("common", profile)}
    return json.dumps(table, sort_keys=True)


def module_file(name: str, root: Path = ROOT) -> Path:
    """The source file of a ``tlcourse`` module (a package's ``__init__.py``)."""
    base = root.joinpath(*name.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def number_modules(modules: list[str]) -> list[str]:
    """The modules of ``modules`` whose code can change a number (unclassified ones count, to be safe)."""
    return sorted(m for m in modules if MODULE_ROLES.get(m, NUMBERS) == NUMBERS)


def locked_stack(constraints: Path = CONSTRAINTS) -> list[str]:
    """``name==version`` of every distribution pinned in constraints.txt, as installed here (pins not installed skipped)."""
    out = []
    for line in constraints.read_text(encoding="utf-8").splitlines():
        if m := _PIN.match(line.strip()):
            try:
                out.append(f"{m.group(1).lower()}=={metadata.version(m.group(1))}")
            except metadata.PackageNotFoundError:
                continue
    return sorted(set(out))


def code_digest(nb: nbformat.NotebookNode, lesson: str | None, modules: list[str] | None = None,
                stack: list[str] | None = None, profile: str | None = None, *, checks: bool = False,
                tolerances: bool = False, legacy_dump: bool = False) -> str:
    """sha256 of what decides a lesson's numbers (not the prose, not comments): the code cells and the
    number-making modules among ``modules`` as syntax trees (:func:`canonical_code`), the TOML's sizes
    that ``profile`` reads (every table when None) and the locked stack (``stack``, default
    :func:`locked_stack`). A smoke-size change leaves the cpu entries current. ``checks``,
    ``tolerances``, ``legacy_dump``: see :func:`canonical_code`."""
    h = hashlib.sha256(b"tree digest\0")
    for cell in nb.cells:
        if cell.cell_type == "code":
            h.update(canonical_code(cell.source, cell=True, checks=checks, tolerances=tolerances,
                                    legacy_dump=legacy_dump).encode() + b"\0")
    toml = LESSONS_DIR / f"{lesson}.toml"
    if lesson and toml.is_file():
        h.update(canonical_toml(toml.read_text(encoding="utf-8"), profile).encode())
    for name in number_modules(modules or []):
        path = module_file(name)
        code = (canonical_code(path.read_text(encoding="utf-8"), checks=checks, tolerances=tolerances,
                               legacy_dump=legacy_dump) if path.is_file() else "(missing)")
        h.update(f"\0module {name}\0{code}".encode())
    for pin in locked_stack() if stack is None else stack:
        h.update(f"\0{pin}".encode())
    return h.hexdigest()


def raw_digest(nb: nbformat.NotebookNode, lesson: str | None, modules: list[str] | None = None,
               stack: list[str] | None = None) -> str:
    """The previous formula (the same parts as raw bytes, so a comment changed it): migration only."""
    h = hashlib.sha256(raw_code_digest(nb, lesson).encode())
    for name in number_modules(modules or []):
        path = module_file(name)
        h.update(f"\0module {name}\0".encode() + (path.read_bytes() if path.is_file() else b"(missing)"))
    for pin in locked_stack() if stack is None else stack:
        h.update(f"\0{pin}".encode())
    return h.hexdigest()


def machine() -> str:
    """``x86_64 <CPU model>, N cores, no GPU`` (or the GPU's name)."""
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        gpu = None
    desc = f"{platform.machine()} {model}".strip()
    return f"{desc}, {os.cpu_count()} cores, " + (f"GPU {gpu}" if gpu else "no GPU")


def loadavg() -> float | None:
    """The 1-minute load average (None where the OS has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def failing_cell(nb: nbformat.NotebookNode) -> str:
    """Where the executed notebook failed: the first cell with an error output."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                return f"cell {i} ({first[:70]!r}): {out.get('ename')}: {out.get('evalue')}"
    return "no cell has an error output"


def read_records(path: Path, *, profile: str, seed: int) -> tuple[str | None, dict[str, float]]:
    """The lesson name and ``{key: value}`` the run recorded; mismatches are a failed run."""
    values: dict[str, float] = {}
    lessons = set()
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            key, value = str(rec["key"]), float(rec["value"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise RunFailed(f"record line {n} is not a ledger record ({err}): {line[:80]}") from None
        if rec.get("profile") != profile or rec.get("seed") != seed:
            raise RunFailed(
                f"{key} was recorded for profile {rec.get('profile')!r}, seed {rec.get('seed')!r}, "
                f"but this run is {profile!r}, seed {seed}: does the notebook pass its own "
                "profile or seed to tl.config?"
            )
        if key in values and values[key] != value:
            raise RunFailed(f"{key} was recorded twice with different values "
                            f"({values[key]} and {value}): give each number its own key.")
        values[key] = value
        lessons.add(str(rec.get("lesson")))
    if len(lessons) > 1:
        raise RunFailed(f"one notebook recorded numbers for several lessons: {sorted(lessons)}")
    return (lessons.pop() if lessons else None), values


def loaded_modules(cell: nbformat.NotebookNode) -> list[str]:
    """The module list that :data:`MODULES_CELL` printed when it ran."""
    for out in cell.get("outputs", []):
        for line in out.get("text", "").splitlines():
            if line.startswith(_MODULES_TAG):
                return json.loads(line[len(_MODULES_TAG):])
    raise RunFailed("the kernel did not report which tlcourse modules it loaded")


def kernel_env(*, profile: str, seed: int, record: Path, ledger_path: Path | None = None) -> dict[str, str]:
    """The variables a run's kernel gets. Paths are absolute: the kernel runs in the notebook's folder,
    where a relative ``--ledger docs/results.json`` would name a file that does not exist, and every
    comparison with the ledger would then be skipped as "no entry" without an error."""
    return {"TLCOURSE_PROFILE": profile, "TLCOURSE_SEED": str(seed), "TLCOURSE_RECORD": str(Path(record).resolve()),
            "TLCOURSE_LEDGER": str(Path(ledger_path or ledger.default_path()).resolve())}


def execute(path: Path, *, profile: str, seed: int, record: Path,
            ledger_path: Path | None = None) -> tuple[float, nbformat.NotebookNode, list[str]]:
    """Run ``path`` in a fresh kernel (cwd = its folder); return wall seconds, the result and the
    ``tlcourse`` modules the kernel imported."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(MODULES_CELL))
    env = kernel_env(profile=profile, seed=seed, record=record, ledger_path=ledger_path)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    client = NotebookClient(nb, timeout=None, startup_timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        raise RunFailed(failing_cell(nb) + "\n" + _ANSI.sub("", str(err))[-3000:]) from None
    except Exception as err:  # kernel died, could not start, ...
        raise RunFailed(f"{type(err).__name__}: {err}") from None
    finally:
        seconds = time.perf_counter() - start
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        modules_cell = nb.cells.pop()
        EXECUTED.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, EXECUTED / f"{path.stem}.{profile}.{seed}.ipynb")
    return seconds, nb, loaded_modules(modules_cell)


def verify_one(path: Path, *, profile: str, seed: int, ledger_path: Path) -> dict[str, Any]:
    """Run one notebook with one seed and merge the run into the ledger; return the run."""
    source = nbformat.read(path, as_version=4)
    lesson = lessons.get(path.stem).name
    with tempfile.TemporaryDirectory(prefix="tlcourse-verify-") as tmp:
        record = Path(tmp) / "record.jsonl"
        load_start = loadavg()
        seconds, _, modules = execute(path, profile=profile, seed=seed, record=record, ledger_path=ledger_path)
        load_end = loadavg()
        recorded, values = read_records(record, profile=profile, seed=seed)
    if recorded and recorded != lesson:
        raise RunFailed(f"{path.name} is lesson {lesson!r} (tlcourse/lessons/{lesson}.toml) but recorded "
                        f"numbers for {recorded!r}: configure it with tl.lessons.get({path.stem[:2]!r}).config()")
    run = {
        "seconds": round(seconds, 1), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "threads": thread_count(),
        "load_start": load_start, "load_end": load_end, "values": values,
    }
    with ledger.locked(ledger_path) as data:
        stack = stack_for_run(data.get("profiles", {}).get(profile, {}).get(path.stem))
        note = ledger.merge_run(data, profile=profile, notebook=path.stem, lesson=lesson, seed=seed, run=run,
                                code=code_digest(source, lesson, modules, stack, profile), modules=modules,
                                stack=stack)
    if note:
        print("note:", note, flush=True)
    return run


def drop_stale(ledger_path: Path, profile: str, paths: list[Path]) -> list[str]:
    """Remove the ``profile`` entries of ``paths`` that today's code no longer made, before they run.

    The notebooks compare with the ledger while they run: a stale entry's seeds (numbers of other
    code) would decide the claims of the new runs. Its runs would be dropped at the first merge anyway.
    """
    notes = []
    with ledger.locked(ledger_path) as data:
        notebooks = data["profiles"].get(profile, {})
        for path in paths:
            entry = notebooks.get(path.stem)
            if entry is None or not stale_entries({"profiles": {profile: {path.stem: entry}}}, path.parent):
                continue
            del notebooks[path.stem]
            notes.append(f"{path.stem} ({profile}): its entry was made by other code; seeds "
                         f"{', '.join(sorted(entry['runs'], key=int))} removed before the new runs")
    return notes


def locked_names(constraints: Path | None = None) -> set[str]:
    """The names of the distributions constraints.txt pins (for any platform)."""
    return {m.group(1).lower() for line in (constraints or CONSTRAINTS).read_text(encoding="utf-8").splitlines()
            if (m := _PIN.match(line.strip()))}


def stack_for_run(entry: dict[str, Any] | None) -> list[str]:
    """The stack a new run's digest uses: the entry's own, when every pin of it is installed unchanged
    (a pin added to the lock since, for another lesson, made none of these numbers: the run joins its
    seeds, as :func:`stale_entries` keeps the entry); otherwise today's whole locked stack."""
    if entry and entry.get("stack") and not stack_changes(entry["stack"]):
        return list(entry["stack"])
    return locked_stack(CONSTRAINTS)


def stack_changes(stack: list[str]) -> list[str]:
    """The pins of ``stack`` (``name==version``) whose installed version differs today, as text.

    A pin the lock no longer holds is no dependency of the course any more, and a pin that is not
    installed here is none on this interpreter (``overrides``, which jupyter needs below Python 3.12
    only): a lesson that imported either would fail to run, not run with other numbers, so neither counts.
    """
    out, locked = [], locked_names()
    for pin in stack:
        name, _, version = pin.partition("==")
        if name.lower() not in locked:
            continue
        try:
            now = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if now != version:
            out.append(f"{name} {version} -> {now}")
    return out


def stale_entries(data: dict[str, Any], folder: Path) -> list[str]:
    """Ledger entries whose digest no longer matches today's notebook, TOML, modules and stack.

    An entry's stack is the pins installed when it was measured (stored with it): a pin added to the
    lock later (a package another lesson needs) leaves it current; a pin of its stack that changed
    version or is gone makes it stale. Entries from before the stack was stored use today's lock.
    """
    out = []
    for profile, notebooks in data["profiles"].items():
        for stem, entry in notebooks.items():
            path = folder / f"{stem}.ipynb"
            if not path.is_file():
                out.append(f"{profile}/{stem}: no notebook {path.name}")
                continue
            nb = nbformat.read(path, as_version=4)
            if "modules" not in entry:
                out.append(f"{profile}/{stem}: measured before the digest covered modules and the stack")
            elif changes := stack_changes(entry.get("stack", [])):
                out.append(f"{profile}/{stem}: installed packages changed since it was measured ({', '.join(changes)})")
            elif entry["code"] != code_digest(nb, entry["lesson"], entry["modules"], entry.get("stack"), profile):
                out.append(f"{profile}/{stem}: its notebook, lesson TOML, number-making modules or stack changed")
    return out


def migrate_digests(data: dict[str, Any], folder: Path) -> tuple[list[str], list[str]]:
    """One-off: give entries made with a previous formula (:func:`raw_digest`, or written with
    ``ast.dump``: over every TOML table, with the checks kept, with the checks' tolerances kept, or as
    today's) today's digest.

    Only where the previous digest still matches today's notebook, TOML, modules and the entry's
    stack: the numbers were made by the code that is there now. Others stay stale. Entries without a
    stored stack (older than that field) get today's lock's when their digest matches with it.
    Returns (migrated, left stale).
    """
    migrated, stale = [], []
    for profile, notebooks in data["profiles"].items():
        for stem, entry in notebooks.items():
            name = f"{profile}/{stem}"
            path = folder / f"{stem}.ipynb"
            if not path.is_file():
                stale.append(f"{name} (no notebook)")
                continue
            nb = nbformat.read(path, as_version=4)
            lesson, modules, stack = entry["lesson"], entry.get("modules"), entry.get("stack") or locked_stack()
            if modules is None:
                stale.append(f"{name} (measured before the digest covered modules)")
            elif entry["code"] == code_digest(nb, lesson, modules, stack, profile):
                if "stack" not in entry:
                    entry["stack"] = stack
                    migrated.append(name)
            elif entry["code"] in (raw_digest(nb, lesson, modules, stack),
                                   code_digest(nb, lesson, modules, stack, legacy_dump=True),
                                   code_digest(nb, lesson, modules, stack, profile, checks=True, legacy_dump=True),
                                   code_digest(nb, lesson, modules, stack, profile, tolerances=True, legacy_dump=True),
                                   code_digest(nb, lesson, modules, stack, profile, legacy_dump=True)):
                entry["code"], entry["stack"] = code_digest(nb, lesson, modules, stack, profile), stack
                migrated.append(name)
            else:
                stale.append(f"{name} (its notebook, TOML, modules or stack changed since it was measured)")
    return migrated, stale


def _num(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"


def _minutes(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


def markdown(data: dict[str, Any]) -> str:
    """docs/results.md: one table per profile, one row per recorded number."""
    lines = [
        "# Results ledger",
        "",
        "Generated by `make verify` (scripts/verify.py) from `docs/results.json`; do not edit by hand.",
        "Each notebook ran top to bottom in a fresh kernel, once per seed. Wall time: mean (min-max)",
        "over the runs. Load: the 1-minute load average before and after each run (the lowest start",
        "and the highest end over the runs); times measured at a load well above 0 are not an idle",
        "machine's. Numbers: mean +/- sample standard deviation (min-max) over the seeds.",
    ]
    order = [p for p in PROFILES if p in data.get("profiles", {})]
    order += sorted(set(data.get("profiles", {})) - set(order))
    for profile in order:
        lines += ["", f"## Profile `{profile}`", "",
                  "| notebook | seeds | wall time | machine | date | load | number | mean +/- std | range |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for stem, entry in data["profiles"][profile].items():
            runs = entry.get("runs", {})
            if not runs:
                continue
            sec = entry["summary"]["seconds"]
            wall = _minutes(sec["mean"]) + (
                f" ({_minutes(sec['min'])}-{_minutes(sec['max'])})" if sec["n"] > 1 else "")
            machines = sorted({r.get("machine", "machine not recorded") for r in runs.values()})
            dates = sorted(r.get("date", "no date")[:10] for r in runs.values())
            date = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
            starts = [r["load_start"] for r in runs.values() if r.get("load_start") is not None]
            ends = [r["load_end"] for r in runs.values() if r.get("load_end") is not None]
            load = f"{min(starts):.2f} / {max(ends):.2f}" if starts and ends else "n/a"
            head = f"| `{stem}` | {', '.join(runs)} | {wall} | {'; '.join(machines)} | {date} | {load} |"
            values = entry["summary"]["values"]
            if not values:
                lines.append(head + " (none recorded) | | |")
            for i, (key, st) in enumerate(values.items()):
                row = head if i == 0 else "| | | | | | |"
                spread = f"{_num(st['min'])}-{_num(st['max'])}" if st["n"] > 1 else "1 run"
                lines.append(f"{row} `{key}` | {_num(st['mean'])} +/- {_num(st['std'])} | {spread} |")
    return "\n".join(lines) + "\n"


def write_markdown(ledger_path: Path) -> Path:
    """Regenerate the Markdown table next to the ledger (under the ledger's lock)."""
    out = ledger_path.with_suffix(".md")
    with ledger.locked(ledger_path) as data:
        out.write_text(markdown(data), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--lessons", nargs="*", default=["all"],
                        help="lesson numbers or notebook stems (default: all)")
    parser.add_argument("--seeds", type=int, default=None,
                        help="runs per notebook (seeds 42, 43, ...); default 5 in cpu, 3 in smoke, 1 in full")
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED)
    parser.add_argument("--profile", default=os.environ.get("TLCOURSE_PROFILE") or "cpu",
                        choices=PROFILES)
    parser.add_argument("--folder", type=Path, default=ROOT / "solutions")
    parser.add_argument("--ledger", type=Path, default=ledger.default_path(),
                        help="the ledger to write (default: $TLCOURSE_LEDGER or docs/results.json)")
    parser.add_argument("--check", action="store_true",
                        help="only validate the ledger and the arguments (make verify does this first)")
    parser.add_argument("--migrate-digests", action="store_true",
                        help="one-off: give previous-formula digests that still match today's files today's formula")
    args = parser.parse_args(argv)
    seeds_n = DEFAULT_SEEDS[args.profile] if args.seeds is None else args.seeds
    if seeds_n < 1:
        parser.error("--seeds must be at least 1")
    if not (0 <= args.first_seed and args.first_seed + seeds_n <= 2**32):
        parser.error("--first-seed: seeds must lie in 0 .. 2**32 - 1 (numpy's range)")
    try:  # a damaged ledger is found now, not after the first notebook's run
        ledger.load(args.ledger)
    except ledger.LedgerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.migrate_digests:
        with ledger.locked(args.ledger) as data:
            migrated, stale = migrate_digests(data, args.folder)
        print("migrated to today's digest: " + (", ".join(migrated) or "none"))
        print("left stale (re-measure with make verify): " + (", ".join(stale) or "none"))
        write_markdown(args.ledger)
        return 0
    lessons = [w for item in args.lessons for w in re.split(r"[\s,]+", item) if w]
    paths = select(lessons, args.folder)
    if args.check:
        print(f"ledger {args.ledger.name} and arguments are valid: {len(paths)} notebook(s), {seeds_n} seed(s)")
        return 0
    seeds = range(args.first_seed, args.first_seed + seeds_n)
    for note in drop_stale(args.ledger, args.profile, paths):
        print("note:", note, flush=True)
    failures = []
    for path in paths:
        for seed in seeds:
            print(f"verify {path.stem} profile={args.profile} seed={seed} ...", flush=True)
            try:
                run = verify_one(path, profile=args.profile, seed=seed, ledger_path=args.ledger)
            except RunFailed as err:
                failures.append(f"{path.stem} seed {seed}: {str(err).splitlines()[0]}")
                print(f"FAILED {path.stem} seed {seed} (not merged): {err}", flush=True)
                continue
            shown = ", ".join(f"{k}={_num(v)}" for k, v in run["values"].items()) or "no numbers"
            print(f"ok     {path.stem} seed={seed} {run['seconds']:.1f} s "
                  f"(load {run['load_start']} -> {run['load_end']}): {shown}", flush=True)
    out = write_markdown(args.ledger)
    print(f"ledger: {args.ledger.relative_to(ROOT) if args.ledger.is_relative_to(ROOT) else args.ledger}"
          f", table: {out.name}")
    if failures:
        print(f"{len(failures)} run(s) failed:\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
