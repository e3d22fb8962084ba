"""Decontamination core: eval-set loading, normalisation, the n-gram index, and the
exact text each policy leaves on hand-made documents.

Documents are built from filler words of fixed width ("a000 a001 ...": 4 characters
and a space each), so where a 200-character window ends is known by construction.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.config import ConfigError, build
from curate.decontam import (
    DecontaminateConfig,
    Decontaminator,
    EvalSetConfig,
    NgramIndex,
    decontaminate_documents,
    gram_hashes,
    load_eval_set,
    load_index,
    normalized_words,
    report_files,
    summary_lines,
    word_hashes,
    word_spans,
)
from curate.document import Document, Drop

ITEM = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May."
# shares "she sold half as many clips in May" (8 words) with ITEM
ITEM_B = "She sold half as many clips in May. How many clips did Natalia sell altogether in April and May?"
SHORT = "Who wrote the play Hamlet?"  # 5 words: shorter than n, matched whole


def filler(tag: str, n_words: int, first: int = 0) -> str:
    """``n_words`` words ``{tag}{i:03d}`` from ``first``: 5 characters per word with its space."""
    return " ".join(f"{tag}{i:03d}" for i in range(first, first + n_words))


def write_jsonl(path, records, gz=False):
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    (open(path, "wb") if not gz else gzip.open(path, "wb")).write(data)
    return str(path)


@pytest.fixture
def eval_file(tmp_path):
    return write_jsonl(
        tmp_path / "eval.jsonl",
        [
            {"question": ITEM, "answer": "72"},
            {"question": ITEM_B, "answer": "72"},
            {"question": SHORT, "answer": "Shakespeare"},
        ],
    )


def config(path, fields=("question",), **params) -> DecontaminateConfig:
    raw = {"eval_sets": [{"name": "toy", "paths": [path], "fields": list(fields)}], **params}
    return build(DecontaminateConfig, raw, "stages.decontaminate")


def run(texts, cfg):
    """Texts through the whole-run core -> (outputs: text or 'drop:<why>', report, item lines)."""
    docs = [Document(f"d{i}", t, "web") for i, t in enumerate(texts)]
    out, report, lines = decontaminate_documents(docs, cfg)
    shown = [f"drop:{o.details['why']}" if isinstance(o, Drop) else o.text for o in out]
    return shown, report, lines, out


# --------------------------------------------------------------------------- gpt3 policy, exact text left


def test_match_at_start(eval_file):
    doc = ITEM + " " + filler("a", 120)
    (text,), report, lines, (out,) = run([doc], config(eval_file))
    # the window ends 200 chars after "May", inside a039: that word goes whole
    assert text == filler("a", 80, first=40)
    assert out.metadata["decontaminate"] == {
        "matched": {"toy": ["0"]},
        "chars_removed": len(doc) - len(text),
        "fragments": 1,
    }
    s = report["sets"]["toy"]
    assert (s["items"], s["items_found"], s["found_ids"], s["docs_cut"], s["docs_dropped"]) == (3, 1, ["0"], 1, 0)
    assert s["chars_removed"] == len(doc) - len(text) and s["short_items"] == 1
    assert lines["toy"] == [{"id": "0", "docs": 1, "short": False}]


def test_match_at_end(eval_file):
    doc = filler("a", 120) + " " + ITEM
    (text,), *_ = run([doc], config(eval_file))
    # the window starts exactly at a080 (600 - 200); the space before it goes with the cut
    assert text == filler("a", 80)


def test_two_overlapping_matches_make_one_cut(eval_file):
    both = (
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
        "How many clips did Natalia sell altogether in April and May?"
    )
    doc = filler("a", 120) + " " + both + " " + filler("b", 120)
    (text,), report, lines, (out,) = run([doc], config(eval_file))
    assert text == filler("a", 80) + " " + filler("b", 80, first=40)
    assert out.metadata["decontaminate"]["matched"] == {"toy": ["0", "1"]}
    assert out.metadata["decontaminate"]["fragments"] == 2
    assert report["sets"]["toy"]["found_ids"] == ["0", "1"] and report["sets"]["toy"]["docs_cut"] == 1


def test_case_punctuation_and_spacing_do_not_matter(eval_file):
    variant = "NATALIA sold clips -- to 48 of her FRIENDS in\n April; and then, she sold HALF as many clips in May!!!"
    doc = filler("a", 120) + " " + variant + " " + filler("b", 120)
    (text,), *_ = run([doc], config(eval_file))
    # the removed text held a line break: the seam is one (curate.dedup.spans.remove_char_spans)
    assert text == filler("a", 80) + "\n" + filler("b", 80, first=40)


def test_item_shorter_than_n_is_matched_whole(eval_file):
    doc = filler("a", 120) + " who wrote the play 'HAMLET'? " + filler("b", 120)
    (text,), report, lines, _ = run([doc], config(eval_file))
    assert text == filler("a", 80) + " " + filler("b", 80, first=40)
    assert lines["toy"] == [{"id": "2", "docs": 1, "short": True}]
    # four of its five words are not the item: no match
    (untouched,), *_ = run([filler("a", 120) + " who wrote the play Macbeth " + filler("b", 120)], config(eval_file))
    assert untouched == filler("a", 120) + " who wrote the play Macbeth " + filler("b", 120)


def test_pieces_shorter_than_min_fragment_are_removed(eval_file):
    # 70 filler words (349 chars) before the item: the window leaves a 149-char piece
    doc = filler("a", 70) + " " + ITEM + " " + filler("b", 120)
    (text,), *_ = run([doc], config(eval_file))
    assert text == filler("b", 80, first=40)


def test_split_into_more_than_max_fragments_drops_the_document(eval_file):
    def doc(n_items):
        # pieces: a000-a119 | b040-b119 | ... | last040-last159 (each >= 200 chars)
        parts = [filler("a", 160)]
        for i in range(n_items):
            parts += [ITEM, filler("bcdefghijk"[i], 160)]
        return " ".join(parts)

    (nine, ten), report, _, outs = run([doc(9), doc(10)], config(eval_file))
    expected = [filler("a", 120)] + [filler(t, 80, first=40) for t in "bcdefghi"] + [filler("j", 120, first=40)]
    assert nine == " ".join(expected)
    assert outs[0].metadata["decontaminate"]["fragments"] == 10
    assert ten == "drop:too_many_fragments" and outs[1].reason == "contaminated"
    assert outs[1].details["fragments"] == 11
    assert (report["sets"]["toy"]["docs_cut"], report["sets"]["toy"]["docs_dropped"]) == (1, 1)


def test_nothing_left_drops_the_document(eval_file):
    (text,), *_ = run(["Quiz: " + ITEM + " Answer: 72."], config(eval_file))
    assert text == "drop:no_fragment_left"


def test_common_ngram_over_the_threshold_is_ignored(tmp_path):
    phrase = "the quick brown fox jumps over the lazy dog near the river bank"  # exactly 13 words
    path = write_jsonl(tmp_path / "e.jsonl", [{"q": phrase}])
    docs = [filler("a", 120) + " " + phrase.capitalize() + ". " + filler("b", 120, first=i) for i in range(11)]
    texts, report, lines, _ = run(docs, config(path, fields=["q"], max_doc_frequency=10))
    assert texts == docs  # in 11 documents: common text, all untouched
    s = report["sets"]["toy"]
    assert (s["common_ngrams_ignored"], s["items_found"], s["docs_cut"]) == (1, 0, 0)
    assert lines["toy"] == []
    # at the threshold (10 documents) it is contamination
    texts, report, _, _ = run(docs[:10], config(path, fields=["q"], max_doc_frequency=10))
    assert texts == [filler("a", 80) + " " + filler("b", 80, first=40 + i) for i in range(10)]
    assert report["sets"]["toy"]["docs_cut"] == 10 and report["sets"]["toy"]["common_ngrams_ignored"] == 0
    # no common rule: all 11 are cut
    texts, *_ = run(docs, config(path, fields=["q"], max_doc_frequency=None))
    assert all(t.startswith(filler("a", 80)) and "fox" not in t for t in texts)


def test_drop_document_policy(eval_file):
    clean = filler("a", 50)
    texts, report, _, outs = run([clean, clean + " " + ITEM.lower()], config(eval_file, policy="drop_document"))
    assert texts == [clean, "drop:drop_document"]
    assert outs[1].details["matched"] == {"toy": ["0"]}
    assert report["sets"]["toy"]["docs_dropped"] == 1


def test_fields_are_joined_and_ngrams_cross_them(tmp_path):
    path = write_jsonl(
        tmp_path / "e.jsonl", [{"q": "one two three four five six seven", "a": ["eight nine", "ten eleven"]}]
    )
    cfg = config(path, fields=["q", "a"], ngram=11)
    (item,) = load_eval_set(cfg.eval_sets[0])
    assert item.text == "one two three four five six seven\neight nine\nten eleven"
    stage = Decontaminator(cfg, load_index(cfg))
    assert stage.index.find("Zero one two three four five six seven eight nine ten eleven twelve") is not None
    assert stage.index.find("one two three four five six seven eight nine ten") is None  # 10 words: no 11-gram


# --------------------------------------------------------------------------- normalisation and index


def test_normalisation_folds_case_punctuation_and_spacing():
    assert normalized_words("Janet’s DUCKS lay 16\teggs...per_day!") == [
        b"janet",
        b"s",
        b"ducks",
        b"lay",
        b"16",
        b"eggs",
        b"per",
        b"day",
    ]
    text = "  Ab, c-d "
    assert [text[a:b] for a, b in word_spans(text)] == ["Ab", "c", "d"]


def test_index_roundtrip_and_hashes_independent_of_the_process(eval_file):
    cfg = config(eval_file)
    index = load_index(cfg)
    again = NgramIndex.from_bytes(index.to_bytes())
    assert np.array_equal(again.keys, index.keys) and np.array_equal(again.members, index.members)
    assert again.items == index.items and again.lengths == index.lengths == (13, 5)
    # xxhash, not the salted hash(): another process with another seed hashes alike
    code = f"from curate.decontam import *; print(gram_hashes(word_hashes(normalized_words({ITEM!r})), 13).tolist())"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    here = gram_hashes(word_hashes(normalized_words(ITEM)), 13)
    assert json.loads(out.stdout) == here.tolist() and len(here) == 20 - 13 + 1
    assert np.isin(here, index.keys).all()


def test_eval_formats_gzip_parquet_and_id_field(tmp_path):
    records = [
        {"task_id": "T/0", "prompt": "def f(x):", "choices": ["a b", "c"]},
        {"task_id": "T/1", "prompt": "def g(y):", "choices": []},
    ]
    gz = write_jsonl(tmp_path / "e.jsonl.gz", records, gz=True)
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "e.parquet")
    for path in (gz, str(tmp_path / "e.parquet")):
        s = EvalSetConfig("he", [path], ["prompt", "choices"], id_field="task_id")
        items = load_eval_set(s)
        assert [(i.item_id, i.text) for i in items] == [("T/0", "def f(x):\na b\nc"), ("T/1", "def g(y):\n")]
    two = load_eval_set(EvalSetConfig("he", [gz, str(tmp_path / "e.parquet")], ["prompt"]))
    assert [i.item_id for i in two] == ["e.jsonl.gz:0", "e.jsonl.gz:1", "e.parquet:0", "e.parquet:1"]


@pytest.mark.parametrize(
    "content, fields, id_field, message",
    [
        ('{"q": "a b"}\n{"q": \n', ["q"], None, "stages.decontaminate.eval_sets[0] 'toy': {path} line 2: invalid JSON"),
        ('{"q": "a b"}\n\n{"x": "c"}\n', ["q"], None, "{path} line 3: field 'q' is missing"),
        ('{"q": {"nested": 1}}\n', ["q"], None, "line 1: field 'q' is a dict, not a string or a list"),
        ('{"q": "?!"}\n', ["q"], None, "line 1: the item has no words in fields q"),
        ("[1, 2]\n", ["q"], None, "line 1: a record must be an object, got list"),
        ('{"q": "a", "id": 1}\n{"q": "b", "id": 1}\n', ["q"], "id", "line 2: id '1' appears twice"),
        ('{"q": "a"}\n', ["q"], "id", "line 1: id field 'id' is missing"),
        ("\n\n", ["q"], None, "stages.decontaminate.eval_sets[0] 'toy': no items in {path}"),
    ],
)
def test_eval_set_problems_are_one_line_config_errors(tmp_path, content, fields, id_field, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    raw = {"eval_sets": [{"name": "toy", "paths": [str(path)], "fields": fields, "id_field": id_field}]}
    with pytest.raises(ConfigError) as e:
        load_index(build(DecontaminateConfig, raw, "stages.decontaminate"))
    assert message.format(path=path) in str(e.value) and "\n" not in str(e.value)


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="eval_sets: expected at least one eval set"):
        build(DecontaminateConfig, {}, "stages.decontaminate")
    with pytest.raises(ConfigError, match=r"eval_sets\[1\].name: 'a' named twice"):
        build(DecontaminateConfig, {"eval_sets": [{"name": "a", "paths": ["x"], "fields": ["q"]}] * 2}, "s")
    with pytest.raises(ConfigError, match="name: must match"):
        build(DecontaminateConfig, {"eval_sets": [{"name": "../x", "paths": ["x"], "fields": ["q"]}]}, "s")
    with pytest.raises(ConfigError, match="file not found"):
        load_index(
            build(
                DecontaminateConfig,
                {"eval_sets": [{"name": "a", "paths": [str(tmp_path / "no.jsonl")], "fields": ["q"]}]},
                "s",
            )
        )
    with pytest.raises(ConfigError, match="ngram: must be >= 1"):
        build(DecontaminateConfig, {"eval_sets": [{"name": "a", "paths": ["x"], "fields": ["q"]}], "ngram": 0}, "s")


def test_report_files_and_summary(eval_file):
    doc = filler("a", 120) + " " + ITEM + " " + filler("b", 120)
    _, report, lines, _ = run([doc, doc, filler("c", 10)], config(eval_file))
    files = report_files(report, lines)
    assert sorted(files) == ["contaminated-items/toy.jsonl", "decontamination.json"]
    assert json.loads(files["decontamination.json"])["sets"]["toy"]["docs_cut"] == 2
    assert files["contaminated-items/toy.jsonl"] == b'{"id": "0", "docs": 2, "short": false}\n'
    (line,) = summary_lines(report)
    removed = 2 * (len(doc) - len(filler("a", 80) + " " + filler("b", 80, first=40)))
    assert (
        line
        == f"toy: 1 of 3 items (1 short) found; 2 docs cut, 0 dropped, {removed:,} chars removed, 0 common n-grams ignored"
    )


def test_a_bad_eval_file_stops_the_run_before_it_starts(tmp_path, capsys):
    from pipelines import cli

    docs = write_jsonl(tmp_path / "docs.jsonl", [{"text": "some training text"}])
    bad = tmp_path / "eval.jsonl"
    bad.write_text('{"question": "q1", "answer": "a1"}\n{"question": "q2"}\n')
    raw = {
        "inputs": [{"kind": "jsonl", "paths": [docs]}],
        "stages": [
            {"decontaminate": {"eval_sets": [{"name": "gsm8k", "paths": [str(bad)], "fields": ["question", "answer"]}]}}
        ],
        "tokenizer": {"model": "curate/models/mistral-tokenizer.model.v1"},
    }
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(json.dumps(raw))
    with pytest.raises(SystemExit) as e:
        cli.main(["run", str(cfg_path), "--output", str(tmp_path / "out")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"curate: config error: stages.decontaminate.eval_sets[0] 'gsm8k': {bad} line 2: field 'answer' is missing\n"
    )
    assert not (tmp_path / "out").exists()
