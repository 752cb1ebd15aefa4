"""The lesson registry: one object per lesson, built from its TOML file in this folder.

A lesson's file holds its sizes (``[common]``, ``[smoke]``, ``[cpu]``, ``[full]``: see
:mod:`tlcourse.profiles`) and, as its last table, the course's bookkeeping about it::

    [lesson]
    number = "05"                       # the notebook is solutions/05_<file name>.ipynb
    title = "YOLO detection: ..."       # the notebook's first heading, without the number
    claims_profiles = ["cpu"]           # where the text's comparisons are asserted
    checks = "detection"                # tlcourse/checks/<checks>.py ("" when none)
    needs = ["kernel", "torch", "ultralytics"]  # the steps of `tlcourse doctor --smoke` it needs

    [lesson.defaults]                   # the top parameters the text describes
    START = "course_source"

A notebook finds everything through it::

    LESSON = tl.lessons.get("05")
    cfg = LESSON.config()
    CLAIMS = LESSON.claims(cfg, START=START, EPOCHS=EPOCHS)

``[lesson]`` comes last because what follows its header is bookkeeping: the ledger's digest of a
lesson covers the text before it (the sizes decide numbers; a title or a claims profile does not).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..profiles import PROFILES, Config, config, lesson_table

FOLDER = Path(__file__).parent
ROOT = FOLDER.parent.parent  # the course's checkout (solutions/ and notebooks/ live here)
_HEADER = re.compile(r"^\[lesson(\.[A-Za-z_]+)?\]\s*(#.*)?$", re.M)


@dataclass(frozen=True)
class Lesson:
    """One lesson: its number, file names, claims profiles, checks module, the doctor steps it needs
    and its default parameters."""

    number: str
    name: str
    title: str
    claims_profiles: tuple[str, ...]
    checks: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()

    @property
    def stem(self) -> str:
        """The notebook's file name without ``.ipynb`` (``05_yolo_detection``)."""
        return f"{self.number}_{self.name}"

    @property
    def toml(self) -> Path:
        return FOLDER / f"{self.name}.toml"

    def solution(self, root: Path = ROOT) -> Path:
        return root / "solutions" / f"{self.stem}.ipynb"

    def student(self, root: Path = ROOT) -> Path:
        return root / "notebooks" / f"{self.stem}.ipynb"

    def config(self, profile: str | None = None, **overrides: Any) -> Config:
        """The lesson's settings in ``profile`` (:func:`tlcourse.profiles.config`)."""
        return config(self.name, profile, **overrides)

    def claims(self, cfg: Config, **params: Any) -> bool:
        """True when the text's claims are in force: ``cfg.profile`` is one of the claims profiles and
        every ``params`` value is its default ([lesson.defaults], else cfg's lower-cased setting)."""
        if cfg.lesson != self.name:
            raise ValueError(f"cfg is lesson {cfg.lesson!r}'s; this is {self.name!r}.")
        same = True
        for key, value in params.items():
            if key in self.defaults:
                default = self.defaults[key]
            elif key.lower() in cfg.params:
                default = cfg.params[key.lower()]
            else:
                raise ValueError(f"{key} has no default: add it to [lesson.defaults] in {self.toml.name} "
                                 f"or name a setting of the profile tables ({', '.join(sorted(cfg.params))}).")
            same = same and _equal(value, default)
        return cfg.profile in self.claims_profiles and same

    def __str__(self) -> str:
        return f"{self.stem}: {self.title}"


def _equal(value: Any, default: Any) -> bool:
    """Parameter equality where a TOML array stands for a Python tuple or list."""
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return len(value) == len(default) and all(_equal(a, b) for a, b in zip(value, default, strict=True))
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    return value == default and (type(value) is type(default) or {type(value), type(default)} == {int, float})


def number_text(text: str) -> str:
    """The part of a lesson file that decides numbers: the text before its ``[lesson]`` table
    (ending in one newline, as the file did before the table was added)."""
    m = _HEADER.search(text)
    return text if m is None else text[: m.start()].rstrip("\n") + "\n"


def _load(path: Path) -> Lesson:
    fix = f"Fix {path} (or restore it: git checkout {path.name})."
    table = lesson_table(path.stem)
    meta = table.get("lesson")
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: no [lesson] table (number, title, claims_profiles, checks). {fix}")
    text = path.read_text(encoding="utf-8")
    after = text[_HEADER.search(text).start():]
    if re.search(r"^\[(?!lesson[\].])", after, re.M):
        raise ValueError(f"{path}: [lesson] must be the last table (the digest of the sizes stops there). {fix}")
    unknown = sorted(set(meta) - {"number", "title", "claims_profiles", "checks", "needs", "defaults"})
    if unknown:
        raise ValueError(f"{path}: unknown [lesson] key(s) {', '.join(unknown)}. {fix}")
    number, title = meta.get("number"), meta.get("title")
    if not (isinstance(number, str) and re.fullmatch(r"\d\d", number)):
        raise ValueError(f"{path}: [lesson] number = {number!r}: two digits in quotes, like \"05\". {fix}")
    if not (isinstance(title, str) and title.strip()):
        raise ValueError(f"{path}: [lesson] title must be the notebook's heading. {fix}")
    profiles = meta.get("claims_profiles", [])
    if not isinstance(profiles, list) or not set(profiles) <= set(PROFILES):
        raise ValueError(f"{path}: [lesson] claims_profiles = {profiles!r}: a list of {', '.join(PROFILES)}. {fix}")
    checks = meta.get("checks", "")
    if not isinstance(checks, str) or (checks and not (FOLDER.parent / "checks" / f"{checks}.py").is_file()):
        raise ValueError(f"{path}: [lesson] checks = {checks!r}: no tlcourse/checks/{checks}.py. {fix}")
    needs = meta.get("needs", [])
    if not (isinstance(needs, list) and all(isinstance(n, str) and n for n in needs)):
        raise ValueError(f"{path}: [lesson] needs = {needs!r}: a list of `tlcourse doctor` step names. {fix}")
    defaults = meta.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ValueError(f"{path}: [lesson.defaults] must be a table. {fix}")
    return Lesson(number, path.stem, title.strip(), tuple(profiles), checks, MappingProxyType(dict(defaults)),
                  tuple(needs))


@cache
def _all() -> tuple[Lesson, ...]:
    lessons = tuple(sorted((_load(p) for p in FOLDER.glob("*.toml")), key=lambda lesson: lesson.number))
    numbers = [lesson.number for lesson in lessons]
    if len(set(numbers)) != len(numbers):
        dup = sorted({n for n in numbers if numbers.count(n) > 1})
        raise ValueError(f"two lesson files claim number(s) {', '.join(dup)} in {FOLDER}.")
    return lessons


def all_lessons() -> tuple[Lesson, ...]:
    """Every lesson, in course order."""
    return _all()


def get(key: str | int) -> Lesson:
    """A lesson by number (``5``, ``"05"``), name (``"yolo_detection"``) or stem (``"05_yolo_detection"``)."""
    text = str(key).removesuffix(".ipynb")
    want = text.zfill(2) if text.isdigit() else text
    for lesson in _all():
        if want in (lesson.number, lesson.name, lesson.stem):
            return lesson
    raise KeyError(f"no lesson {key!r}; the lessons are: {', '.join(lesson.stem for lesson in _all())}.")


def after(lesson: Lesson) -> Lesson | None:
    """The next lesson in course order (None after the last)."""
    lessons = _all()
    i = lessons.index(lesson)
    return lessons[i + 1] if i + 1 < len(lessons) else None


__all__ = ["FOLDER", "ROOT", "Lesson", "after", "all_lessons", "get", "number_text"]
