"""tlcourse.lessons: the registry finds every lesson one way and says when the text's claims hold."""

from __future__ import annotations

import re

import pytest
from lesson_helpers import SIZES, registry_at

from tlcourse import lessons
from tlcourse.profiles import PROFILES


def test_every_lesson_file_is_a_registered_lesson_with_its_notebooks():
    found = lessons.all_lessons()
    assert [lesson.number for lesson in found] == [f"{i:02d}" for i in range(len(found))]
    assert len(found) == len(list(lessons.FOLDER.glob("*.toml")))
    for lesson in found:
        assert lesson.solution().is_file() and lesson.student().is_file(), lesson
    # the one glob of lesson notebooks outside the registry: no notebook the registry does not know
    stems = {lesson.stem for lesson in found}
    for folder in ("solutions", "notebooks"):
        strays = sorted(p.name for p in (lessons.ROOT / folder).glob("*.ipynb") if p.stem not in stems)
        assert not strays, f"{folder}/ holds notebooks no TOML of tlcourse/lessons/ registers: {strays}"
        assert set(lesson.claims_profiles) <= set(PROFILES)
    assert lessons.after(found[-1]) is None and lessons.after(found[0]) == found[1]


def test_get_by_number_name_or_stem_and_a_clear_error_otherwise():
    five = lessons.get(5)
    assert lessons.get("05") is five and lessons.get("yolo_detection") is five
    assert lessons.get("05_yolo_detection.ipynb") is five
    with pytest.raises(KeyError, match="no lesson 'yolo'; the lessons are: 00_start_here"):
        lessons.get("yolo")


def test_claims_hold_in_the_claims_profiles_with_default_parameters_only(tmp_path, monkeypatch):
    registry_at(tmp_path, monkeypatch, {"demo": SIZES + '[lesson]\nnumber = "00"\ntitle = "Demo"\n'
                                        'claims_profiles = ["cpu"]\nchecks = ""\n[lesson.defaults]\n'
                                        'DATASET = "digits"\nSIZES = [1, 2]\n'})
    demo = lessons.get("demo")
    cpu, smoke = demo.config("cpu"), demo.config("smoke")
    assert demo.claims(cpu, DATASET="digits", SIZES=(1, 2), EPOCHS=3)
    assert not demo.claims(cpu, DATASET="fashion")  # the learner changed the data set
    assert not demo.claims(cpu, EPOCHS=4)  # ... or a size: the default is cfg.epochs
    assert not demo.claims(cpu, SIZES=(1, 2, 3))
    assert not demo.claims(smoke, DATASET="digits")  # smoke's numbers are not the text's
    assert demo.claims(cpu, EPOCHS=3.0)  # 3.0 == 3
    with pytest.raises(ValueError, match="LR has no default: add it to \\[lesson.defaults\\] in demo.toml"):
        demo.claims(cpu, LR=0.1)
    other = lessons.Lesson("01", "other", "Other", ("cpu",), "")
    with pytest.raises(ValueError, match="cfg is lesson 'demo'"):
        other.claims(cpu)


@pytest.mark.parametrize(("block", "said"), [
    ("", "no \\[lesson\\] table"),
    ('[lesson]\nnumber = 5\ntitle = "t"\n', "number = 5: two digits in quotes"),
    ('[lesson]\nnumber = "05"\ntitle = ""\n', "title must be the notebook's heading"),
    ('[lesson]\nnumber = "05"\ntitle = "t"\nclaims_profiles = ["gpu"]\n', "claims_profiles = \\['gpu'\\]"),
    ('[lesson]\nnumber = "05"\ntitle = "t"\nchecks = "nope"\n', "no tlcourse/checks/nope.py"),
    ('[lesson]\nnumber = "05"\ntitle = "t"\nowner = "x"\n', "unknown \\[lesson\\] key\\(s\\) owner"),
])
def test_a_damaged_lesson_table_is_one_clear_error_naming_the_file(tmp_path, monkeypatch, block, said):
    registry_at(tmp_path, monkeypatch, {"demo": SIZES + block})
    with pytest.raises(ValueError, match=said) as err:
        lessons.all_lessons()
    assert "demo.toml" in str(err.value)


def test_the_lesson_table_comes_last_and_numbers_are_unique(tmp_path, monkeypatch):
    registry_at(tmp_path, monkeypatch, {"demo": '[lesson]\nnumber = "00"\ntitle = "t"\n' + SIZES})
    with pytest.raises(ValueError, match="\\[lesson\\] must be the last table"):
        lessons.all_lessons()
    block = '[lesson]\nnumber = "00"\ntitle = "t"\n'
    registry_at(tmp_path, monkeypatch, {"demo": SIZES + block, "twin": SIZES + block})
    with pytest.raises(ValueError, match="two lesson files claim number\\(s\\) 00"):
        lessons.all_lessons()


def test_only_the_sizes_decide_the_digest_text():
    with_block = SIZES + '\n[lesson]  # bookkeeping\nnumber = "00"\ntitle = "t"\n[lesson.defaults]\nA = 1\n'
    assert lessons.number_text(with_block) == SIZES  # the file as it was before the table was added
    assert lessons.number_text(SIZES) == SIZES
    assert lessons.number_text(with_block.replace("epochs = 3", "epochs = 4")) != SIZES


def test_each_lessons_checks_module_has_its_own_test_file():
    """One test file per checks module, named after it (tests/test_checks_<name>.py), that imports it."""
    root = lessons.ROOT
    modules = {lesson.checks for lesson in lessons.all_lessons() if lesson.checks}
    modules |= {p.stem for p in (root / "tlcourse" / "checks").glob("*.py") if p.stem != "__init__"}
    missing = []
    for name in sorted(modules):
        path = root / "tests" / f"test_checks_{name}.py"
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        if not re.search(rf"tlcourse\.checks(\.{name}\b| import .*\b{name}\b)", text):
            missing.append(f"tests/test_checks_{name}.py (testing tlcourse.checks.{name})")
    assert not missing, f"missing: {missing}"
