"""Every lesson keeps the course's rules: one skeleton, one claims flag, exercises that echo nothing,
no thread settings, one notebook JSON form. One test per rule, one case per lesson of the registry.

A rule a lesson does not keep yet is on :data:`KNOWN` with the reason; those cases are strict xfails,
so the lesson's fix makes its case fail until its entry is removed (the list only shrinks).
"""

from __future__ import annotations

import ast
import json
import re

import pytest

import tlcourse as tl
from tlcourse import build, lessons
from tlcourse.interview import Drill

# (rule, lesson number) -> why that lesson does not meet that rule yet; strict: fixed means remove the entry.
KNOWN: dict[tuple[str, str], str] = {
    ("factories", "03"): ("exercise 3 wraps tl.checks.finetune.bn_updates in a lambda; changing the call changes "
                          "03's code, so it waits for 03's next re-measure (its seeds were measured just before)"),
}
RULES = ("title", "opening", "setup", "registry", "claims", "sections", "next", "exercises", "factories", "threads",
         "json_form")
# Names the lessons used for "the text's claims are in force" before CLAIMS = LESSON.claims(...).
OLD_CLAIMS_FLAGS = {"MEASURED", "MEASURED_SETTING", "DEFAULT_SETUP", "DEFAULTS", "MEASURED_ONLY"}
THREADS = re.compile(r"set_num_threads|set_num_interop_threads|set_(intra|inter)_op_parallelism_threads"
                     r"|(OMP|MKL|OPENBLAS|NUMEXPR)_NUM_THREADS")
SECTIONS = ("Takeaways", "Exercises", "Interview questions")


def cases(rule: str) -> list:
    """One case per lesson; a lesson on :data:`KNOWN` for ``rule`` is a strict xfail."""
    out = []
    for lesson in lessons.all_lessons():
        why = KNOWN.get((rule, lesson.number))
        marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
        out.append(pytest.param(lesson, id=lesson.stem, marks=marks))
    return out


def cells(lesson: lessons.Lesson) -> list[tuple[str, str]]:
    """``(cell type, source)`` of the solution notebook, solution-only markdown left out."""
    nb = json.loads(lesson.solution().read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if not (cell["cell_type"] == "markdown" and src.lstrip().startswith(build.SOLUTION_MD)):
            out.append((cell["cell_type"], src))
    return out


def code(lesson: lessons.Lesson) -> list[str]:
    return [src for kind, src in cells(lesson) if kind == "code"]


def markdown(lesson: lessons.Lesson) -> list[str]:
    return [src for kind, src in cells(lesson) if kind == "markdown"]


def parse(src: str) -> ast.Module:
    """A code cell as Python (IPython's ``%magic`` and ``!shell`` lines blanked)."""
    return ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in src.splitlines()))


def setup_cell(lesson: lessons.Lesson) -> str:
    """The code cell right after the ``## Setup`` heading (AssertionError when there is none)."""
    found = cells(lesson)
    for i, (kind, src) in enumerate(found[:-1]):
        if kind == "markdown" and src.startswith("## Setup") and found[i + 1][0] == "code":
            return found[i + 1][1]
    raise AssertionError(f"{lesson.stem}: no '## Setup' markdown cell followed by the setup code cell")


def test_the_allow_list_names_rules_and_lessons_that_exist():
    numbers = {lesson.number for lesson in lessons.all_lessons()}
    assert {rule for rule, _ in KNOWN} <= set(RULES)
    assert {number for _, number in KNOWN} <= numbers


@pytest.mark.parametrize("lesson", cases("title"))
def test_the_heading_is_the_number_and_the_registrys_title(lesson):
    first = markdown(lesson)[0].splitlines()[0]
    assert first == f"# {lesson.number} · {lesson.title}", f"{lesson.stem}: heading {first!r} (TOML: {lesson.title!r})"


@pytest.mark.parametrize("lesson", cases("opening"))
def test_the_opening_cell_has_objectives_and_the_measured_time(lesson):
    first = markdown(lesson)[0]
    assert re.search(r"^\*\*You will be able to\*\*\n- ", first, re.M), f"{lesson.stem}: no objectives list"
    assert "**Time:** <!-- tl:time -->" in first, f"{lesson.stem}: no time line (scripts/sync_times.py fills it)"


@pytest.mark.parametrize("lesson", cases("setup"))
def test_the_setup_cell_imports_tlcourse_first(lesson):
    imports = [node for node in parse(setup_cell(lesson)).body if isinstance(node, ast.Import | ast.ImportFrom)]
    first = ast.unparse(imports[0]) if imports else "nothing"
    assert first == "import tlcourse as tl", f"{lesson.stem}: the setup cell imports {first!r} first"


@pytest.mark.parametrize("lesson", cases("registry"))
def test_the_setup_cell_takes_the_lesson_and_its_settings_from_the_registry(lesson):
    src = setup_cell(lesson)
    assigned = {ast.unparse(node.targets[0]): node.value for node in parse(src).body if isinstance(node, ast.Assign)}
    got = assigned.get("LESSON")
    assert got is not None and ast.unparse(got).startswith("tl.lessons.get("), \
        f'{lesson.stem}: the setup cell needs LESSON = tl.lessons.get("{lesson.number}")'
    assert lessons.get(ast.literal_eval(got.args[0])) is lesson, f"{lesson.stem}: LESSON names another lesson"
    assert "cfg" in assigned and ast.unparse(assigned["cfg"]).startswith("LESSON.config("), \
        f"{lesson.stem}: cfg = LESSON.config() (the one way to read the lesson's settings)"


@pytest.mark.parametrize("lesson", cases("claims"))
def test_one_claims_flag_named_claims_from_the_registry(lesson):
    flags = []
    for src in code(lesson):
        for node in ast.walk(parse(src)):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                flags += [(t.id, node.value) for t in targets if isinstance(t, ast.Name)]
    old = sorted({name for name, _ in flags if name in OLD_CLAIMS_FLAGS})
    assert not old, f"{lesson.stem}: {old}: the text's claims are in force when CLAIMS = LESSON.claims(...) says so"
    claims = [value for name, value in flags if name == "CLAIMS"]
    for value in claims:
        assert ast.unparse(value).startswith("LESSON.claims("), \
            f"{lesson.stem}: CLAIMS = {ast.unparse(value)[:60]}: use LESSON.claims(cfg, ...) (lists of claims get another name)"
    if lesson.claims_profiles:
        assert len(claims) == 1, f"{lesson.stem} asserts claims in {lesson.claims_profiles}: CLAIMS = LESSON.claims(...), once"
    else:
        assert not claims, f"{lesson.stem}: CLAIMS, but [lesson] claims_profiles is empty"


@pytest.mark.parametrize("lesson", cases("sections"))
def test_takeaways_exercises_and_interview_questions(lesson):
    text = "\n".join(markdown(lesson))
    missing = [name for name in SECTIONS if not re.search(rf"^##+ (\d+\. )?{name}\b", text, re.M)]
    assert not missing, f"{lesson.stem} lacks the section(s) {missing}"


@pytest.mark.parametrize("lesson", cases("next"))
def test_the_last_cell_links_to_the_next_lesson(lesson):
    after = lessons.after(lesson) or lessons.all_lessons()[0]  # the last lesson leads back to the map
    last = markdown(lesson)[-1]
    assert f"]({after.stem}.ipynb" in last, f"{lesson.stem}: its last cell does not link to {after.stem}.ipynb"


def test_exercise_checks_return_nothing_so_a_bare_call_echoes_nothing():
    assert tl.checks.exercise("t", None, lambda a: None, "h") is None
    assert tl.checks.exercise("t", 1, lambda a: None, "h") is None
    drill = Drill("d", 1, clock=lambda: 0.0)
    drill.start()
    assert drill.submit(1, lambda a: None, "h") is None


def _check_call(node: ast.AST) -> str | None:
    """``exercise`` or ``submit`` when ``node`` is a call of an exercise check (``tl.checks.exercise``,
    a drill's ``submit``)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        return name if name in ("exercise", "submit") else None
    return None


@pytest.mark.parametrize("lesson", cases("exercises"))
def test_exercise_cells_call_the_check_bare_and_echo_nothing(lesson):
    """The check prints its verdict and returns None: no ``_ =``, no ``;``, no value as the cell's last line."""
    echoes = tl.checks.exercise("t", None, lambda a: None, "h") is not None  # then a bare last call echoes it
    bad = []
    for src in code(lesson):
        tree = parse(src)
        calls = [node for node in ast.walk(tree) if _check_call(node)]
        if not calls:
            continue
        first = src.strip().splitlines()[0][:60]
        # a statement of its own, at the top or inside a block (an if-block never echoes)
        bare = [s.value for s in ast.walk(tree) if isinstance(s, ast.Expr) and _check_call(s.value)]
        if any(call not in bare for call in calls):
            bad.append(f"{first!r}: its check's value is assigned or nested (call it as a statement)")
        last = tree.body[-1]
        lines = [ln for ln in src.rstrip().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if lines and lines[-1].split("#")[0].rstrip().endswith(";"):
            bad.append(f"{first!r}: ends in ';' (nothing to hide: the check returns None)")
        elif isinstance(last, ast.Expr) and (echoes if _check_call(last.value) else not (
                isinstance(last.value, ast.Call) and ast.unparse(last.value.func) in ("print", "display"))):
            bad.append(f"{first!r}: its last line {ast.unparse(last)[:40]!r} echoes a value")
    assert not bad, f"{lesson.stem}:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("lesson", cases("factories"))
def test_exercise_checks_come_from_a_factory_not_a_lambda(lesson):
    """One shape for every check: ``tl.checks.<module>.<factory>(...)`` returns ``test(answer)``."""
    bad = []
    for src in code(lesson):
        for node in ast.walk(parse(src)):
            if _check_call(node) == "exercise" and len(node.args) >= 3 and isinstance(node.args[2], ast.Lambda):
                bad.append(ast.unparse(node.args[2])[:70])
    assert not bad, f"{lesson.stem}: checks wrapped in a lambda (make the check a factory): {bad}"


@pytest.mark.parametrize("lesson", cases("threads"))
def test_no_thread_settings_in_a_lesson(lesson):
    """tlcourse's import and tl.seed_everything set the thread counts (TLCOURSE_THREADS): once, for every lesson."""
    found = [m.group(0) for src in code(lesson) for m in THREADS.finditer(ast.unparse(parse(src)))]  # not comments
    assert not found, f"{lesson.stem} sets threads itself: {sorted(set(found))}"


@pytest.mark.parametrize("lesson", cases("json_form"))
def test_one_notebook_json_form(lesson):
    """nbformat 4.5, as nbformat writes it (what `python -m tlcourse build` writes)."""
    for path in (lesson.solution(), lesson.student()):
        text = path.read_text(encoding="utf-8")
        assert text == build.dump(json.loads(text)), f"{path.name}: not in the course's JSON form: run `python -m tlcourse build`"
