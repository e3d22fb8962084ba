"""configs/multilingual.yaml on the real WARCs of ../shared/data (skipped when absent):
the German, Chinese, Russian and Japanese pages meet their own language's rules."""

import json
import os

import pyarrow.parquet as pq
import pytest

from curate import text as T
from tests.pipeline_helpers import check_output, run_on_real_warcs

WORD_FILTERS = ("gopher_repetition", "gopher_quality", "c4", "fineweb")


@pytest.fixture(scope="module")
def multilingual_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("multilingual") / "out")
    _, m = run_on_real_warcs("configs/multilingual.yaml", out)
    rows = check_output(out, m)
    rejected = pq.read_table(os.path.join(out, "rejected")).to_pylist()
    return m, rows, rejected


def _scored(rows, rejected):
    """(language, stage, signals, text) for every word-filter score stored on a page."""
    for r in rows + rejected:
        meta = json.loads(r["metadata"])
        for stage, signals in (meta.get("signals") or {}).items():
            if stage in WORD_FILTERS:
                yield meta.get("language"), stage, signals, r


def test_pages_of_each_language_are_scored_with_its_rules(multilingual_run):
    m, rows, rejected = multilingual_run
    scored = list(_scored(rows, rejected))
    languages = {lang for lang, *_ in scored}
    assert {"de", "zh", "ja", "en"} <= languages
    for lang, stage, signals, row in scored:
        assert signals.get("language") == lang  # decided with that language's thresholds
        if stage == "gopher_quality" and lang in ("de", "zh", "ja", "ru"):
            assert signals["stop_words"] is not None  # its own stop words, not English ones
        if stage == "gopher_quality" and lang == "zh" and row.get("stage") == "gopher_quality":
            # a Chinese page dropped here: its words are jieba's, not clauses
            assert signals["n_words"] == len(T.alnum_words(row["text"], "zh"))


def test_chinese_pages_reach_gopher_quality_with_chinese_word_lengths(multilingual_run):
    m, rows, rejected = multilingual_run
    zh = [(stage, s) for lang, stage, s, _ in _scored(rows, rejected) if lang == "zh" and stage == "gopher_quality"]
    # jieba's words: most pages average under 3 characters, below the English lower bound
    assert sum(s["mean_word_length"] < 3 for _, s in zh) > len(zh) / 2
    reasons = {r["reason"] for r in rejected if json.loads(r["metadata"]).get("language") == "zh"}
    assert not reasons & {"mean_word_length_too_short", "mean_word_length_too_long"}
