"""Lesson 08's question bank, quiz, flashcards and drill checks."""

import copy
import json

import pytest

import tlcourse.interview as iv
from tlcourse.checks import interview as drills


@pytest.fixture(scope="module")
def bank_data():
    return json.loads(iv.BANK_FILE.read_text())


@pytest.fixture(scope="module")
def quiz_data():
    return json.loads(iv.QUIZ_FILE.read_text())


def test_shipped_bank_and_quiz_validate():
    bank, quiz = iv.load_bank(), iv.load_quiz()
    assert len(bank) >= 20 and len(quiz) >= 10
    assert {q.difficulty for q in bank} == set(iv.DIFFICULTIES)


@pytest.mark.parametrize("change, message", [
    (lambda q: q.update(answer="too short"), "too short"),
    (lambda q: q.update(difficulty="easy"), "difficulty"),
    (lambda q: q.update(section="No such heading"), "has no heading"),
    (lambda q: q.update(lesson="99_missing"), "does not exist"),
    (lambda q: q.pop("topic"), "topic"),
])  # fmt: skip
def test_bank_validator_rejects(bank_data, change, message):
    data = copy.deepcopy(bank_data)
    change(data[3])
    with pytest.raises(ValueError, match=message):
        iv.validate_bank(data)


def test_bank_validator_rejects_duplicate_ids(bank_data):
    data = copy.deepcopy(bank_data)
    data[1]["id"] = data[0]["id"]
    with pytest.raises(ValueError, match="duplicate id"):
        iv.validate_bank(data)


@pytest.mark.parametrize("change, message", [
    (lambda q: q["options"][0].update(correct=True) or q["options"][1].update(correct=True),
     "exactly one correct"),
    (lambda q: [o.update(correct=False) for o in q["options"]], "exactly one correct"),
    (lambda q: q["options"][2].update(why=""), "no explanation"),
    (lambda q: q.update(options=q["options"][:1]), "2 or more"),
    (lambda q: q.update(topic=""), "topic"),
    (lambda q: q["options"][0].update(correct="yes"), "true or false"),
])  # fmt: skip
def test_quiz_validator_rejects(quiz_data, change, message):
    data = copy.deepcopy(quiz_data)
    change(data[2])
    with pytest.raises(ValueError, match=message):
        iv.validate_quiz(data)


def test_quiz_every_question_right_and_wrong():
    items = iv.load_quiz()
    quiz = iv.Quiz(items)
    for item in items:
        wrong = (item.correct + 1) % len(item.options)
        text = quiz.answer(item.id, wrong)
        assert text.startswith("Not quite") and item.explanations[wrong] in text
    assert quiz.score == (0, len(items))
    assert all(q.topic in quiz.summary() for q in items)
    for item in items:
        text = quiz.answer(item.id, item.correct)
        assert text.startswith("Right.") and item.explanations[item.correct] in text
    assert quiz.score == (len(items), len(items))
    assert quiz.summary().endswith("Nothing to revisit.")
    with pytest.raises(ValueError, match="choose an option"):
        quiz.answer(items[0].id, 99)
    with pytest.raises(KeyError):
        quiz.answer("nope", 0)


def test_quiz_widget_click_grades():
    quiz = iv.Quiz(iv.load_quiz()[:2])
    box = quiz.widget()
    first = box.children[0]
    radio, button, out = first.children[1], first.children[2], first.children[3]
    button.click()
    assert "choose an option" in out.value
    radio.value = quiz.items[0].correct
    button.click()
    assert out.value.startswith("Right.") and "1 / 2" in box.children[-1].value


def test_flashcards_flip_and_next():
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


def test_drill_replaced_head():
    import torchvision
    from torch import nn

    model = torchvision.models.mobilenet_v2(weights=None)
    ref = {k: v.clone() for k, v in model.state_dict().items()}
    good = copy.deepcopy(model)
    good.requires_grad_(False)
    good.classifier[1] = nn.Linear(good.last_channel, 5)
    assert drills.replaced_head(good, 5, ref) is None
    unfrozen = copy.deepcopy(model)
    unfrozen.classifier[1] = nn.Linear(unfrozen.last_channel, 5)
    assert "still train" in drills.replaced_head(unfrozen, 5, ref)
    frozen_head = copy.deepcopy(good)
    frozen_head.requires_grad_(False)
    assert "head is frozen" in drills.replaced_head(frozen_head, 5, ref)
    assert "has 5 outputs" in drills.replaced_head(good, 7, ref)
    changed = copy.deepcopy(good)
    with __import__("torch").no_grad():
        changed.features[0][0].weight.add_(1.0)
    assert "changed" in drills.replaced_head(changed, 5, ref)


def _keras_pair():
    import keras

    base = keras.Sequential([
        keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, name="c1"),
        keras.layers.BatchNormalization(name="b1"), keras.layers.Conv2D(4, 3, name="c2"),
        keras.layers.BatchNormalization(name="b2"), keras.layers.GlobalAveragePooling2D(),
    ])  # fmt: skip
    model = keras.Sequential([base, keras.layers.Dense(3)])
    base.trainable = False
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return keras, base, model


def test_drill_keras_two_stage():
    keras, base, model = _keras_pair()
    assert "c2 should be trainable" in drills.keras_two_stage(model, base, 2, 1e-3)
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name in ("c2", "b2")
    assert "b2 is trainable" in drills.keras_two_stage(model, base, 2, 1e-3)
    base.get_layer("b2").trainable = False
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    assert "10x less" in drills.keras_two_stage(model, base, 2, 1e-3)
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
    assert drills.keras_two_stage(model, base, 2, 1e-3) is None
    base.get_layer("c1").trainable = True
    assert "c1 should be frozen" in drills.keras_two_stage(model, base, 2, 1e-3)


def test_decision_report_choice():
    table = {"a": {"val": 0.80, "test": 0.70}, "b": {"val": 0.75, "test": 0.78}}
    assert drills.report_choice(("a", 0.70), table) is None
    assert "best *test*" in drills.report_choice(("b", 0.78), table)
    assert "report the chosen option's test accuracy" in drills.report_choice(("a", 0.80), table)
    assert "validation accuracy" in drills.report_choice(("b", 0.70), {**table, "b": {"val": 0.7, "test": 0.7}})
    assert "tuple" in drills.report_choice("a", table)
    assert "not one of" in drills.report_choice(("c", 0.1), table)
