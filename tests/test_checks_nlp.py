"""Tests for the lesson 04 exercise checks in tlcourse.checks.nlp (threshold, head, pooling decision)."""

from __future__ import annotations

import numpy as np
import pytest


def test_loose_label_problem_counts_both_tails():
    from tlcourse.checks import nlp

    ratings = np.array([-2.0, -0.6, -0.2, 0.0, 0.4, 0.5, 1.5])  # 4 of 7 at |r| >= 0.5
    assert nlp.loose_label_problem(4, ratings, pos=0.5, neg=-0.5) is None
    assert "every snippet" in nlp.loose_label_problem(7, ratings, pos=0.5, neg=-0.5)
    assert "positives only" in nlp.loose_label_problem(2, ratings, pos=0.5, neg=-0.5)
    assert "expected an int" in nlp.loose_label_problem(4.0, ratings, pos=0.5, neg=-0.5)
    assert "is not the number" in nlp.loose_label_problem(5, ratings, pos=0.5, neg=-0.5)


@pytest.fixture(scope="module")
def tiny_bert():
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=2)
    model = BertForSequenceClassification(config).eval()
    batch = {"input_ids": torch.tensor([[2, 5, 7, 3, 0], [2, 9, 3, 0, 0]]),
             "attention_mask": torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])}
    return model, batch


def test_head_logits_problem_accepts_cls_pooler_linear(tiny_bert):
    import torch

    from tlcourse.checks import nlp

    model, batch = tiny_bert
    with torch.no_grad():
        tokens = model.base_model(**batch).last_hidden_state
        right = model.classifier(model.dropout(model.base_model.pooler(tokens)))
        no_pooler = model.classifier(tokens[:, 0])
        mask = batch["attention_mask"].unsqueeze(-1)
        mean = (tokens * mask).sum(1) / mask.sum(1)
        from_mean = model.classifier(model.base_model.pooler(mean.unsqueeze(1)))
    assert nlp.head_logits_problem(right, model, batch) is None
    assert "pooler" in nlp.head_logits_problem(no_pooler, model, batch)
    assert "mean of the tokens" in nlp.head_logits_problem(from_mean, model, batch)
    assert "shape" in nlp.head_logits_problem(right[:1], model, batch)
    assert "expected a tensor" in nlp.head_logits_problem([[0.0, 1.0]], model, batch)
    assert "differ" in nlp.head_logits_problem(right + 1.0, model, batch)


def test_pooling_choice_requires_the_validation_choice():
    from tlcourse.checks import nlp

    rng = np.random.default_rng(0)
    y = {k: rng.integers(0, 2, n) for k, n in (("train", 60), ("val", 40), ("test", 40))}
    # "mean" features carry the label, "[CLS]" features are noise: mean must win on validation
    feats = {k: (np.c_[y[k] + 0.3 * rng.standard_normal(len(y[k])), rng.standard_normal(len(y[k]))],
                 rng.standard_normal((len(y[k]), 2))) for k in y}
    test = nlp.pooling_choice(feats, y, C=1.0)
    from sklearn.linear_model import LogisticRegression

    mean_test = LogisticRegression(C=1.0, max_iter=3000).fit(feats["train"][0], y["train"]).score(
        feats["test"][0], y["test"])
    assert test(("mean", mean_test)) is None
    assert "validation accuracy" in test(("[CLS]", 0.5))
    assert "its test accuracy" in test(("mean", mean_test - 0.1))
    assert "not one of the candidates" in test(("max", mean_test))


def test_exercise_factories_give_the_tests_the_lesson_passes_to_exercise(tiny_bert):
    import torch

    from tlcourse.checks import nlp

    ratings = np.array([-2.0, -0.6, -0.2, 0.0, 0.4, 0.5, 1.5])
    loose = nlp.loose_labels(ratings, pos=0.5, neg=-0.5)
    assert loose(4) is None and "every snippet" in loose(7)
    assert nlp.metrics_function() is nlp.compute_metrics_problem
    model, batch = tiny_bert
    head = nlp.head_logits(model, batch)
    with torch.no_grad():
        right = model(**batch).logits
    assert head(right) is None and "differ" in head(right + 1.0)
