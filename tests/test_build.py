"""Student notebooks are generated from solutions, kept in sync, and never show a solution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tlcourse import build, lessons

ROOT = Path(__file__).resolve().parent.parent


def test_solution_block_replaced_by_stub():
    src = "x = 1\n    # STUB: y = None  # your answer\n    # BEGIN SOLUTION\n    y = 2\n    # END SOLUTION\nz = 3"
    assert build.student_source(src) == "x = 1\n    y = None  # your answer\nz = 3"


@pytest.mark.parametrize(
    "bad", ["# BEGIN SOLUTION\nx", "# END SOLUTION", "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION"]
)
def test_unbalanced_markers_are_errors(bad):
    with pytest.raises(ValueError):
        build.student_source(bad)


def test_solution_markdown_dropped_and_outputs_cleared():
    nb = {
        "metadata": {"widgets": {"state": {}}},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "<!-- SOLUTION -->\nWhy: ..."},
            {"cell_type": "code", "metadata": {}, "execution_count": 3,
             "outputs": [{"output_type": "stream", "text": "hi"}],
             "source": ["# STUB: a = None\n", "# BEGIN SOLUTION\n", "a = 1\n", "# END SOLUTION"]},
        ],
    }
    student = build.to_student(nb)
    assert len(student["cells"]) == 1
    cell = student["cells"][0]
    assert cell["source"] == "a = None" and cell["outputs"] == [] and cell["execution_count"] is None
    assert "widgets" not in student["metadata"]
    assert nb["cells"][1]["outputs"], "the solution object itself is not modified"


def test_student_notebooks_in_sync_with_solutions():
    stale = build.build(ROOT, check=True)
    assert not stale, f"run `python -m tlcourse build`: out of date: {stale}"


def code(src: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": src}


CHECK = 'tl.checks.exercise("Ex 1", n, lambda a: None if a == 6 else "no", "multiply")'
GOOD = f"# STUB: n = None  # your answer\n# BEGIN SOLUTION\nn = int(2 * 3.0)  # the answer\n# END SOLUTION\n{CHECK}"


def test_one_json_form_whatever_form_a_notebook_came_in(tmp_path, monkeypatch):
    """nbformat 4.5 as nbformat writes it; a 4.4 notebook gets stable cell ids; a copy that differs only
    in form is not out of date, and `build` rewrites it in the one form."""
    import nbformat
    from lesson_helpers import register

    old = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# T\nline two"},
                     code("x = 1\ny = 2")], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    text = build.dump(old)
    assert text == build.dump(old) == build.dump(json.loads(text))  # the same text every time
    node = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    nbformat.validate(node)
    assert (node.nbformat, node.nbformat_minor) == (4, 5) and len({c.id for c in node.cells}) == 2
    assert text == nbformat.writes(node) + "\n" and json.loads(text)["cells"][1]["source"] == ["x = 1\n", "y = 2"]
    register(tmp_path / "lessons", monkeypatch, "00_a")
    monkeypatch.setattr("tlcourse.interview.load_bank", list)  # the bank links to the real course's lessons
    (tmp_path / "solutions").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "solutions" / "00_a.ipynb").write_text(json.dumps(old, indent=2))
    assert build.build(tmp_path) == ["00_a.ipynb"]  # no student copy yet
    assert (tmp_path / "solutions" / "00_a.ipynb").read_text() == text  # the solution rewritten in the form
    student = tmp_path / "notebooks" / "00_a.ipynb"
    student.write_text(json.dumps(json.loads(student.read_text())))  # same content, another form
    assert build.build(tmp_path, check=True) == []
    assert build.build(tmp_path) == [] and student.read_text() == build.dump(json.loads(student.read_text()))


def test_audit_accepts_a_marked_exercise():
    sol = {"cells": [code(GOOD)]}
    student = build.to_student(sol)
    assert build.audit(sol, student) == []
    assert student["cells"][0]["source"].startswith("n = None  # your answer\ntl.checks.exercise(")


@pytest.mark.parametrize("cell", [
    f"n = int(2 * 3.0)  # the answer\n{CHECK}",  # no markers: the answer would be in the student copy
    f"# BEGIN SOLUTION\nn = int(2 * 3.0)\n# END SOLUTION\n{CHECK}",  # no stub: NameError for students
    f"# STUB: n = None\n# BEGIN SOLUTION\n# END SOLUTION\n{CHECK}",  # empty block: nothing to hide?
])
def test_audit_rejects_an_exercise_cell_without_stub_and_solution(cell):
    sol = {"cells": [code(cell)]}
    problems = build.audit(sol, build.to_student(sol))
    assert problems and "calls an exercise check" in problems[0]


def test_audit_finds_solution_text_in_the_student_copy():
    sol = {"cells": [code(GOOD), {"cell_type": "markdown", "metadata": {},
                                  "source": "<!-- SOLUTION -->\nModel answer: freeze the encoder first."}]}
    student = build.to_student(sol)
    assert build.audit(sol, student) == []
    student["cells"].append(code("n = int(2 * 3.0)  # the answer"))  # pasted from the solution
    student["cells"].append({"cell_type": "markdown", "metadata": {},
                             "source": "Model answer: freeze the encoder first."})
    problems = build.audit(sol, student)
    assert len(problems) == 2 and all("shows solution text" in p for p in problems), problems


def test_audit_allows_solution_lines_that_the_lesson_also_shows():
    shown = "x = compute()  # the lesson does this too"
    sol = {"cells": [code(shown), code(GOOD.replace("n = int(2 * 3.0)  # the answer", shown))]}
    assert build.audit(sol, build.to_student(sol)) == []


@pytest.mark.parametrize("lesson", lessons.all_lessons(), ids=lambda lesson: lesson.stem)
def test_no_solution_reaches_the_committed_student_copy(lesson):
    sol, student = lesson.solution(), lesson.student()
    assert student.is_file(), f"{student} missing: run `python -m tlcourse build`"
    problems = build.audit(json.loads(sol.read_text(encoding="utf-8")),
                           json.loads(student.read_text(encoding="utf-8")))
    assert not problems, f"{sol.name}:\n" + "\n".join(problems)
