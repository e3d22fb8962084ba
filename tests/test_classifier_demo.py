"""Integration: build the demo sets from ../shared/data, train, and check the held-out AUC."""

from __future__ import annotations

import json

from classifiers import TrainConfig, load_model, train
from classifiers.build_demo_data import DEMO_PARAMS, build, describe, passages, strip_gutenberg
from tests.conftest import shared_path


def test_passages_are_windows_of_hashed_lengths():
    text = "\n\n".join(f"paragraph {i} " + "word " * 20 for i in range(100))  # 2,200 words
    out = passages(text, "key", min_words=50, max_words=200)
    sizes = [len(p.split()) for p in out]
    assert all(50 <= n <= 200 for n in sizes) and len(set(sizes)) > 3
    assert " ".join(out).split() == text.split()[: sum(sizes)]
    assert 2200 - sum(sizes) < 50  # only a tail shorter than min_words is dropped
    assert passages(text, "key") == out and passages(text, "other") != out
    assert passages("too short", "k") == []
    (short,) = passages(" ".join(["w"] * 60), "k", min_words=50)  # one window, whole or cut
    assert 50 <= len(short.split()) <= 60


def test_strip_gutenberg_keeps_the_book_only():
    text = "\ufeffheader\r\n*** START OF THE BOOK ***\r\nChapter 1\r\n*** END OF THE BOOK ***\r\nlicence"
    assert strip_gutenberg(text) == "Chapter 1"


def test_demo_classifier_separates_curated_from_raw_web_text(tmp_path):
    data = shared_path()
    for part in ("books", "html/ground-truth.json", "conversations", "warc"):
        shared_path(part)
    counts = build(str(data), str(tmp_path / "sets"))
    assert set(counts["positives"]) >= {"html/ground-truth.json", "conversations/oasst"}
    assert counts["negatives"]["html/pages"] > 100
    # No page gives text to both sets.
    groups = {}
    for name in ("positives", "negatives"):
        with open(tmp_path / "sets" / f"{name}.jsonl", encoding="utf-8") as f:
            groups[name] = {json.loads(line)["group"] for line in f}
    assert not groups["positives"] & groups["negatives"]

    # A smaller model than the demo's (same recipe) keeps the test quick.
    cfg = TrainConfig(**{**DEMO_PARAMS, "dim": 32, "bucket": 50_000})
    card = train(
        [str(tmp_path / "sets" / "positives.jsonl")],
        [str(tmp_path / "sets" / "negatives.jsonl")],
        str(tmp_path / "model"),
        cfg,
        description=describe(counts),
    )
    assert card["held_out_metrics"]["auc"] > 0.75
    # No length leak: a short line of navigation is not "high quality" (with passages
    # of class-dependent lengths it scored 1.0).
    model = load_model(str(tmp_path / "model" / card["model"]["file"]))
    assert model.probability("Home | About us | Contact | Login | Subscribe", "hq") < 0.5
    assert card["data"]["split"]["held_out"]["negatives"] >= 50
    assert "Negatives" in card["description"]
