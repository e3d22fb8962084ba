"""The ``extract`` stage's engines: trafilatura (FineWeb) and resiliparse (DCLM). The
resiliparse engine on the 181 real article pages with reference texts in
../shared/data/html and through the whole pipeline on the real WARCs."""

from __future__ import annotations

import gzip
import json
import os
import statistics

import pytest

from curate import config
from curate.document import Document, Drop
from curate.extract import Extract, ExtractConfig, word_scores
from curate.readers.warc import decode_html
from pipelines import cli
from tests.conftest import shared_path
from tests.pipeline_helpers import check_output


def test_word_scores_are_bag_of_words_precision_recall():
    s = word_scores("the cat sat on the mat. Menu Login", "The cat sat on the mat")
    assert s["precision"] == pytest.approx(6 / 8) and s["recall"] == 1.0
    assert s["f1"] == pytest.approx(2 * 0.75 / 1.75)
    # a word counts as often as it occurs in both
    assert word_scores("the the the", "the")["precision"] == pytest.approx(1 / 3)
    assert word_scores("", "some text") == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_unknown_engine_is_a_config_error():
    raw = {
        "inputs": [{"kind": "jsonl", "paths": ["gs://b/a.jsonl"]}],
        "stages": [{"extract": {"engine": "lynx"}}],
        "tokenizer": {"train": {}},
    }
    with pytest.raises(config.ConfigError, match=r"stages\.extract\.engine"):
        config.parse(raw)


def _extract(engine: str, html: str, url: str = "https://example.com/a"):
    stage = Extract(ExtractConfig(engine=engine))
    stage.setup()
    return stage.process(Document(id="d", source="web", text="", html=html, provenance={"url": url}))


def test_both_engines_keep_the_article_and_drop_an_empty_page():
    para = "<p>" + " ".join(f"Sentence number {i} of the article says something useful." for i in range(12)) + "</p>"
    html = f"<html><body><nav><a href='/'>Home</a> <a href='/x'>About</a></nav><article><h1>Title</h1>{para}{para}</article></body></html>"
    for engine in ("trafilatura", "resiliparse"):
        doc = _extract(engine, html)
        assert isinstance(doc, Document) and doc.html is None
        assert "Sentence number 11 of the article" in doc.text
        assert doc.metadata["html_chars"] == len(html)
        assert _extract(engine, "<html><body><script>var x = 1;</script></body></html>").reason == "no_text"


@pytest.fixture(scope="module")
def real_pages():
    root = shared_path("html")
    truth = json.load(open(root / "ground-truth.json", encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        with gzip.open(root / "pages" / f"{key}.html.gz", "rb") as f:
            pages.append((truth[key]["url"], decode_html(f.read())[0], truth[key]["articleBody"]))
    return pages


def test_resiliparse_on_real_article_pages(real_pages):
    """181 real pages: resiliparse keeps nearly all of the reference words (recall) and
    some boilerplate too (precision); bench/bench_extraction.py compares with trafilatura."""
    stage = Extract(ExtractConfig(engine="resiliparse"))
    stage.setup()
    scores, texts = [], []
    for url, html, ref in real_pages:
        out = stage.process(Document(id=url, source="web", text="", html=html, provenance={"url": url}))
        assert not isinstance(out, Drop), url
        texts.append(out.text)
        scores.append(word_scores(out.text, ref))
    assert len(scores) == 181
    assert statistics.mean(s["recall"] for s in scores) > 0.95
    assert statistics.mean(s["precision"] for s in scores) > 0.85
    assert statistics.mean(s["f1"] for s in scores) > 0.92
    # the same page gives the same text (no state kept between pages)
    again = Extract(ExtractConfig(engine="resiliparse"))
    again.setup()
    for (url, html, _), text in list(zip(real_pages, texts))[:20]:
        assert again.process(Document(id=url, source="web", text="", html=html, provenance={"url": url})).text == text


@pytest.fixture(scope="module")
def resiliparse_run(tmp_path_factory):
    raw = config.load("configs/web.yaml", check_paths=False).raw
    raw["inputs"][0]["paths"] = [os.path.join(str(shared_path("warc")), "*.warc.gz")]
    for stage in raw["stages"]:
        if "extract" in stage:
            stage["extract"] = {"engine": "resiliparse"}
    raw["output"]["num_shards"] = 2
    out = str(tmp_path_factory.mktemp("resiliparse") / "out")
    return out, cli.run_pipeline(config.parse(raw), out, [])


def test_resiliparse_engine_through_the_pipeline_on_real_warcs(resiliparse_run):
    out, m = resiliparse_run
    rows = check_output(out, m)
    assert m["counts"]["kept"] > 10 and len(rows) == m["counts"]["kept"]
    assert m["config"]["stages"][1]["extract"]["engine"] == "resiliparse"
    assert not any(tag in r["text"] for r in rows for tag in ("<div", "<p>", "<script", "</a>"))  # no markup left


def test_resiliparse_switches_reach_the_engine(real_pages):
    """The engine's defaults leave out image alt texts, comment sections and post meta
    data, which DCLM's call keeps: on the real pages that is less text and higher
    precision; each switch and skip_elements change the text on their own."""

    def texts(**options):
        stage = Extract(ExtractConfig(engine="resiliparse", timeout_seconds=None, **options))
        stage.setup()
        out = [
            stage.process(Document(id=u, source="web", text="", html=h, provenance={"url": u}))
            for u, h, _ in real_pages
        ]
        return [d.text if isinstance(d, Document) else "" for d in out]

    default = texts()
    dclm = texts(alt_texts=True, comments=True, post_meta=True)
    refs = [ref for _, _, ref in real_pages]

    def precision(ts):
        return statistics.mean(word_scores(t, r)["precision"] for t, r in zip(ts, refs))

    assert sum(map(len, default)) < sum(map(len, dclm))
    assert precision(default) > precision(dclm) + 0.03
    for switch in ("alt_texts", "comments", "post_meta"):
        assert texts(**{switch: True}) != default, switch
    skipped = texts(skip_elements=["p"])
    assert sum(map(len, skipped)) < sum(map(len, default)) / 2


def test_bad_skip_selector_is_a_config_error():
    raw = {
        "inputs": [{"kind": "jsonl", "paths": ["gs://b/a.jsonl"]}],
        "stages": [{"extract": {"engine": "resiliparse", "skip_elements": ["nav", "a[["]}}],
        "tokenizer": {"train": {}},
    }
    with pytest.raises(config.ConfigError, match=r"stages\.extract\.skip_elements: not a CSS selector: 'a\[\['"):
        config.parse(raw)
