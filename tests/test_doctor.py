"""``doctor --smoke``: a real kernel runs a tiny step per framework; a broken framework gives a clear line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tlcourse import doctor
from tlcourse.lessons import all_lessons

ROOT = Path(__file__).resolve().parent.parent


def test_every_lesson_has_its_steps():
    lessons = [lesson.stem for lesson in all_lessons()]
    assert sorted(doctor.lesson_needs()) == lessons, "a lesson without a smoke step (or a step for no lesson)"
    assert {n for needs in doctor.lesson_needs().values() for n in needs} == set(doctor.STEPS)


def test_a_step_the_doctor_does_not_know_is_an_error_naming_the_file(monkeypatch):
    from dataclasses import replace

    from tlcourse import lessons

    broken = [replace(lesson, needs=("kernel", "pytorch")) if lesson.number == "05" else lesson
              for lesson in lessons.all_lessons()]
    monkeypatch.setattr(lessons, "all_lessons", lambda: tuple(broken))
    with pytest.raises(ValueError, match=r"yolo_detection.toml: \[lesson\] needs .*unknown: \['pytorch'\]"):
        doctor.lesson_needs()


def test_a_kernel_that_cannot_start_fails_every_step_with_the_reason():
    steps = doctor.run_steps(["kernel", "torch"], kernel_name="no-such-kernel")
    assert [s.ok for s in steps] == [False, False]
    assert all("did not start" in s.error and "no-such-kernel" in s.error for s in steps)
    lines = doctor.lesson_lines(steps, {"00_start_here": ("kernel", "torch")})
    assert lines[0].startswith("NOT READY  00_start_here  kernel failed: the Jupyter kernel 'no-such-kernel'")
    assert "make setup" in lines[0]


def test_smoke_names_the_lessons_a_broken_framework_stops(tmp_path):
    """TensorFlow shadowed by a module that raises on import: the Keras lessons fail, the others are ready."""
    shadow = tmp_path / "shadow" / "tensorflow"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("tensorflow broken on purpose by the test")\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shadow.parent), str(ROOT)])}
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "tlcourse", "doctor", "--smoke"], capture_output=True,
                         text=True, env=env, timeout=300)
    took = time.perf_counter() - start
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    lines = {(ln.split()[1] if ln.startswith("ready") else ln.split()[2]): ln
             for ln in run.stdout.splitlines() if ln.startswith(("ready ", "NOT READY "))}
    assert set(lines) == set(doctor.lesson_needs()), run.stdout
    for lesson in ("02_feature_extraction", "03_fine_tuning", "06_lstm_forecasting", "08_interview_prep"):
        assert lines[lesson].startswith(f"NOT READY  {lesson}"), lines[lesson]
        assert "keras failed" in lines[lesson] and "broken on purpose" in lines[lesson], lines[lesson]
        assert "make setup" in lines[lesson]
    for lesson in ("00_start_here", "01_types_of_transfer", "07_domain_adaptation", "09_appendix_scaling"):
        assert lines[lesson].startswith(f"ready      {lesson}"), lines[lesson]
    assert "doctor --smoke: some lessons cannot run here" in run.stdout
    print(f"doctor --smoke with TensorFlow broken: {took:.0f} s")
