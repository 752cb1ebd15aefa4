"""A student copy runs wherever its solution runs: what tells them apart cannot break a later cell.

The two copies differ only in exercise cells (``tlcourse.build``): a solution block is removed and its
stub lines put in. So executing the solution notebooks (nbval in `make test`) also runs every other
cell of the student copies, provided (1) every stub only binds names to ``None`` (it cannot raise), and
(2) no cell after an exercise reads a name that only the solution block defined (it would see a
``NameError`` or ``None`` in the student's copy). These are checked here, statically, for every lesson;
the browser test runs the student copies of the lessons with widgets in JupyterLab on top.
"""

from __future__ import annotations

import ast
import json

import pytest

from tlcourse import build, lessons

LESSONS = [lesson.stem for lesson in lessons.all_lessons()]


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)  # bodies with names of their own


def _top_level(tree: ast.AST):
    """The nodes of a cell outside function, class, lambda and comprehension bodies (names there are local)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, _SCOPES):
            todo.extend(ast.iter_child_nodes(node))


def _bound(tree: ast.AST) -> set[str]:
    """Names a cell binds globally (assignments, imports, defs, loop and with targets)."""
    out: set[str] = set()
    for node in _top_level(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
    return out


def _read(tree: ast.AST) -> set[str]:
    """Names a cell reads at its top level (a function body reads its globals only when called)."""
    return {n.id for n in _top_level(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _tree(source: str) -> ast.AST:
    code = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!")))
    return ast.parse(code)


def name_flow_problems(solution: dict, student: dict) -> list[str]:
    """Later cells of ``student`` that read a name only the solution's exercise blocks bound."""
    sol = [build._source(c) for c in solution["cells"] if c["cell_type"] == "code"]
    stu = [build._source(c) for c in student["cells"] if c["cell_type"] == "code"]
    assert len(sol) == len(stu), "the copies have different code cells: run `python -m tlcourse build`"
    only_solution: dict[str, int] = {}
    problems = []
    for i, (a, b) in enumerate(zip(sol, stu, strict=True)):
        if a != b:  # an exercise cell: what its solution block binds and its stubs do not
            for name in _bound(_tree(a)) - _bound(_tree(b)):
                only_solution.setdefault(name, i)
            continue
        for name in sorted(_read(_tree(b)) & set(only_solution)):
            problems.append(f"code cell {i} reads {name!r}, which only the solution of code cell "
                            f"{only_solution[name]} defines")
        for name in _bound(_tree(b)):
            only_solution.pop(name, None)  # defined again for everyone
    return problems


def stub_problems(solution: dict) -> list[str]:
    """Stub lines that do more than bind names to None."""
    out = []
    for cell in solution["cells"]:
        for line in build._source(cell).splitlines():
            if not line.strip().startswith(build.STUB):
                continue
            code = line.strip()[len(build.STUB):]
            stmt = ast.parse(code.split("#")[0]).body
            if not (len(stmt) == 1 and isinstance(stmt[0], ast.Assign)
                    and isinstance(stmt[0].value, ast.Constant) and stmt[0].value.value is None):
                out.append(f"stub {code[:60]!r} is not `name = None`")
    return out


@pytest.mark.parametrize("stem", LESSONS)
def test_a_student_copy_differs_only_where_it_cannot_break_a_later_cell(stem):
    lesson = lessons.get(stem)
    solution = json.loads(lesson.solution().read_text(encoding="utf-8"))
    student = json.loads(lesson.student().read_text(encoding="utf-8"))
    assert stub_problems(solution) == []
    assert name_flow_problems(solution, student) == []


def test_the_flow_check_finds_a_name_only_the_solution_defines():
    def nb(*cells: str) -> dict:
        return {"cells": [{"cell_type": "code", "source": c} for c in cells]}

    solution = nb("x = 1", "# STUB: answer = None\n# BEGIN SOLUTION\nanswer = 2\nhelper = 3\n# END SOLUTION",
                  "print(answer, helper)", "def f(helper):\n    return helper", "helper = 4", "print(helper)")
    student = nb("x = 1", "answer = None", "print(answer, helper)", "def f(helper):\n    return helper",
                 "helper = 4", "print(helper)")
    assert name_flow_problems(solution, student) == [
        "code cell 2 reads 'helper', which only the solution of code cell 1 defines"]
    assert stub_problems(nb("# STUB: answer = compute()")) == ["stub 'answer = compute()' is not `name = None`"]
    assert stub_problems(nb("# STUB: answer = None  # your code")) == []
