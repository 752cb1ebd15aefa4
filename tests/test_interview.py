"""Lesson 08's question bank, evidence, quiz, flashcards, drill clock and drill checks."""

import collections
import copy
import html
import json
import re
import shutil

import pytest
from markdown_it import MarkdownIt

import tlcourse.interview as iv

NB08 = iv.SOLUTIONS / "08_interview_prep.ipynb"


@pytest.fixture(scope="module")
def bank_data():
    return json.loads(iv.BANK_FILE.read_text())


@pytest.fixture(scope="module")
def quiz_data():
    return json.loads(iv.QUIZ_FILE.read_text())


def _cells(path):
    nb = json.loads(path.read_text())
    return [(c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for c in nb["cells"]]


def _jupyterlab_anchors(path):
    """Heading ids as JupyterLab makes them, computed independently of tlcourse: render each markdown
    cell, take every heading's text content, replace spaces with '-'."""
    md = MarkdownIt()
    out = set()
    for kind, src in _cells(path):
        if kind != "markdown":
            continue
        tokens = md.parse(src)
        for i, tok in enumerate(tokens):
            if tok.type == "heading_open":
                text = re.sub(r"<[^>]+>", "", md.renderInline(tokens[i + 1].content))
                out.add(html.unescape(text).replace(" ", "-"))
    return out


# ---------------------------------------------------------------------------------------------
# The bank


def test_shipped_bank_and_quiz_validate():
    bank, quiz = iv.load_bank(), iv.load_quiz()
    assert len(bank) >= 70 and len(quiz) >= 20
    assert {q.difficulty for q in bank} == set(iv.DIFFICULTIES)
    assert {q.topic for q in quiz} <= {q.topic for q in bank}, "a weak quiz topic must have flashcards"
    assert len([q for q in bank if q.topic == "system design"]) == 3
    assert all(q.template and len(q.rubric) >= 3 for q in bank if q.topic in ("system design", "project story"))


@pytest.mark.parametrize("change, message", [
    (lambda q: q.update(answer="too short"), "too short"),
    (lambda q: q.update(difficulty="easy"), "difficulty"),
    (lambda q: q.update(section="No such heading"), "has no heading"),
    (lambda q: q.update(lesson="99_missing"), "does not exist"),
    (lambda q: q.pop("topic"), "topic"),
    (lambda q: q.update(asked_in=["99_missing"]), "asked_in"),
    (lambda q: q.update(evidence=[{"lesson": "03_fine_tuning", "key": "fe_test"}]), "label"),
    (lambda q: q.update(evidence=[{"lesson": "99_x", "key": "k", "label": "l"}]), "not a notebook"),
    (lambda q: q.update(template={"problem": "x" * 30}), "only 'system design'"),
])
def test_bank_validator_rejects(bank_data, change, message):
    data = copy.deepcopy(bank_data)
    change(data[3])
    with pytest.raises(ValueError, match=message):
        iv.validate_bank(data)


@pytest.mark.parametrize("change, message", [
    (lambda q: q["template"].pop("serving"), "exactly the parts"),
    (lambda q: q["template"].update(metrics="short"), "too short"),
    (lambda q: q.update(rubric=["one", "two"]), "rubric"),
])
def test_bank_validator_rejects_bad_design_answers(bank_data, change, message):
    data = copy.deepcopy(bank_data)
    design = next(q for q in data if q["topic"] == "system design")
    change(design)
    with pytest.raises(ValueError, match=message):
        iv.validate_bank(data)


def test_bank_validator_rejects_duplicate_ids(bank_data):
    data = copy.deepcopy(bank_data)
    data[1]["id"] = data[0]["id"]
    with pytest.raises(ValueError, match="duplicate id"):
        iv.validate_bank(data)


@pytest.mark.parametrize("heading, anchor", [
    ("5. Rung 3 - full fine-tuning with `Trainer`", "5.-Rung-3---full-fine-tuning-with-Trainer"),
    ("From `train.py` to `YOLO(...).train(...)`", "From-train.py-to-YOLO(...).train(...)"),
    ("1. Definitions first (Pan & Yang 2010)", "1.-Definitions-first-(Pan-&-Yang-2010)"),
    ('What "unfreeze the top N blocks" means', 'What-"unfreeze-the-top-N-blocks"-means'),
    ("A *small* [link](x.ipynb) test", "A-small-link-test"),
])
def test_anchor_is_jupyterlabs_heading_id(heading, anchor):
    assert iv.anchor(heading) == anchor


def test_every_bank_link_resolves_to_a_heading_in_jupyterlabs_form():
    bank = iv.load_bank()
    anchors = {}
    for q in bank:
        target, fragment = q.link.split("#", 1)
        nb = iv.SOLUTIONS / target
        assert nb.is_file(), q.id
        if nb not in anchors:
            anchors[nb] = _jupyterlab_anchors(nb)
        assert fragment in anchors[nb], f"{q.id}: {q.link} has no target heading"
    # headings with markup are among the targets, and the old link form (spaces -> '-') misses them
    coded = [q for q in bank if "`" in q.section]
    assert coded, "no link to a heading with backticks: the test would not exercise them"
    for q in coded:
        assert q.section.replace(" ", "-") not in anchors[iv.SOLUTIONS / f"{q.lesson}.ipynb"]


def test_peft_zero_shot_and_lp_ft_answers_link_to_the_lesson_04_cells_that_measure_them():
    """Each answer's "shown in" link opens the section that runs the experiment (not full fine-tuning, not
    lesson 03), the heading has no markup to strip, and the answer cites that section's ledger keys."""
    bank = {q.id: q for q in iv.load_bank()}
    anchors = _jupyterlab_anchors(iv.SOLUTIONS / "04_bert_sentiment.ipynb")
    for qid, number, key in (("peft", "11.", "lora_test_acc"), ("zero-shot", "13.", "tweets_zero_shot_descriptions"),
                             ("lp-ft", "14.", "tweets_lpft")):
        q = bank[qid]
        target, fragment = q.link.split("#", 1)
        assert target == "04_bert_sentiment.ipynb" and fragment.startswith(number), (qid, q.link)
        assert fragment in anchors and fragment == q.section.replace(" ", "-"), (qid, q.link)
        assert "04_bert_sentiment" in q.asked_in, qid
        assert key in {e.key for e in q.evidence if e.lesson == "04_bert_sentiment"}, (qid, q.evidence)


def test_headings_skip_fenced_code():
    heads = iv.headings(iv.SOLUTIONS / "09_appendix_scaling.ipynb")
    assert "on every machine" not in heads and "2. Who sees which examples: `DistributedSampler`" in heads


def test_every_lesson_renders_its_questions_from_the_bank():
    bank = iv.load_bank()
    assert iv.sync_lessons(check=True) == [], "run python -m tlcourse build: lessons and bank disagree"
    for stem in {s for q in bank for s in q.asked_in}:
        text = "\n".join(src for kind, src in _cells(iv.SOLUTIONS / f"{stem}.ipynb") if kind == "markdown")
        for q in bank:
            if stem in q.asked_in:
                assert q.question in text and q.answer.split("\n")[0] in text, (stem, q.id)
        assert "<details>" in text


def test_sync_lessons_rewrites_a_changed_answer_and_rejects_a_missing_block(tmp_path):
    sol = tmp_path / "solutions"
    shutil.copytree(iv.SOLUTIONS, sol)
    bank = iv.load_bank()
    q = next(q for q in bank if "03_fine_tuning" in q.asked_in)
    changed = [iv.Question(**{**q.__dict__, "answer": "A changed answer, long enough to be one."})
               if b.id == q.id else b for b in bank]
    assert iv.sync_lessons(sol, changed, check=True) == ["03_fine_tuning.ipynb"]
    assert iv.sync_lessons(sol, changed) == ["03_fine_tuning.ipynb"]
    assert "A changed answer, long enough" in (sol / "03_fine_tuning.ipynb").read_text()
    assert iv.sync_lessons(sol, changed, check=True) == []
    nb = json.loads((sol / "05_yolo_detection.ipynb").read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        cell["source"] = re.sub(r"<!-- tl:interview .*?<!-- /tl:interview -->", "", src, flags=re.S)
    (sol / "05_yolo_detection.ipynb").write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="05_yolo_detection.ipynb.*no '<!-- tl:interview"):
        iv.sync_lessons(sol, bank)


def test_precision_fixes_of_the_answers():
    by_id = {q.id: q for q in iv.load_bank()}
    lp_ft = by_id["lp-ft"].answer
    assert "is exactly" not in lp_ft and "only the top blocks" in lp_ft
    assert "CLIP" in by_id["zero-shot"].answer and "prompt" in by_id["zero-shot"].answer
    for qid in ("seasonal-naive", "timeseries-transfer"):
        assert "one hour ahead" in by_id[qid].answer.lower() and "24 hours" in by_id[qid].answer
    assert "broadcast_buffers" in by_id["ddp-sync"].answer and "every" in by_id["ddp-sync"].answer


# ---------------------------------------------------------------------------------------------
# Evidence


def test_every_evidence_key_is_in_the_ledgers_cpu_profile():
    from tlcourse import ledger

    data = ledger.load()
    missing = [(q.id, e.lesson, e.key) for q in iv.load_bank() for e in q.evidence
               if iv.course_number(e, "cpu", data) is None]
    assert not missing, f"evidence keys the ledger does not have: {missing}"


FAKE_LEDGER = {"profiles": {"cpu": {"04_bert_sentiment": {"summary": {"values": {
    "finetune_test_acc": {"mean": 0.824, "std": 0.023, "min": 0.8, "max": 0.85, "n": 3}}}}}}}


def test_evidence_card_shows_course_and_learner():
    q = next(q for q in iv.load_bank() if q.id == "forgetting")
    card = iv.evidence_card(q, ledger=FAKE_LEDGER, mine={("bert_sentiment", "finetune_test_acc"): [0.79, 0.81]})
    assert "the course measured 0.824 +/- 0.023 (3 seeds, cpu profile); you measured 0.800 (mean of 2 runs)" in card
    assert "movies_after_tweets" in card and "the course has not measured it" in card
    assert "you have not run it yet (run 04_bert_sentiment from your workspace)" in card


def test_remember_writes_only_for_a_learner(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.setenv("TLCOURSE_WORKSPACE", str(ws))
    monkeypatch.delenv(iv.MY_NUMBERS_ENV, raising=False)
    assert iv.remember("fine_tuning", "cpu", 42, "fe_test", 0.78, cwd=tmp_path) is None
    assert not (ws / ".tlcourse").exists()
    path = iv.remember("fine_tuning", "cpu", 42, "fe_test", 0.78, cwd=ws)
    assert path == ws / ".tlcourse" / "my_numbers.jsonl"
    iv.remember("fine_tuning", "cpu", 43, "fe_test", 0.80, cwd=ws)
    with open(path, "a") as fh:
        fh.write('{"lesson": "fine_tuning", "key": "fe_te')  # a run killed mid-write
    assert iv.load_my_numbers(path) == {("fine_tuning", "fe_test"): [0.78, 0.80]}
    other = tmp_path / "mine.jsonl"
    monkeypatch.setenv(iv.MY_NUMBERS_ENV, str(other))
    assert iv.remember("x", "smoke", 1, "k", 1.0, cwd=tmp_path) == other


def test_sheet_and_export(tmp_path):
    bank = iv.load_bank()
    sheet = iv.my_numbers_sheet(bank, ledger=FAKE_LEDGER, mine={("bert_sentiment", "finetune_test_acc"): [0.81]})
    assert re.search(r"\n\| 04 \| [^|]+ \| 0\.824 \+/- 0\.023 \(n=3\) \| 0\.810 \(n=1\) \| [a-z-]+ \|\n", sheet)
    keys = {(e.lesson, e.key) for q in bank for e in q.evidence}
    assert sheet.count("\n| ") == len(keys) + 1  # one row per distinct key, plus the header
    md, page = iv.export_sheet(sheet, tmp_path)
    assert md.read_text() == sheet
    assert "<table>" in page.read_text() and "@page" in page.read_text() and "0.824" in page.read_text()


# ---------------------------------------------------------------------------------------------
# Quiz


@pytest.mark.parametrize("change, message", [
    (lambda q: q["options"][0].update(correct=True) or q["options"][1].update(correct=True),
     "exactly one correct"),
    (lambda q: [o.update(correct=False) for o in q["options"]], "exactly one correct"),
    (lambda q: q["options"][2].update(why=""), "no explanation"),
    (lambda q: q.update(options=q["options"][:1]), "2 to 26"),
    (lambda q: q.update(topic=""), "topic"),
    (lambda q: q["options"][0].update(correct="yes"), "true or false"),
])
def test_quiz_validator_rejects(quiz_data, change, message):
    data = copy.deepcopy(quiz_data)
    change(data[2])
    with pytest.raises(ValueError, match=message):
        iv.validate_quiz(data)


def test_quiz_correct_options_are_not_given_away():
    items = iv.load_quiz()
    positions = collections.Counter(q.correct for q in items)
    assert max(positions.values()) - min(positions.values()) <= 1 and len(positions) == 4, positions
    longest = [q.id for q in items if max(range(len(q.options)), key=lambda i: len(q.options[i])) == q.correct]
    assert len(longest) <= len(items) // 4, f"the correct option is the longest in {longest}"
    shown = collections.Counter()
    for seed in range(200):
        quiz = iv.Quiz(items, iv.Progress(seed=seed))
        for q in items:
            shown[quiz.order(q).index(q.correct)] += 1
    total = sum(shown.values())
    assert all(0.2 < n / total < 0.3 for n in shown.values()), shown


def test_quiz_order_is_stable_per_learner_and_differs_between_learners():
    items = iv.load_quiz()
    a, b = iv.Quiz(items, iv.Progress(seed=1)), iv.Quiz(items, iv.Progress(seed=1))
    assert [a.shown(q.id) for q in items] == [b.shown(q.id) for q in items]
    c = iv.Quiz(items, iv.Progress(seed=2))
    assert [a.shown(q.id) for q in items] != [c.shown(q.id) for q in items]
    assert sorted(a.shown(items[0].id)) == sorted(zip(items[0].ids, items[0].options, strict=True))


def test_quiz_every_question_right_and_wrong():
    items = iv.load_quiz()
    quiz = iv.Quiz(items, iv.Progress(seed=3))
    for item in items:
        wrong = (item.correct + 1) % len(item.options)
        text = quiz.answer(item.id, item.ids[wrong])
        shown_right = quiz.order(item).index(item.correct)
        assert text.startswith(f"Not quite: the answer is ({chr(97 + shown_right)})")
        assert item.explanations[wrong] in text
    assert quiz.score == (0, len(items))
    assert all(q.topic in quiz.summary() for q in items)
    for item in items:
        text = quiz.answer(item.id, quiz.order(item).index(item.correct))  # by position shown
        assert text.startswith("Right.") and item.explanations[item.correct] in text
    assert quiz.score == (len(items), len(items))
    assert quiz.summary().endswith("Nothing to revisit.") and quiz.weak_topics() == []
    with pytest.raises(ValueError, match="choose an option"):
        quiz.answer(items[0].id, 99)
    with pytest.raises(ValueError, match="option id"):
        quiz.answer(items[0].id, "z")
    with pytest.raises(KeyError):
        quiz.answer("nope", 0)


def test_quiz_widget_click_grades():
    quiz = iv.Quiz(iv.load_quiz()[:2], iv.Progress(seed=5))
    box = quiz.widget()
    first = box.children[0]
    radio, button, out = first.children[1], first.children[2], first.children[3]
    button.click()
    assert "choose an option" in out.value
    item = quiz.items[0]
    assert radio.options[0][0].endswith(quiz.shown(item.id)[0][1])
    radio.value = quiz.order(item).index(item.correct)
    button.click()
    assert out.value.startswith("Right.") and "1 / 2" in box.children[-1].value


def test_mistakes_come_back_first_next_time(tmp_path):
    path = tmp_path / "interview.json"
    items = iv.load_quiz()
    progress = iv.Progress.load(path)
    assert iv.Progress.load(path).seed == progress.seed, "the seed must be kept from the first session"
    quiz = iv.Quiz(items, progress)
    last = items[-1]
    quiz.answer(last.id, last.ids[(last.correct + 1) % len(last.ids)])
    again = iv.Progress.load(path)
    assert again.seed == progress.seed and again.mistakes == {last.id: 1}
    assert iv.Quiz(items, again).items[0].id == last.id
    iv.Quiz(items, again).answer(last.id, last.ids[last.correct])
    assert iv.Progress.load(path).mistakes == {}


def test_an_unreadable_record_is_moved_aside_not_lost(tmp_path, capsys):
    path = tmp_path / "interview.json"
    path.write_text("{not json")
    progress = iv.Progress.load(path)
    aside = list(tmp_path.glob("interview.json.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{not json" and "moved to" in capsys.readouterr().out
    progress.note("x", False)
    assert json.loads(path.read_text())["mistakes"] == {"x": 1}


# ---------------------------------------------------------------------------------------------
# Flashcards


def test_flashcards_flip_next_and_all_cards():
    bank = iv.load_bank()
    cards = iv.Flashcards(bank, seed=1)
    assert sorted(q.id for q in cards.cards) == sorted(q.id for q in bank)
    assert iv.Flashcards(bank, seed=1).cards == cards.cards  # seeded order
    first = cards.current
    assert first.answer not in cards.text()
    assert first.answer in cards.flip()
    second = cards.next()
    assert cards.current is not first and not cards.flipped and cards.current.question in second
    for _ in range(len(bank) - 1):
        cards.next()
    assert cards.current is first  # wraps around
    w = cards.widget()
    w.children[1].children[0].click()
    assert first.answer in w.children[0].value


def test_flashcards_filter_by_weak_topic_and_missed_cards_first(tmp_path):
    bank = iv.load_bank()
    quiz = iv.Quiz(iv.load_quiz(), iv.Progress(seed=0))
    for item in quiz.items:
        right = item.topic != "risks"
        quiz.answer(item.id, item.ids[item.correct if right else (item.correct + 1) % len(item.ids)])
    assert quiz.weak_topics() == ["risks"]
    progress = iv.Progress.load(tmp_path / "p.json")
    cards = iv.Flashcards(bank, topics=quiz.weak_topics(), progress=progress)
    assert {c.topic for c in cards.cards} == {"risks"}
    assert len(cards.cards) == sum(q.topic == "risks" for q in bank)
    missed = cards.cards[-1]
    for _ in range(len(cards.cards) - 1):
        cards.mark(True)
    cards.mark(False)
    again = iv.Flashcards(bank, topics=["risks"], progress=iv.Progress.load(tmp_path / "p.json"))
    assert again.current.id == missed.id
    with pytest.raises(ValueError, match="the topics are"):
        iv.Flashcards(bank, topics=["no such topic"])


# ---------------------------------------------------------------------------------------------
# The drill clock, in the class and in lesson 08


def test_drill_clock_runs_from_start_to_submit(capsys):
    now = [100.0]
    drill = iv.Drill("D", 5, iv.Progress(seed=0), clock=lambda: now[0])
    drill.submit(None, lambda a: None, "hint")
    assert drill.seconds is None and "run the start cell" in capsys.readouterr().out
    drill.start()
    now[0] = 190.0
    drill.submit(None, lambda a: None, "hint")  # not attempted: the clock keeps running
    assert drill.seconds is None
    now[0] = 400.0
    assert drill.submit(1, lambda a: None, "hint") is None  # a cell ending with it echoes nothing
    assert drill.seconds == 300.0 and "time: 300 s of 300 (within" in capsys.readouterr().out
    assert drill.progress.drill_seconds == {"D": 300.0}
    drill.start()
    now[0] = 500.0
    with pytest.raises(AssertionError, match="wrong"):
        drill.submit(1, lambda a: "wrong", "hint")
    assert drill.progress.drill_seconds == {"D": 300.0}  # a wrong answer's time is not kept


def test_lesson08_drills_start_the_clock_in_a_separate_cell():
    cells = [src for kind, src in _cells(NB08) if kind == "code"]
    clock = re.compile(r"perf_counter|time\.time\(|monotonic\(|\.start\(\)")
    for src in cells:
        if "# BEGIN SOLUTION" in src:
            assert not clock.search(src), f"an answer cell starts or reads a clock:\n{src[:200]}"
    submitted = 0
    for n, src in enumerate(cells):
        for var in re.findall(r"(\w+)\.submit\(", src):
            submitted += 1
            assert "# BEGIN SOLUTION" in src, f"{var}.submit is not in an answer cell"
            assert any(f"{var}.start()" in earlier for earlier in cells[:n]), f"{var} is never started before"
    assert submitted >= 10
    assert not any("checks.exercise(" in src and "Drill" in src for src in cells)


def test_lesson08_config_shows_every_flashcard():
    from tlcourse.profiles import config

    for profile in ("smoke", "cpu", "full"):
        assert not hasattr(config("interview_prep", profile=profile), "flashcards")
    text = "\n".join(src for kind, src in _cells(NB08) if kind == "code")
    assert "Flashcards(bank," in text and "bank[:" not in text



def test_ledger_record_keeps_a_learners_number_in_the_workspace(tmp_path, monkeypatch):
    """A lesson run from the workspace: tl.ledger.record also writes the learner's own file."""
    from types import SimpleNamespace

    from tlcourse import ledger

    monkeypatch.delenv(iv.MY_NUMBERS_ENV, raising=False)
    monkeypatch.delenv("TLCOURSE_RECORD", raising=False)
    monkeypatch.setenv("TLCOURSE_WORKSPACE", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    cfg = SimpleNamespace(profile="cpu", lesson="fine_tuning", seed=7)
    ledger.record(cfg, "k", 0.5, quiet=True)
    lines = (tmp_path / ".tlcourse" / "my_numbers.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["key"] == "k" and json.loads(lines[0])["value"] == 0.5
    monkeypatch.chdir(tmp_path.parent)
    ledger.record(cfg, "k2", 0.25, quiet=True)  # not from the workspace: nothing written
    assert len((tmp_path / ".tlcourse" / "my_numbers.jsonl").read_text().splitlines()) == 1
