"""Interview preparation (lesson 08): the question bank, a quiz and flashcards.

The questions live in data files next to this module (``interview_bank.json``,
``interview_quiz.json``), validated by :func:`validate_bank` and :func:`validate_quiz` (the tests
run both). :class:`Quiz` and :class:`Flashcards` are plain Python objects with a widget view, so a
notebook without a browser (the tests) drives them through the same methods a click calls.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .validate import load_json, whole_number

HERE = Path(__file__).resolve().parent
BANK_FILE = HERE / "interview_bank.json"
QUIZ_FILE = HERE / "interview_quiz.json"
SOLUTIONS = HERE.parent / "solutions"
DIFFICULTIES = ("basic", "intermediate", "advanced")
LESSON_STEM = re.compile(r"^\d\d_[A-Za-z0-9_]+$")
RESTORE = "Restore the file (git checkout {name}) or fix it; it is UTF-8 JSON."


@dataclass(frozen=True)
class Question:
    """One question of the bank, with the course's model answer and where a lesson shows it."""

    id: str
    topic: str
    difficulty: str
    question: str
    answer: str
    lesson: str  # notebook stem, e.g. "03_fine_tuning"
    section: str  # a markdown heading of that notebook (without the leading #s)

    @property
    def link(self) -> str:
        """A JupyterLab link to the section (relative to a notebook in the same folder)."""
        return f"{self.lesson}.ipynb#{self.section.replace(' ', '-')}"


@dataclass(frozen=True)
class QuizItem:
    """A multiple-choice question: exactly one option is right, each option has its explanation."""

    id: str
    topic: str
    question: str
    options: tuple[str, ...]
    correct: int
    explanations: tuple[str, ...]


def _headings(notebook: Path) -> set[str]:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    out = set()
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    out.add(line.lstrip("#").strip())
    return out


def _require(cond: bool, where: str, problem: str) -> None:
    if not cond:
        raise ValueError(f"{where}: {problem}")


def validate_bank(data: Any, solutions: Path = SOLUTIONS) -> list[Question]:
    """Parse and check the question bank; raise ValueError naming the question and the problem.

    Every question needs a unique id, a topic, a difficulty in ``DIFFICULTIES``, a question, a
    model answer of at least 40 characters, and a lesson + section heading that exists in
    ``solutions/<lesson>.ipynb``.
    """
    _require(isinstance(data, list) and data, "question bank", "must be a non-empty JSON list")
    headings: dict[str, set[str]] = {}
    seen: set[str] = set()
    out = []
    for n, q in enumerate(data):
        where = f"question bank entry {n} ({q.get('id', '?') if isinstance(q, dict) else '?'})"
        _require(isinstance(q, dict), where, "must be an object")
        fields = ("id", "topic", "difficulty", "question", "answer", "lesson", "section")
        missing = [f for f in fields if not str(q.get(f, "")).strip()]
        _require(not missing, where, f"missing or empty field(s): {', '.join(missing)}")
        wrong = [f for f in fields if not isinstance(q[f], str)]
        _require(not wrong, where, f"field(s) {', '.join(wrong)} must be text (a JSON string)")
        _require(bool(LESSON_STEM.match(q["lesson"])), where,
                 f"lesson {q['lesson']!r} is not a notebook name like '03_fine_tuning'")
        _require(q["id"] not in seen, where, "duplicate id")
        seen.add(q["id"])
        _require(q["difficulty"] in DIFFICULTIES, where,
                 f"difficulty {q['difficulty']!r} is not one of {', '.join(DIFFICULTIES)}")
        _require(len(q["answer"]) >= 40, where, "the model answer is too short to teach anything")
        nb = solutions / f"{q['lesson']}.ipynb"
        _require(nb.is_file(), where, f"links to {nb.name}, which does not exist")
        if q["lesson"] not in headings:
            headings[q["lesson"]] = _headings(nb)
        _require(q["section"] in headings[q["lesson"]], where,
                 f"{nb.name} has no heading {q['section']!r}")
        out.append(Question(**{f: str(q[f]) for f in fields}))
    return out


def validate_quiz(data: Any) -> list[QuizItem]:
    """Parse and check the quiz: exactly one correct option, an explanation for every option."""
    _require(isinstance(data, list) and data, "quiz", "must be a non-empty JSON list")
    seen: set[str] = set()
    out = []
    for n, q in enumerate(data):
        where = f"quiz entry {n} ({q.get('id', '?') if isinstance(q, dict) else '?'})"
        _require(isinstance(q, dict), where, "must be an object")
        for f in ("id", "topic", "question"):
            _require(bool(str(q.get(f, "")).strip()), where, f"missing or empty field {f!r}")
            _require(isinstance(q[f], str), where, f"field {f!r} must be text (a JSON string)")
        _require(q["id"] not in seen, where, "duplicate id")
        seen.add(q["id"])
        options = q.get("options")
        _require(isinstance(options, list) and len(options) >= 2, where, "needs 2 or more options")
        for i, opt in enumerate(options):
            _require(isinstance(opt, dict), where, f"option {i} must be an object")
            _require(bool(str(opt.get("text", "")).strip()), where, f"option {i} has no text")
            _require(bool(str(opt.get("why", "")).strip()), where, f"option {i} has no explanation")
            _require(isinstance(opt["text"], str) and isinstance(opt["why"], str), where,
                     f"option {i}: 'text' and 'why' must be text (JSON strings)")
            _require(isinstance(opt.get("correct", False), bool), where,
                     f"option {i}: 'correct' must be true or false")
        right = [i for i, opt in enumerate(options) if opt.get("correct", False)]
        _require(len(right) == 1, where, f"needs exactly one correct option, has {len(right)}")
        out.append(QuizItem(q["id"], q["topic"], q["question"],
                            tuple(o["text"] for o in options), right[0],
                            tuple(o["why"] for o in options)))  # fmt: skip
    return out


def _load(path: Path, validate: Any) -> Any:
    """Read, parse and validate one data file; every error names the file and what to do."""
    fix = RESTORE.format(name=path.name)
    data = load_json(path, fix=fix)
    try:
        return validate(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}. {fix}") from None


def load_bank(path: Path = BANK_FILE) -> list[Question]:
    """The validated question bank (``path``: default the course's)."""
    return _load(Path(path), validate_bank)


def load_quiz(path: Path = QUIZ_FILE) -> list[QuizItem]:
    """The validated quiz (``path``: default the course's)."""
    return _load(Path(path), validate_quiz)


class Quiz:
    """A multiple-choice quiz that keeps score; :meth:`widget` shows it, :meth:`answer` grades."""

    def __init__(self, items: list[QuizItem]) -> None:
        self.items = items
        self.answers: dict[str, int] = {}

    def answer(self, item_id: str, choice: int) -> str:
        """Grade one answer (the latest answer to a question counts); return the explanation."""
        item = next((q for q in self.items if q.id == item_id), None)
        if item is None:
            raise KeyError(f"no quiz question {item_id!r}")
        choice = whole_number(choice, f"{item_id}: the choice")
        if not 0 <= choice < len(item.options):
            raise ValueError(f"{item_id}: choose an option 0..{len(item.options) - 1}, not {choice}")
        self.answers[item_id] = choice
        verdict = "Right." if choice == item.correct else (
            f"Not quite: the answer is ({chr(97 + item.correct)}) {item.options[item.correct]}.")
        return f"{verdict} {item.explanations[choice]}"

    @property
    def score(self) -> tuple[int, int]:
        """(right answers, questions) so far."""
        right = sum(self.answers[q.id] == q.correct for q in self.items if q.id in self.answers)
        return right, len(self.items)

    def summary(self) -> str:
        """One line: the score and which topics to revisit."""
        right, total = self.score
        weak = sorted({q.topic for q in self.items if self.answers.get(q.id, -1) != q.correct})
        tail = f" Revisit: {', '.join(weak)}." if weak else " Nothing to revisit."
        return f"Score: {right} / {total}.{tail}"

    def widget(self) -> Any:
        """An ipywidgets view: one radio group and a check button per question, a live score."""
        import ipywidgets as w

        score = w.HTML(self.summary())
        rows = []
        for item in self.items:
            radio = w.RadioButtons(
                options=[(f"({chr(97 + i)}) {t}", i) for i, t in enumerate(item.options)],
                value=None, layout=w.Layout(width="auto"))
            button = w.Button(description="check")
            out = w.HTML()

            def on_click(_: Any, item: QuizItem = item, radio: Any = radio, out: Any = out) -> None:
                if radio.value is None:
                    out.value = "<i>choose an option first</i>"
                    return
                out.value = self.answer(item.id, radio.value)
                score.value = self.summary()

            button.on_click(on_click)
            rows.append(w.VBox([w.HTML(f"<b>{item.question}</b>"), radio, button, out]))
        return w.VBox([*rows, score])


class Flashcards:
    """Question / model-answer cards in a seeded random order; flip to see the answer."""

    def __init__(self, questions: list[Question], seed: int = 0) -> None:
        self.cards = list(questions)
        random.Random(seed).shuffle(self.cards)
        self.index = 0
        self.flipped = False

    @property
    def current(self) -> Question:
        """The card on top."""
        return self.cards[self.index]

    def text(self) -> str:
        """What the card shows now: the question, or the question and its model answer."""
        q = self.current
        head = f"[{self.index + 1}/{len(self.cards)}] ({q.topic}, {q.difficulty}) {q.question}"
        return f"{head}\n\n{q.answer}\n(see {q.link})" if self.flipped else head

    def flip(self) -> str:
        """Show or hide the answer; return the card's text."""
        self.flipped = not self.flipped
        return self.text()

    def next(self) -> str:
        """Go to the next card (wrapping around), answer hidden; return its text."""
        self.index = (self.index + 1) % len(self.cards)
        self.flipped = False
        return self.text()

    def widget(self) -> Any:
        """An ipywidgets view with "flip" and "next" buttons."""
        import ipywidgets as w

        view = w.Textarea(value=self.text(), layout=w.Layout(width="100%", height="12em"),
                          disabled=True)  # fmt: skip
        flip, nxt = w.Button(description="flip"), w.Button(description="next")
        flip.on_click(lambda _: setattr(view, "value", self.flip()))
        nxt.on_click(lambda _: setattr(view, "value", self.next()))
        return w.VBox([view, w.HBox([flip, nxt])])
