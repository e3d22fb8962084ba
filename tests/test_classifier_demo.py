"""Integration: build the demo sets from ../shared/data, train, and check the held-out AUC."""

from __future__ import annotations

import json

from classifiers import TrainConfig, train
from classifiers.build_demo_data import DEMO_PARAMS, build, describe, passages, strip_gutenberg
from tests.conftest import shared_path


def test_passages_join_short_paragraphs_and_cut_long_ones():
    text = "\n\n".join(["one two three"] * 40) + "\n\n" + " ".join(["w"] * 600)
    out = passages(text, min_words=30, max_words=250)
    assert [len(p.split()) for p in out] == [30, 30, 30, 30, 250, 250, 100]
    assert passages("too short", min_words=30) == []


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
    card = train([str(tmp_path / "sets" / "positives.jsonl")], [str(tmp_path / "sets" / "negatives.jsonl")],
                 str(tmp_path / "model"), cfg, description=describe(counts))
    assert card["held_out_metrics"]["auc"] > 0.85
    assert card["data"]["split"]["held_out"]["negatives"] >= 50
    assert "Negatives" in card["description"]
