"""Interview preparation (lesson 08): one question bank, evidence, a quiz, flashcards and drills.

One source, ``interview_bank.json`` next to this module, holds every interview question of the
course: the ones each lesson ends with (``asked_in``; ``python -m tlcourse build`` renders them
into that lesson's "Interview questions" cell, see :func:`sync_lessons`) and lesson 08's own.
Each question has a topic, a difficulty, the lesson section that demonstrates it (a JupyterLab
link, :func:`anchor`), and, where its answer rests on an experiment, the ledger keys of that
experiment (``evidence``). Design prompts and the project story carry a filled ``template``
and a ``rubric``. ``interview_quiz.json`` holds the multiple-choice quiz.

The learner's side lives in the workspace (never in the course folder), in ``.tlcourse/``:

* ``my_numbers.jsonl``: the headline numbers of the learner's own runs (:func:`remember`, called
  by ``tl.ledger.record`` when a lesson runs from the workspace), shown next to the course's
  in :func:`evidence_card` and on the one-page sheet (:func:`my_numbers_sheet`);
* ``interview.json``: a per-learner seed (the quiz's option order) and the questions answered
  wrongly, which come back first next time (:class:`Progress`).

:class:`Quiz`, :class:`Flashcards` and :class:`Drill` are plain Python objects with a widget
view, so a notebook without a browser (the tests) drives them through the methods a click calls.
"""

from __future__ import annotations

import html
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .build import dump
from .lessons import all_lessons
from .validate import load_json, whole_number, write_atomic

HERE = Path(__file__).resolve().parent
BANK_FILE = HERE / "interview_bank.json"
QUIZ_FILE = HERE / "interview_quiz.json"
SOLUTIONS = HERE.parent / "solutions"
DIFFICULTIES = ("basic", "intermediate", "advanced")
RESTORE = "Restore the file (git checkout {name}) or fix it; it is UTF-8 JSON."
DESIGN_TEMPLATE = ("problem", "metrics", "data", "model", "offline evaluation", "serving", "monitoring")
STORY_TEMPLATE = ("situation", "task", "action", "result", "what I would do next")
BLOCK_START, BLOCK_END = "<!-- tl:interview {} -->", "<!-- /tl:interview -->"
MY_NUMBERS_ENV = "TLCOURSE_MY_NUMBERS"  # a JSONL path that overrides workspace/.tlcourse/my_numbers.jsonl


@dataclass(frozen=True)
class Evidence:
    """A measured number an answer rests on: a ledger key of one lesson."""

    lesson: str  # notebook stem, e.g. "03_fine_tuning"
    key: str
    label: str  # what the number is, in words


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
    asked_in: tuple[str, ...] = ()  # lessons whose "Interview questions" cell lists it
    evidence: tuple[Evidence, ...] = ()
    template: tuple[tuple[str, str], ...] = ()  # design prompt / project story: (part, text)
    rubric: tuple[str, ...] = ()

    @property
    def link(self) -> str:
        """A JupyterLab link to the section (relative to a notebook in the same folder)."""
        return f"{self.lesson}.ipynb#{anchor(self.section)}"


@dataclass(frozen=True)
class QuizItem:
    """A multiple-choice question: exactly one option is right, each option has its explanation.

    Options keep the file's order here; ``ids`` are their stable ids ("a", "b", ...), which
    answers and the learner's record use whatever order a learner sees them in.
    """

    id: str
    topic: str
    question: str
    options: tuple[str, ...]
    correct: int
    explanations: tuple[str, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        """The options' stable ids, in file order."""
        return tuple(chr(97 + i) for i in range(len(self.options)))


# ---------------------------------------------------------------------------------------------
# Headings and links


def _inline_text(markdown: str) -> str:
    """The text a browser shows for one line of inline markdown (code, emphasis, links, entities)."""
    text = re.sub(r"`+([^`]*)`+", r"\1", markdown)  # code spans keep their content
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images keep their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = re.sub(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1", r"\2", text)  # emphasis
    return html.unescape(text).strip()


def anchor(heading: str) -> str:
    """JupyterLab's id for a heading: its rendered text with spaces replaced by ``-``.

    JupyterLab sets ``id = header.textContent.replace(/ /g, '-')``, so markup disappears:
    ``anchor("5. Rung 3 - full fine-tuning with `Trainer`")`` is
    ``"5.-Rung-3---full-fine-tuning-with-Trainer"``.
    """
    return _inline_text(heading).replace(" ", "-")


def headings(notebook: Path) -> list[str]:
    """The markdown headings of a notebook (``#`` lines outside fenced code), without the ``#``s."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        fenced = False
        for line in "".join(cell["source"]).splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            elif not fenced and re.match(r"#{1,6} ", line):
                out.append(line.lstrip("#").strip())
    return out


# ---------------------------------------------------------------------------------------------
# Validation and loading


def _require(cond: bool, where: str, problem: str) -> None:
    if not cond:
        raise ValueError(f"{where}: {problem}")


def _evidence(raw: Any, where: str, stems: set[str]) -> tuple[Evidence, ...]:
    _require(isinstance(raw, list), where, "'evidence' must be a list of {lesson, key, label}")
    out = []
    for i, ev in enumerate(raw):
        _require(isinstance(ev, dict) and all(str(ev.get(f, "")).strip() for f in ("lesson", "key", "label")),
                 where, f"evidence {i} needs non-empty 'lesson', 'key' and 'label'")
        _require(ev["lesson"] in stems, where, f"evidence {i} names lesson {ev['lesson']!r}, "
                 f"which is not a notebook in solutions/")
        out.append(Evidence(str(ev["lesson"]), str(ev["key"]), str(ev["label"])))
    return tuple(out)


def _template(raw: Any, where: str, parts: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    _require(isinstance(raw, dict) and list(raw) == list(parts), where,
             f"'template' must have exactly the parts {', '.join(parts)}, in that order")
    for part in parts:
        _require(len(str(raw[part]).strip()) >= 20, where, f"template part {part!r} is empty or too short")
    return tuple((p, str(raw[p])) for p in parts)


def lesson_notebooks(solutions: Path) -> list[Path]:
    """The solution notebooks in ``solutions`` of the registry's lessons (:mod:`tlcourse.lessons`)."""
    return [path for lesson in all_lessons() if (path := solutions / f"{lesson.stem}.ipynb").is_file()]


def validate_bank(data: Any, solutions: Path = SOLUTIONS) -> list[Question]:
    """Parse and check the question bank; raise ValueError naming the question and the problem.

    Every question needs a unique id, a topic, a difficulty in ``DIFFICULTIES``, a question, a
    model answer of at least 40 characters, and a lesson + section heading that exists in
    ``solutions/<lesson>.ipynb``. Optional: ``asked_in`` (lessons that list it), ``evidence``
    (ledger keys), and for the topics "system design" / "project story" a ``template`` with
    the parts of ``DESIGN_TEMPLATE`` / ``STORY_TEMPLATE`` and a ``rubric`` (required there).
    """
    _require(isinstance(data, list) and data, "question bank", "must be a non-empty JSON list")
    stems = {p.stem for p in lesson_notebooks(solutions)}
    heads: dict[str, list[str]] = {}
    seen: set[str] = set()
    out = []
    fields = ("id", "topic", "difficulty", "question", "answer", "lesson", "section")
    for n, q in enumerate(data):
        where = f"question bank entry {n} ({q.get('id', '?') if isinstance(q, dict) else '?'})"
        _require(isinstance(q, dict), where, "must be an object")
        missing = [f for f in fields if not str(q.get(f, "")).strip()]
        _require(not missing, where, f"missing or empty field(s): {', '.join(missing)}")
        wrong = [f for f in fields if not isinstance(q[f], str)]
        _require(not wrong, where, f"field(s) {', '.join(wrong)} must be text (a JSON string)")
        _require(q["id"] not in seen, where, "duplicate id")
        seen.add(q["id"])
        _require(q["difficulty"] in DIFFICULTIES, where,
                 f"difficulty {q['difficulty']!r} is not one of {', '.join(DIFFICULTIES)}")
        _require(len(q["answer"]) >= 40, where, "the model answer is too short to teach anything")
        _require(q["lesson"] in stems, where, f"links to {q['lesson']}.ipynb, which does not exist "
                 "(a lesson's notebook name, like '03_fine_tuning': tlcourse/lessons/ lists them)")
        if q["lesson"] not in heads:
            heads[q["lesson"]] = headings(solutions / f"{q['lesson']}.ipynb")
        _require(q["section"] in heads[q["lesson"]], where,
                 f"{q['lesson']}.ipynb has no heading {q['section']!r}")
        _require(anchor(q["section"]).count("(") == anchor(q["section"]).count(")"), where,
                 "the section's heading has unbalanced parentheses, which break a markdown link")
        asked = q.get("asked_in", [])
        _require(isinstance(asked, list) and all(a in stems for a in asked), where,
                 f"'asked_in' must list notebooks of solutions/, got {asked!r}")
        template: tuple[tuple[str, str], ...] = ()
        rubric: tuple[str, ...] = ()
        parts = {"system design": DESIGN_TEMPLATE, "project story": STORY_TEMPLATE}.get(q["topic"])
        if parts or "template" in q:
            _require(parts is not None, where, "only 'system design' and 'project story' take a template")
            template = _template(q.get("template"), where, parts or ())
            raw_rubric = q.get("rubric")
            _require(isinstance(raw_rubric, list) and len(raw_rubric) >= 3
                     and all(str(r).strip() for r in raw_rubric), where,
                     "'rubric' must list at least 3 non-empty criteria")
            rubric = tuple(str(r) for r in raw_rubric)
        out.append(Question(*(str(q[f]) for f in fields), asked_in=tuple(asked),
                            evidence=_evidence(q.get("evidence", []), where, stems),
                            template=template, rubric=rubric))
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
        _require(isinstance(options, list) and 2 <= len(options) <= 26, where, "needs 2 to 26 options")
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
                            tuple(o["why"] for o in options)))
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


# ---------------------------------------------------------------------------------------------
# The learner's files


def learner_dir() -> Path:
    """``<workspace>/.tlcourse``: where the learner's interview record and numbers live."""
    from .workspace import default_workspace

    return default_workspace() / ".tlcourse"


def my_numbers_file() -> Path:
    """``$TLCOURSE_MY_NUMBERS`` if set, else ``<workspace>/.tlcourse/my_numbers.jsonl``."""
    env = os.environ.get(MY_NUMBERS_ENV)
    return Path(env).expanduser() if env else learner_dir() / "my_numbers.jsonl"


def learner_run(cwd: Path | None = None) -> bool:
    """True when a learner runs a lesson: ``$TLCOURSE_MY_NUMBERS`` is set, or the working folder
    is the workspace (``make lab``'s notebooks). ``make verify`` and the tests run from
    ``solutions/`` or ``notebooks/``, so they write nothing into the learner's files."""
    from .workspace import default_workspace

    if os.environ.get(MY_NUMBERS_ENV):
        return True
    return (cwd or Path.cwd()).resolve() == default_workspace().resolve()


def remember(lesson: str, profile: str, seed: int, key: str, value: float,
             cwd: Path | None = None) -> Path | None:
    """Append one of the learner's headline numbers to :func:`my_numbers_file`; return its path.

    Called by ``tl.ledger.record``. It writes only for a learner (:func:`learner_run`); a run of
    ``make verify`` or the tests writes nothing and returns None. A number that cannot be written
    (a read-only folder) is skipped with a note: the lesson keeps running.
    """
    if not learner_run(cwd):
        return None
    path = my_numbers_file()
    line = {"lesson": lesson, "profile": profile, "seed": int(seed), "key": key, "value": float(value),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
    except OSError as err:
        print(f"(your number {key} was not saved to {path}: {err})")
        return None
    return path


def load_my_numbers(path: Path | None = None) -> dict[tuple[str, str], list[float]]:
    """The learner's numbers by (lesson, key), in the order they were recorded.

    ``lesson`` is the lesson name of the TOML (e.g. ``fine_tuning``). Lines that are not valid
    JSON (a run killed mid-write) are skipped; the file itself is never changed.
    """
    path = path or my_numbers_file()
    out: dict[tuple[str, str], list[float]] = {}
    if not path.is_file():
        return out
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(raw)
            out.setdefault((str(row["lesson"]), str(row["key"])), []).append(float(row["value"]))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def _lesson_name(stem: str) -> str:
    """``03_fine_tuning`` -> ``fine_tuning`` (the name ``tl.config`` and the ledger use)."""
    return stem.split("_", 1)[1] if "_" in stem and stem[:2].isdigit() else stem


@dataclass
class Progress:
    """The learner's interview record (``<workspace>/.tlcourse/interview.json``).

    ``seed``: drawn once per learner, it fixes the quiz's option order for that learner.
    ``mistakes``: question or quiz id -> how many times it was answered wrongly minus right
    (never below 0): items with mistakes come first next time. ``path=None`` keeps it in memory.
    """

    path: Path | None = None
    seed: int = 0
    mistakes: dict[str, int] = field(default_factory=dict)
    drill_seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def for_learner(cls, seed: int, cwd: Path | None = None) -> Progress:
        """The learner's saved record when a learner runs 08 (:func:`learner_run`), else an
        in-memory one with ``seed`` (the tests and ``make verify`` leave the workspace alone)."""
        return cls.load() if learner_run(cwd) else cls(None, seed)

    @classmethod
    def load(cls, path: Path | None = None) -> Progress:
        """Read the record; a new one, with a fresh seed, when there is none (saved at once) or it
        is unreadable (the unreadable file is moved aside, never deleted)."""
        path = path or learner_dir() / "interview.json"
        if not path.is_file():
            new = cls(path, random.SystemRandom().randrange(2**31))
            new.save()  # the seed (the learner's quiz order) is kept from the first session on
            return new
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, int(data["seed"]), {str(k): int(v) for k, v in data.get("mistakes", {}).items()},
                       {str(k): float(v) for k, v in data.get("drill_seconds", {}).items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
            path.replace(aside)
            print(f"{path} could not be read ({err}); it was moved to {aside.name} and a new record started.")
            return cls(path, random.SystemRandom().randrange(2**31))

    def note(self, item_id: str, right: bool) -> None:
        """Count one answer (a wrong one brings the item forward next time) and save."""
        left = self.mistakes.get(item_id, 0) + (-1 if right else 1)
        if left > 0:
            self.mistakes[item_id] = left
        else:
            self.mistakes.pop(item_id, None)
        self.save()

    def first(self, ids: Iterable[str]) -> list[str]:
        """``ids`` with the ones answered wrongly first (most mistakes first), the rest in order."""
        ids = list(ids)
        return sorted(ids, key=lambda i: (-self.mistakes.get(i, 0), ids.index(i)))

    def save(self) -> None:
        """Write the record atomically (a temporary file, then a rename); no-op in memory."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seed": self.seed, "mistakes": self.mistakes,
                                   "drill_seconds": self.drill_seconds}, indent=1), encoding="utf-8")
        tmp.replace(self.path)


# ---------------------------------------------------------------------------------------------
# Evidence: the course's number and the learner's


def course_number(ev: Evidence, profile: str = "cpu", ledger: Mapping[str, Any] | None = None) -> dict | None:
    """The ledger's summary ``{"mean", "std", "min", "max", "n"}`` for ``ev``, or None."""
    from . import ledger as ledger_mod

    data = ledger if ledger is not None else ledger_mod.load()
    entry = data.get("profiles", {}).get(profile, {}).get(ev.lesson, {})
    stats = entry.get("summary", {}).get("values", {}).get(ev.key)
    return dict(stats) if stats else None


def _fmt(value: float, scale: float) -> str:
    """A number at the precision its size needs: 3 decimals below 10 (accuracies, errors), fewer above."""
    return f"{value:.3f}" if abs(scale) < 10 else f"{value:.1f}" if abs(scale) < 100 else f"{value:.0f}"


def evidence_card(q: Question, profile: str = "cpu", ledger: Mapping[str, Any] | None = None,
                  mine: Mapping[tuple[str, str], list[float]] | None = None) -> str:
    """Markdown: for each of ``q``'s ledger keys, what the course measured and what you measured."""
    mine = load_my_numbers() if mine is None else mine
    lines = [f"**{q.question}**", ""]
    for ev in q.evidence:
        stats = course_number(ev, profile, ledger)
        course = (f"the course measured {_fmt(stats['mean'], stats['mean'])} +/- {_fmt(stats['std'], stats['mean'])} "
                  f"({stats['n']} seeds, {profile} profile)" if stats
                  else f"the course has not measured it in the {profile} profile")
        yours = mine.get((_lesson_name(ev.lesson), ev.key), [])
        mean = sum(yours) / len(yours) if yours else 0.0
        you = (f"you measured {_fmt(mean, mean)}" + (f" (mean of {len(yours)} runs)" if len(yours) > 1 else "")
               if yours else f"you have not run it yet (run {ev.lesson} from your workspace)")
        lines.append(f"- {ev.label} (`{ev.lesson}` / `{ev.key}`): {course}; {you}.")
    return "\n".join(lines)


def my_numbers_sheet(bank: list[Question], profile: str = "cpu", ledger: Mapping[str, Any] | None = None,
                     mine: Mapping[tuple[str, str], list[float]] | None = None) -> str:
    """A one-page markdown sheet: every number the bank's answers rest on, the course's and yours."""
    mine = load_my_numbers() if mine is None else mine
    rows, done = [], set()
    for q in bank:
        for ev in q.evidence:
            if (ev.lesson, ev.key) in done:
                continue
            done.add((ev.lesson, ev.key))
            stats = course_number(ev, profile, ledger)
            yours = mine.get((_lesson_name(ev.lesson), ev.key), [])
            course = (f"{_fmt(stats['mean'], stats['mean'])} +/- {_fmt(stats['std'], stats['mean'])} (n={stats['n']})"
                      if stats else "-")
            mean = sum(yours) / len(yours) if yours else 0.0
            you = f"{_fmt(mean, mean)} (n={len(yours)})" if yours else "-"
            rows.append(f"| {ev.lesson[:2]} | {ev.label} | {course} | {you} | {q.id} |")
    head = ["# My numbers: transfer learning", "",
            f"The course's numbers: `docs/results.json`, {profile} profile (mean +/- std over seeds). "
            "Mine: my own runs of the lessons (`workspace/.tlcourse/my_numbers.jsonl`).", "",
            "| lesson | what | course | mine | question |", "|---|---|---|---|---|"]
    return "\n".join(head + rows) + "\n"


def export_sheet(markdown: str, folder: Path | None = None) -> tuple[Path, Path]:
    """Write the sheet as ``my_numbers.md`` and a printable ``my_numbers.html``; return both paths."""
    folder = folder or learner_dir()
    folder.mkdir(parents=True, exist_ok=True)
    md, page = folder / "my_numbers.md", folder / "my_numbers.html"
    md.write_text(markdown, encoding="utf-8")
    body = []
    for line in markdown.splitlines():
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("|---"):
            continue
        elif line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            tag = "th" if not any("<tr>" in b for b in body) else "td"
            body.append("<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>")
        elif line.strip():
            body.append(f"<p>{html.escape(line).replace('`', '')}</p>")
    rows = [b for b in body if b.startswith("<tr>")]
    other = [b for b in body if not b.startswith("<tr>")]
    style = ("@page{size:A4;margin:12mm}body{font:10px sans-serif}table{border-collapse:collapse;width:100%}"
             "td,th{border:1px solid #999;padding:2px 4px;text-align:left}")
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>My numbers</title>"
                    f"<style>{style}</style></head><body>{''.join(other)}<table>{''.join(rows)}</table>"
                    "</body></html>\n", encoding="utf-8")
    return md, page


# ---------------------------------------------------------------------------------------------
# Rendering: lessons' question cells, design answers


def render_answer(q: Question) -> str:
    """Markdown for one question with its answer in a collapsible block (the same in every copy)."""
    meta = f"*{q.topic}, {q.difficulty}; shown in [{q.lesson} · {_inline_text(q.section)}]({q.link})*"
    parts = [q.answer, ""]
    if q.template:
        parts += [f"- **{part}:** {text}" for part, text in q.template]
        parts += ["", "*Rubric:*", *[f"- [ ] {r}" for r in q.rubric]]
    if q.evidence:
        parts += ["", "*Evidence (ledger keys):* " + ", ".join(f"`{e.lesson}` / `{e.key}`" for e in q.evidence)]
    body = "\n".join(parts).strip()
    return (f"**{q.question}**\n{meta}\n\n<details><summary>Model answer (try first)</summary>\n\n"
            f"{body}\n\n</details>")


def render_lesson_block(stem: str, bank: list[Question]) -> str:
    """The markdown between a lesson's interview markers: its questions, numbered in bank order."""
    mine = [q for q in bank if stem in q.asked_in]
    items = [re.sub(r"\n(?=[^\n])", "\n   ", f"{n}. {render_answer(q)}") for n, q in enumerate(mine, 1)]
    tail = ("All of the course's questions, a quiz, flashcards and drills: "
            "[08 · interview preparation](08_interview_prep.ipynb). The questions and answers come from "
            "`tlcourse/interview_bank.json` (`python -m tlcourse build` renders them here).")
    return "\n\n".join([*items, tail])


_BLOCK = re.compile(r"<!-- tl:interview (\S+) -->\n.*?\n<!-- /tl:interview -->", re.S)


def sync_lessons(solutions: Path = SOLUTIONS, bank: list[Question] | None = None,
                 check: bool = False) -> list[str]:
    """Render the bank into every ``<!-- tl:interview STEM -->`` block of the solution notebooks.

    Returns the notebooks whose block was (with ``check``: would be) rewritten. Raises
    ValueError when a lesson has questions (``asked_in``) but no block, or a block names
    another notebook. Only markdown cells change: a lesson's code (and its ledger digest) stays.
    """
    bank = load_bank() if bank is None else bank
    stale = []
    for nb_path in lesson_notebooks(solutions):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        changed, found = False, False
        for cell in nb["cells"]:
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] != "markdown" or "<!-- tl:interview " not in src:
                continue
            found = True

            def fill(m: re.Match[str], stem: str = nb_path.stem) -> str:
                _require(m.group(1) == stem, f"{stem}.ipynb", f"its interview block names {m.group(1)!r}")
                return f"{BLOCK_START.format(stem)}\n{render_lesson_block(stem, bank)}\n{BLOCK_END}"

            new = _BLOCK.sub(fill, src)
            if new != src:
                cell["source"] = new.splitlines(keepends=True) if isinstance(cell["source"], list) else new
                changed = True
        _require(found or not any(nb_path.stem in q.asked_in for q in bank), nb_path.name,
                 f"the bank asks questions in it (asked_in) but it has no '{BLOCK_START.format(nb_path.stem)}' "
                 f"... '{BLOCK_END}' block: add one in its 'Interview questions' cell")
        if changed:
            stale.append(nb_path.name)
            if not check:
                write_atomic(nb_path, dump(nb))
    return stale


# ---------------------------------------------------------------------------------------------
# Quiz, flashcards, drills


class Quiz:
    """A multiple-choice quiz that keeps score; :meth:`widget` shows it, :meth:`answer` grades.

    Each learner sees the options in their own order (shuffled with ``progress.seed`` and the
    question id), the questions answered wrongly before first. ``answer`` takes the position
    shown (0 = the first option shown) or an option's stable id ("a", "b", ... in file order).
    """

    def __init__(self, items: list[QuizItem], progress: Progress | None = None) -> None:
        self.progress = progress or Progress()
        order = self.progress.first(q.id for q in items)
        self.items = sorted(items, key=lambda q: order.index(q.id))
        self.answers: dict[str, int] = {}  # question id -> chosen option (file index)

    def order(self, item: QuizItem) -> list[int]:
        """The file indices of ``item``'s options in the order this learner sees them."""
        perm = list(range(len(item.options)))
        random.Random(f"{self.progress.seed}/{item.id}").shuffle(perm)
        return perm

    def shown(self, item_id: str) -> list[tuple[str, str]]:
        """``(stable id, text)`` of a question's options, in the order shown."""
        item = self._item(item_id)
        return [(item.ids[i], item.options[i]) for i in self.order(item)]

    def _item(self, item_id: str) -> QuizItem:
        item = next((q for q in self.items if q.id == item_id), None)
        if item is None:
            raise KeyError(f"no quiz question {item_id!r}")
        return item

    def answer(self, item_id: str, choice: int | str) -> str:
        """Grade one answer (the latest answer to a question counts); return the explanation."""
        item = self._item(item_id)
        order = self.order(item)
        if isinstance(choice, str):
            if choice not in item.ids:
                raise ValueError(f"{item_id}: choose an option id {', '.join(item.ids)}, not {choice!r}")
            index = item.ids.index(choice)
        else:
            choice = whole_number(choice, f"{item_id}: the choice")
            if not 0 <= choice < len(order):
                raise ValueError(f"{item_id}: choose an option 0..{len(order) - 1}, not {choice}")
            index = order[choice]
        self.answers[item_id] = index
        self.progress.note(item_id, index == item.correct)
        shown = order.index(item.correct)
        verdict = "Right." if index == item.correct else (
            f"Not quite: the answer is ({chr(97 + shown)}) {item.options[item.correct]}.")
        return f"{verdict} {item.explanations[index]}"

    @property
    def score(self) -> tuple[int, int]:
        """(right answers, questions) so far."""
        right = sum(self.answers[q.id] == q.correct for q in self.items if q.id in self.answers)
        return right, len(self.items)

    def weak_topics(self) -> list[str]:
        """The topics of questions not (yet) answered right, sorted."""
        return sorted({q.topic for q in self.items if self.answers.get(q.id, -1) != q.correct})

    def summary(self) -> str:
        """One line: the score and which topics to revisit."""
        right, total = self.score
        weak = self.weak_topics()
        tail = f" Revisit: {', '.join(weak)}." if weak else " Nothing to revisit."
        return f"Score: {right} / {total}.{tail}"

    def widget(self) -> Any:
        """An ipywidgets view: one radio group and a check button per question, a live score."""
        import ipywidgets as w

        score = w.HTML(self.summary())
        rows = []
        for item in self.items:
            radio = w.RadioButtons(
                options=[(f"({chr(97 + k)}) {text}", k) for k, (_, text) in enumerate(self.shown(item.id))],
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
    """Question / model-answer cards: the learner's mistakes first, then a seeded random order.

    ``topics`` keeps only those topics (e.g. ``quiz.weak_topics()``); ``mark(known)`` records
    whether you knew the current card, so the ones you did not come back first next time.
    """

    def __init__(self, questions: list[Question], seed: int = 0, topics: Iterable[str] | None = None,
                 progress: Progress | None = None) -> None:
        wanted = None if topics is None else set(topics)
        cards = [q for q in questions if wanted is None or q.topic in wanted]
        if not cards:
            known = sorted({q.topic for q in questions})
            raise ValueError(f"no card has a topic in {sorted(wanted or [])}; the topics are: {', '.join(known)}")
        random.Random(seed).shuffle(cards)
        self.progress = progress or Progress()
        order = self.progress.first(q.id for q in cards)
        self.cards = sorted(cards, key=lambda q: order.index(q.id))
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

    def mark(self, known: bool) -> str:
        """Record whether you knew the current card's answer, then go to the next card."""
        self.progress.note(self.current.id, known)
        return self.next()

    def widget(self) -> Any:
        """An ipywidgets view with "flip", "knew it", "missed it" and "next" buttons."""
        import ipywidgets as w

        view = w.Textarea(value=self.text(), layout=w.Layout(width="100%", height="12em"),
                          disabled=True)
        buttons = {"flip": self.flip, "next": self.next, "knew it": lambda: self.mark(True),
                   "missed it": lambda: self.mark(False)}
        row = []
        for name, action in buttons.items():
            b = w.Button(description=name)
            b.on_click(lambda _, action=action: setattr(view, "value", action()))
            row.append(b)
        return w.VBox([view, w.HBox(row)])


class Drill:
    """A timed coding drill: :meth:`start` in its own cell starts the clock, :meth:`submit` stops it.

    The answer cell calls ``submit``, so the time measured is the learner's, from running the
    start cell to running the answer cell (a cell that started the clock itself would measure
    only how long it ran).
    """

    def __init__(self, name: str, minutes: float, progress: Progress | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.minutes = name, minutes
        self.progress = progress or Progress()
        self.clock = clock
        self.started: float | None = None
        self.seconds: float | None = None

    def start(self) -> str:
        """Start (or restart) the clock; return what to do next."""
        self.started, self.seconds = self.clock(), None
        return f"{self.name}: the clock runs ({self.minutes:g} minutes). Write the answer cell, then run it."

    def submit(self, answer: Any, test: Callable[[Any], str | None], hint: str) -> None:
        """Stop the clock and check ``answer`` (``tl.checks.exercise``: a wrong answer raises); print the
        time taken and keep it when the answer was right."""
        from .checks import exercise

        if self.started is None:
            print(f"{self.name}: the clock was not started: run the start cell above first (checking anyway).")
        elif answer is not None:
            self.seconds = self.clock() - self.started
        exercise(self.name, answer, test, hint)
        if self.seconds is not None:  # answered (None is not attempted) and right (a wrong answer raised)
            verdict = "within" if self.seconds <= 60 * self.minutes else "over"
            print(f"time: {self.seconds:.0f} s of {60 * self.minutes:.0f} ({verdict} the suggested time)")
            self.progress.drill_seconds[self.name] = round(self.seconds, 1)
            self.progress.save()

    def widget(self) -> Any:
        """A "start the clock" button (the start cell calls :meth:`start` itself when headless)."""
        import ipywidgets as w

        label = w.HTML()
        button = w.Button(description="start the clock")
        button.on_click(lambda _: setattr(label, "value", self.start()))
        return w.HBox([button, label])
