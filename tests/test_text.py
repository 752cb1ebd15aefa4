"""Tests for tlcourse.data.text (sentiment snippet parsing, labels, splits) and tl.checks.nlp."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlcourse.data import text as T


def write(path, lines, newline="\r\n", encoding="utf-8"):
    path.write_bytes(newline.join(lines).encode(encoding))
    return path


def make_root(tmp_path, n=40):
    """A fake hutto_ICWSM_2014 folder: every domain, ratings spread over [-3, 3]."""
    root = tmp_path / T.SUBFOLDER
    root.mkdir()
    for k, (domain, name) in enumerate(T.DOMAIN_FILES.items()):
        lines = [f"{k}_{i}\t{-3 + 6 * i / (n - 1):.3f}\t{domain} text number {i}" for i in range(n)]
        write(root / name, lines)
    return root


def test_read_ground_truth_parses_crlf_utf8_and_unescapes_html(tmp_path):
    path = write(
        tmp_path / "x.txt",
        ["1\t2.5\tThe clichés &amp; more ", "2\t-1.25\tbad :(", "", "3\t0\tA.T.&amp;amp;T. &lt;3"],
    )
    df = T.read_ground_truth(path, "movies")
    assert list(df.columns) == ["domain", "id", "text", "rating"]
    assert df["text"].tolist() == ["The clichés & more", "bad :(", "A.T.&T. <3"]
    assert df["rating"].tolist() == [2.5, -1.25, 0.0]
    assert (df["domain"] == "movies").all()


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("7\t1.5", "expected 3 tab-separated fields"),
        ("7\t1.5\tone\ttab too many", "found 4"),
        ("7\tgood\tnice film", "must be a decimal number written with the digits 0-9, like -1.25; got 'good'"),
        ("7\t4.5\tnice film", "must lie in [-4, 4]"),
        ("7\tnan\tnice film", "got 'nan'"),
        ("7\t\u0661.5\tnice film", "digits 0-9"),  # Arabic-Indic one: float() reads it as 1.5
        ("7\t1_0\tnice film", "digits 0-9"),  # float() reads 10
        ("7\t1e0\tnice film", "digits 0-9"),
        ("\t1.0\tnice film", "the ID"),
        ("7\t1.0\t   ", "the text"),
        ("1\t1.0\tsame id again", "already appeared on line 1"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, bad_line, expected):
    path = write(tmp_path / "tweets_GroundTruth.txt", ["1\t0.5\tfine", "2\t-0.5\tok", bad_line])
    with pytest.raises(ValueError) as info:
        T.read_ground_truth(path, "tweets")
    message = str(info.value)
    assert f"{path}, line 3" in message
    assert expected in message


def test_utf8_bom_is_not_part_of_the_first_id(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + b"1\t2.5\tgood\r\n2\t-1\tbad")
    df = T.read_ground_truth(path, "movies")
    assert df["id"].tolist() == ["1", "2"]
    path.write_bytes(b"\xef\xbb\xbf" + b"1\t2.5\tgood\r\n1\t-1\tbad")
    with pytest.raises(ValueError, match="ID '1' already appeared on line 1"):  # the same ID
        T.read_ground_truth(path, "movies")


def test_non_utf8_line_is_reported_with_its_line(tmp_path):
    path = write(tmp_path / "x.txt", ["1\t0.5\tfine", "2\t1.0\tclich\u00e9"], encoding="cp1252")
    with pytest.raises(ValueError, match=r"x\.txt, line 2: not valid UTF-8"):
        T.read_ground_truth(path, "movies")


def test_empty_file_is_an_error(tmp_path):
    path = write(tmp_path / "x.txt", ["", ""])
    with pytest.raises(ValueError, match="no rows"):
        T.read_ground_truth(path, "movies")


def test_load_sentiment_domains_all_and_subset(tmp_path):
    root = make_root(tmp_path)
    df = T.load_sentiment_domains(root)
    assert sorted(df["domain"].unique()) == sorted(T.DOMAIN_FILES)
    assert len(df) == 4 * 40
    sub = T.load_sentiment_domains(root, domains=["tweets"])
    assert set(sub["domain"]) == {"tweets"}
    with pytest.raises(ValueError, match="Unknown domain"):
        T.load_sentiment_domains(root, domains=["imdb"])


def test_load_dedupes_within_a_domain(tmp_path):
    root = make_root(tmp_path)
    write(root / T.DOMAIN_FILES["amazon"], ["a\t1.0\tsame", "b\t2.0\tsame", "c\t-2\tother"])
    df = T.load_sentiment_domains(root, domains=["amazon"])
    assert df["id"].tolist() == ["a", "c"]
    assert len(T.load_sentiment_domains(root, domains=["amazon"], dedupe=False)) == 3


def test_missing_file_says_how_to_fetch(tmp_path):
    root = make_root(tmp_path)
    (root / T.DOMAIN_FILES["nyt"]).unlink()
    with pytest.raises(FileNotFoundError, match="python -m tlcourse fetch vader_sentiment_ratings"):
        T.load_sentiment_domains(root)


def test_label_by_threshold_drops_the_neutral_middle():
    df = pd.DataFrame({"rating": [-2.0, -1.0, -0.99, 0.0, 0.99, 1.0, 3.0]})
    out = T.label_by_threshold(df, pos=1.0, neg=-1.0)
    assert out["rating"].tolist() == [-2.0, -1.0, 1.0, 3.0]
    assert out["label"].tolist() == [0, 0, 1, 1]
    assert len(df) == 7  # the input is not modified
    with pytest.raises(ValueError, match="neg < pos"):
        T.label_by_threshold(df, pos=0.5, neg=0.5)


def labelled(n_pos, n_neg):
    ratings = [2.0] * n_pos + [-2.0] * n_neg
    df = pd.DataFrame({"text": [f"t{i}" for i in range(len(ratings))], "rating": ratings})
    return T.label_by_threshold(df)


def test_split_domain_sizes_disjoint_stratified_deterministic():
    df = labelled(300, 100)
    sizes = {"test": 100, "val": 40, "train": 200}
    a = T.split_domain(df, seed=1, sizes=sizes)
    b = T.split_domain(df, seed=1, sizes=sizes)
    assert {k: len(v) for k, v in a.items()} == sizes
    seen = [set(v["text"]) for v in a.values()]
    assert sum(len(s) for s in seen) == len(set().union(*seen))  # disjoint
    assert a["test"]["label"].sum() == 75  # 3:1 class mix kept exactly
    assert a["val"]["label"].sum() == 30
    for k in sizes:
        pd.testing.assert_frame_equal(a[k], b[k])
    c = T.split_domain(df, seed=2, sizes=sizes)
    assert set(c["test"]["text"]) != set(a["test"]["text"])


def test_split_domain_test_first_stays_fixed_when_train_size_changes():
    df = labelled(200, 200)
    small = T.split_domain(df, seed=0, sizes={"test": 50, "train": 20})
    large = T.split_domain(df, seed=0, sizes={"test": 50, "train": 300})
    pd.testing.assert_frame_equal(small["test"], large["test"])


def test_split_domain_can_use_every_row_and_rejects_too_much():
    df = labelled(7, 4)
    parts = T.split_domain(df, seed=3, sizes={"a": 3, "b": 3, "c": 5})
    assert sorted(pd.concat(parts.values())["text"]) == sorted(df["text"])
    with pytest.raises(ValueError, match="only 11 are available"):
        T.split_domain(df, seed=3, sizes={"a": 6, "b": 6})
    with pytest.raises(ValueError, match="non-negative integers"):
        T.split_domain(df, seed=3, sizes={"a": 2.5})
    with pytest.raises(ValueError, match="'label' column"):
        T.split_domain(df.drop(columns="label"), seed=3, sizes={"a": 1})


def test_stratified_counts_exact_total():
    counts = T._stratified_counts(10, {0: 1, 1: 1, 2: 1})
    assert sum(counts.values()) == 10
    assert sorted(counts.values()) == [3, 3, 4]
    assert T._stratified_counts(0, {0: 0, 1: 0}) == {0: 0, 1: 0}


def test_real_files_parse_when_fetched():
    """The shipped files parse cleanly (skipped when the asset is not in the cache)."""
    from tlcourse import assets

    if not assets.is_present(T.ASSET_ID):
        pytest.skip("asset vader_sentiment_ratings not fetched")
    df = T.load_sentiment_domains()
    counts = df.groupby("domain").size().to_dict()
    assert counts == {"amazon": 3697, "movies": 10603, "nyt": 5118, "tweets": 4200}
    assert np.isfinite(df["rating"]).all()
    assert not df["text"].str.contains("&amp;").any()


# --------------------------------------------------------------------------- tl.checks.nlp


def _metrics(average="macro", extra=True):
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    def compute_metrics(eval_pred):
        logits, labels = eval_pred
        preds = logits.argmax(axis=-1)
        out = {"accuracy": accuracy_score(labels, preds),
               "f1": f1_score(labels, preds, average=average)}
        if extra:
            out["balanced_accuracy"] = balanced_accuracy_score(labels, preds)
        return out

    return compute_metrics


def test_compute_metrics_problem_accepts_a_right_answer():
    from tlcourse.checks import nlp

    assert nlp.compute_metrics_problem(_metrics()) is None
    assert nlp.compute_metrics_problem(_metrics(extra=False), required=("accuracy", "f1")) is None


def test_compute_metrics_problem_explains_mistakes():
    from tlcourse.checks import nlp

    assert "average='macro'" in nlp.compute_metrics_problem(_metrics(average="binary"))
    assert "lacks ['balanced_accuracy']" in nlp.compute_metrics_problem(_metrics(extra=False))
    assert "expected a function" in nlp.compute_metrics_problem(None)
    assert "must return a dict" in nlp.compute_metrics_problem(lambda ev: 0.5)
    assert "raised ZeroDivisionError" in nlp.compute_metrics_problem(lambda ev: 1 / 0)
    share_positive = lambda ev: {  # noqa: E731 - "accuracy" computed as the positive rate
        "accuracy": float(np.mean(ev.predictions.argmax(-1) == 1)),
        "f1": 0.0, "balanced_accuracy": 0.0,
    }
    assert "'accuracy' is 0.5000 on the test batch, expected 0.6250" in (
        nlp.compute_metrics_problem(share_positive)
    )


def test_reference_metrics_values():
    from tlcourse.checks import nlp

    ref = nlp.reference_metrics(nlp._LOGITS, nlp._LABELS)
    assert ref["accuracy"] == pytest.approx(5 / 8)
    assert ref["f1"] == pytest.approx((2 / 3 + 4 / 7) / 2)  # positive F1 2/3, negative F1 4/7
    assert ref["balanced_accuracy"] == pytest.approx((3 / 5 + 2 / 3) / 2)


def test_probe_accuracy_problem():
    """Symmetric 1-D data: the probe's boundary is 0, so its validation accuracy is 3/4 by hand."""
    from tlcourse.checks import nlp

    X_train, y_train = np.array([[-2.0], [-1.0], [1.0], [2.0]]), np.array([0, 0, 1, 1])
    X_val, y_val = np.array([[-3.0], [-0.5], [0.5], [3.0]]), np.array([0, 1, 1, 1])  # -0.5 is missed
    args = (X_train, y_train, X_val, y_val)
    assert nlp.probe_accuracy_problem(0.75, *args, C=1.0) is None
    assert "expected 0.7500" in nlp.probe_accuracy_problem(1.0, *args, C=1.0)
    assert "a number" in nlp.probe_accuracy_problem("0.8", *args, C=1.0)
    assert "between 0 and 1" in nlp.probe_accuracy_problem(80.0, *args, C=1.0)
