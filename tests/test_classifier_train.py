"""Unit tests for classifiers/: preprocessing, metrics, data reading, training and its errors."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from classifiers import DataError, TrainConfig, TrainingError, load_model, metrics, preprocess, train
from classifiers.data import read_source
from tests.conftest import REPO

GOOD = "the of and research analysis theory evidence history science method study careful".split()
BAD = "click here buy now cheap free login cookie subscribe menu home sale".split()

# Small model, modest learning rate (NOTES.md: tiny sets can diverge at high rates).
SMALL = dict(dim=16, bucket=10_000, lr=0.1, epoch=5)


def _docs(vocab, n, seed, sep=" "):
    rng = random.Random(seed)
    return [sep.join(rng.choice(vocab) for _ in range(30)) + f" doc{i}" for i in range(n)]


def train_synthetic_model(base) -> str:
    """Train a small separable model (label hq for GOOD words) in ``base``; its path."""
    (base / "pos.txt").write_text("\n".join(_docs(GOOD, 150, 1)), encoding="utf-8")
    (base / "neg.txt").write_text("\n".join(_docs(BAD, 150, 2)), encoding="utf-8")
    train([str(base / "pos.txt")], [str(base / "neg.txt")], str(base / "model"), TrainConfig(**SMALL))
    return str(base / "model" / "model.bin")


@pytest.fixture
def sets(tmp_path):
    pos = tmp_path / "pos.txt"
    docs = _docs(GOOD, 150, 1)
    for i in range(0, 150, 10):
        docs[i] += " __label__spam"  # text that looks like a label must not add a class
    pos.write_text("\n".join(docs) + "\n", encoding="utf-8")
    neg = tmp_path / "neg.jsonl"
    with open(neg, "w", encoding="utf-8") as f:
        for d in _docs(BAD, 150, 2, sep="\n"):  # multi-line documents, as web pages are
            f.write(json.dumps({"text": d}) + "\n")
    return str(pos), str(neg)


# ------------------------------------------------------------------ preprocessing


def test_preprocess_lowercases_and_flattens_whitespace():
    assert preprocess("  Hello\nWORLD\r\n\tfoo\u2028bar\x00baz  ") == "hello world foo bar baz"


def test_preprocess_defuses_label_prefix():
    assert preprocess("see __label__en and x__label__y") == "see _label_en and x_label_y"


def test_preprocess_is_idempotent():
    t = "A\n\nB  C\tD"
    assert preprocess(preprocess(t)) == preprocess(t) == "a b c d"


# ------------------------------------------------------------------ metrics


def test_auc_extremes_and_ties():
    assert metrics.auc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]) == 1.0
    assert metrics.auc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]) == 0.0
    assert metrics.auc([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0]) == 0.5


def test_auc_matches_pairwise_count():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 20, 300) / 20.0  # many ties
    labels = rng.random(300) < 0.4
    pos, neg = scores[labels], scores[~labels]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert metrics.auc(scores, labels) == pytest.approx(wins / (len(pos) * len(neg)))


def test_auc_needs_both_classes():
    with pytest.raises(ValueError, match="at least one positive and one negative"):
        metrics.auc([0.1, 0.2], [1, 1])


def test_threshold_for_keep_rate():
    scores = [0.1, 0.9, 0.5, 0.7, 0.3, 0.2, 0.8, 0.4, 0.6, 0.0]
    assert metrics.threshold_for_keep_rate(scores, 0.3) == 0.7
    assert metrics.threshold_for_keep_rate(scores, 0.25) == 0.7  # ceil(2.5) = 3 kept
    assert metrics.threshold_for_keep_rate(scores, 1.0) == 0.0
    kept = sum(s >= metrics.threshold_for_keep_rate(scores, 0.1) for s in scores)
    assert kept == 1


def test_pareto_keep_rate_matches_simulation():
    scores = np.array([0.2, 0.5, 0.9, 1.0])
    rng = np.random.default_rng(0)
    draws = rng.pareto(9.0, (200_000, 4))
    simulated = (draws > 1 - scores).mean()
    assert metrics.pareto_keep_rate(scores, 9.0) == pytest.approx(simulated, abs=0.005)


def test_precision_recall():
    pr = metrics.precision_recall([0.9, 0.6, 0.4, 0.2], [1, 0, 1, 0], 0.5)
    assert (pr["precision"], pr["recall"], pr["predicted_positive"]) == (0.5, 0.5, 2)


# ------------------------------------------------------------------ reading sources


def test_read_text_jsonl_gz_and_parquet(tmp_path):
    (tmp_path / "a.txt").write_text("one\n\ntwo\n", encoding="utf-8")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write('{"text": "x"}\nnot json\n{"body": "no text field"}\n{"text": "y", "group": 7}\n')
    shards = tmp_path / "run" / "shards"
    shards.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["1", "2"], "text": ["p", "q"]}), shards / "part-00000-of-00001.parquet")
    pq.write_table(pa.table({"id": ["1"], "body": ["p"]}), tmp_path / "no_text.parquet")

    texts, stats = read_source(str(tmp_path / "a.txt"))
    assert texts == [("one", None), ("two", None)] and stats[0].format == "text"
    texts, stats = read_source(str(tmp_path / "b.jsonl.gz"))
    assert texts == [("x", None), ("y", "7")] and (stats[0].read, stats[0].bad) == (2, 2)
    assert stats[0].first_problem.startswith("line 2: invalid JSON")
    texts, stats = read_source(str(shards))
    assert texts == [("p", None), ("q", None)] and stats[0].format == "parquet"
    with pytest.raises(DataError, match="no column 'text'"):
        read_source(str(tmp_path / "no_text.parquet"))


def test_read_source_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="no usable text"):
        read_source(str(tmp_path / "empty.txt"))
    with pytest.raises(DataError, match="no such file"):
        read_source(str(tmp_path / "missing.txt"))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text("{}")
    with pytest.raises(DataError, match="pass its shards/"):
        read_source(str(tmp_path / "run"))
    (tmp_path / "t.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="not a Parquet file"):
        read_source(str(tmp_path / "t.parquet"))


# ------------------------------------------------------------------ training


def test_train_separable_set_writes_model_and_card(sets, tmp_path):
    pos, neg = sets
    out = tmp_path / "model"
    card = train([pos], [neg], str(out), TrainConfig(**SMALL, holdout=0.2), description="synthetic")
    assert (out / "model.bin").exists()
    on_disk = json.loads((out / "model_card.json").read_text())
    assert on_disk == json.loads(json.dumps(card))
    assert card["held_out_metrics"]["auc"] > 0.95
    split = card["data"]["split"]
    assert split["train"]["positives"] + split["held_out"]["positives"] == 150
    assert split["held_out"]["negatives"] > 0
    assert card["parameters"]["wordNgrams"] == 2 and card["parameters"]["thread"] == 1
    assert card["model"]["labels"] == ["__label__cc", "__label__hq"]
    assert card["model"]["fasttext_module"].startswith("fasttext")
    assert card["data"]["positives"]["files"][0]["path"] == pos
    assert 0.0 <= card["keep_rate"]["threshold"] <= 1.0
    md = (out / "model_card.md").read_text()
    assert "synthetic" in md and f"{card['held_out_metrics']['auc']:.4f}" in md
    # The saved model scores through the same preprocessing as training.
    model = load_model(str(out / "model.bin"))
    good, bad, empty = model.probabilities(["The RESEARCH\nof history", "CLICK here\nbuy now", " \n "], "hq")
    assert good > 0.5 > bad and empty == 0.0


def test_training_is_reproducible(sets, tmp_path):
    pos, neg = sets
    a = train([pos], [neg], str(tmp_path / "a"), TrainConfig(**SMALL))
    b = train([pos], [neg], str(tmp_path / "b"), TrainConfig(**SMALL))
    assert a["model"]["sha256"] == b["model"]["sha256"]
    assert a == b


def test_split_deduplicates_and_drops_texts_in_both_sets(tmp_path):
    pos_docs = _docs(GOOD, 60, 3)
    neg_docs = _docs(BAD, 60, 4)
    shared = "this exact text is in both sets"
    (tmp_path / "p.txt").write_text("\n".join(pos_docs + [pos_docs[0].upper(), shared]), encoding="utf-8")
    (tmp_path / "n.txt").write_text("\n".join(neg_docs + [shared]), encoding="utf-8")
    card = train(
        [str(tmp_path / "p.txt")], [str(tmp_path / "n.txt")], str(tmp_path / "m"), TrainConfig(**SMALL, holdout=0.3)
    )
    p, n = card["data"]["positives"], card["data"]["negatives"]
    assert (p["read"], p["duplicates_removed"], p["in_both_sets_removed"], p["used"]) == (62, 1, 1, 60)
    assert (n["in_both_sets_removed"], n["used"]) == (1, 60)


def test_max_per_class_caps_by_hash(sets, tmp_path):
    pos, neg = sets
    card = train([pos], [neg], str(tmp_path / "m"), TrainConfig(**SMALL, max_per_class=100, holdout=0.2))
    assert card["data"]["positives"]["used"] == 100
    assert card["data"]["positives"]["over_cap_removed"] == 50


def test_quantized_model(sets, tmp_path):
    pos, neg = sets
    card = train([pos], [neg], str(tmp_path / "q"), TrainConfig(**SMALL, quantize=True, holdout=0.2))
    assert card["model"]["file"] == "model.ftz" and (tmp_path / "q" / "model.ftz").exists()
    assert card["held_out_metrics"]["auc"] > 0.9


def test_one_class_only_is_an_error(sets, tmp_path):
    pos, _ = sets
    # The "negatives" are the positives again: every text is in both sets, none is left.
    with pytest.raises(TrainingError, match=r"no usable hq examples \(one class only\).*150 also in the other set"):
        train([pos], [pos], str(tmp_path / "m"), TrainConfig(**SMALL))


def test_blank_or_unreadable_records_are_counted_and_explained(sets, tmp_path):
    pos, _ = sets
    (tmp_path / "blank.jsonl").write_text('{"text": "   "}\n{"text": "\\n"}\n{"body": "x"}\n', encoding="utf-8")
    with pytest.raises(TrainingError, match="0 read, 2 blank, 1 unusable .first: line 3: text field 'text' is missing"):
        train([pos], [str(tmp_path / "blank.jsonl")], str(tmp_path / "m"), TrainConfig(**SMALL))


def test_too_few_examples_is_an_error(sets, tmp_path):
    pos, _ = sets
    (tmp_path / "few.txt").write_text("\n".join(_docs(BAD, 5, 9)), encoding="utf-8")
    with pytest.raises(TrainingError, match="too few cc examples"):
        train([pos], [str(tmp_path / "few.txt")], str(tmp_path / "m"), TrainConfig(**SMALL))


def test_empty_file_is_an_error(sets, tmp_path):
    pos, _ = sets
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(TrainingError, match="empty.txt: no usable text"):
        train([pos], [str(tmp_path / "empty.txt")], str(tmp_path / "m"), TrainConfig(**SMALL))


def test_nan_divergence_is_a_clear_error(sets, tmp_path):
    pos, neg = sets
    with pytest.raises(TrainingError, match="Encountered NaN.*lower the learning rate"):
        train([pos], [neg], str(tmp_path / "m"), TrainConfig(dim=16, bucket=10_000, lr=1e4))


def test_cli_error_is_one_line_without_traceback(sets, tmp_path):
    pos, _ = sets
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "classifiers",
            "--positives",
            pos,
            "--negatives",
            str(tmp_path / "empty.txt"),
            "--output",
            str(tmp_path / "m"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("train-classifier: error:") and "no usable text" in proc.stderr


def test_curate_train_classifier_subcommand(sets, tmp_path, capsys):
    from pipelines import cli

    pos, neg = sets
    code = cli.main(
        [
            "train-classifier",
            "--positives",
            pos,
            "--negatives",
            neg,
            "--output",
            str(tmp_path / "m"),
            "--dim",
            "16",
            "--bucket",
            "10000",
            "--holdout",
            "0.2",
        ]
    )
    assert code == 0
    assert "held-out AUC" in capsys.readouterr().out
    assert json.loads((tmp_path / "m" / "model_card.json").read_text())["parameters"]["dim"] == 16


def test_groups_stay_on_one_side_of_the_split(sets, tmp_path):
    _, neg = sets
    pos = tmp_path / "grouped.jsonl"
    with open(pos, "w", encoding="utf-8") as f:
        for i, d in enumerate(_docs(GOOD, 200, 5)):
            f.write(json.dumps({"text": d, "group": f"page{i // 10}"}) + "\n")
    card = train([str(pos)], [neg], str(tmp_path / "m"), TrainConfig(**SMALL, holdout=0.3))
    held = card["data"]["split"]["held_out"]["positives"]
    assert held % 10 == 0 and 0 < held < 200


def test_auc_confidence_interval_brackets_the_auc_and_narrows_with_data():
    rng = np.random.default_rng(1)

    def sample(n):
        labels = np.r_[np.ones(n, bool), np.zeros(n, bool)]
        return np.r_[rng.normal(1, 1, n), rng.normal(0, 1, n)], labels

    small, big = sample(30), sample(3000)
    lo_s, hi_s = metrics.auc_confidence_interval(*small)
    lo_b, hi_b = metrics.auc_confidence_interval(*big, n_boot=200)
    assert lo_s < metrics.auc(*small) < hi_s and lo_b < metrics.auc(*big) < hi_b
    assert hi_b - lo_b < (hi_s - lo_s) / 3
    assert metrics.auc_confidence_interval(*small) == [lo_s, hi_s]  # seeded
