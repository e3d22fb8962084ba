"""A real output (books, conversations and GSM8K questions from ../shared/data) as a
training job meets it: `curate verify`, the loader over it."""

import json
import os
import shutil

import numpy as np
import pytest

from curate import shards as S
from curate.loader import PackedSequences
from pipelines import cli
from tests.conftest import shared_path
from tests.pipeline_helpers import run_config


def real_config() -> dict:
    return {
        "inputs": [
            {
                "kind": "books",
                "name": "books",
                "paths": [str(shared_path("books")) + "/*.txt"],
                "options": {"split": "chapters"},
            },
            {
                "kind": "oasst_trees",
                "name": "conversations",
                "paths": [str(shared_path("conversations", "oasst-en-100-trees.jsonl"))],
            },
            {
                "kind": "jsonl",
                "name": "math",
                "paths": [str(shared_path("evals", "gsm8k-test.jsonl"))],
                "options": {"text_field": "question"},
            },
        ],
        "stages": [{"exact_dedup": {}}],
        "tokenizer": {"model": "curate/models/mistral-tokenizer.model.v1", "add_eos": True},
        "output": {"num_shards": 4},
    }


@pytest.fixture(scope="module")
def real_out(tmp_path_factory):
    return run_config(real_config(), tmp_path_factory.mktemp("training"))


def manifest_dtype(out) -> str:
    return json.load(open(os.path.join(out, "manifest.json")))["token_dtype"]


def copy_of(out, tmp_path) -> str:
    dst = str(tmp_path / "copy")
    shutil.copytree(out, dst)
    return dst


def verify(out, capsys, *extra):
    code = cli.main(["verify", out, *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_verify_passes_on_a_real_output(real_out, capsys):
    out, m = real_out
    code, text = verify(out, capsys)
    assert code == 0, text
    assert f"{len(m['shards'])} shards match the manifest" in text
    assert text.count("50 decoded") == len(m["shards"])  # the decode sample was checked


def test_verify_names_the_shard_with_a_flipped_byte(real_out, tmp_path, capsys):
    out, m = real_out
    broken = copy_of(out, tmp_path)
    rel = m["shards"][2]["path"]
    path = os.path.join(broken, rel)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x01
    open(path, "wb").write(bytes(data))
    code, text = verify(broken, capsys)
    assert code == 1
    assert f"FAIL {rel}" in text and "sha256" in text
    assert "1 of 4 shards failed: " + rel in text


def test_verify_catches_text_that_its_tokens_do_not_give(real_out, tmp_path, capsys):
    """A shard rewritten with one text changed, its manifest entry updated to match: only
    the decode check can see it."""
    import pyarrow.parquet as pq

    out, m = real_out
    broken = copy_of(out, tmp_path)
    entry = m["shards"][1]
    rows = pq.read_table(os.path.join(broken, entry["path"])).to_pylist()
    rows[0]["text"] = rows[0]["text"] + " (edited)"
    data = S.parquet_bytes(rows, S.shard_schema(manifest_dtype(broken)))
    open(os.path.join(broken, entry["path"]), "wb").write(data)
    manifest = json.load(open(os.path.join(broken, "manifest.json")))
    info = S.shard_info(entry["path"], rows, data)
    manifest["shards"][1] = {**manifest["shards"][1], **info}
    json.dump(manifest, open(os.path.join(broken, "manifest.json"), "w"))
    code, text = verify(broken, capsys, "--sample", "100000")
    assert code == 1 and "decode(tokens) != text" in text and entry["path"] in text


def test_verify_reports_counts_and_missing_files(real_out, tmp_path, capsys):
    out, m = real_out
    broken = copy_of(out, tmp_path)
    manifest = json.load(open(os.path.join(broken, "manifest.json")))
    manifest["shards"][0]["rows"] += 1
    json.dump(manifest, open(os.path.join(broken, "manifest.json"), "w"))
    os.remove(os.path.join(broken, "errors", "errors-00000-of-00001.jsonl"))
    code, text = verify(broken, capsys, "--sample", "0")
    assert code == 1
    assert f"{manifest['shards'][0]['path']}: {manifest['shards'][0]['rows'] - 1:,} rows, the manifest says" in text
    assert "errors/errors-00000-of-00001.jsonl: listed in the manifest but missing" in text


def test_loader_reads_a_real_output_whole(real_out):
    out, m = real_out
    items = []
    for rank in range(3):
        items += list(PackedSequences(out, 512, rank, 3, 0, 1, remainder="pad", seed=1))
    real = sum(int((it["segment_ids"] >= 0).sum()) for it in items)
    assert real == m["totals"]["tokens"]
    assert all(len(it["tokens"]) == 512 for it in items)
    eos = 2  # the Mistral tokenizer's </s>
    # Every document ends in EOS, so a segment ends on EOS, except the first part of each
    # document cut at a slot boundary (2 boundaries between 3 slots).
    ends = [it["tokens"][e] for it in items for e in np.flatnonzero(np.diff(it["segment_ids"]) > 0)]
    assert len(ends) > 100 and sum(t != eos for t in ends) <= 2


# --------------------------------------------------------------------------- schema and layout


def test_real_output_reads_as_plain_parquet_with_pyarrow_and_duckdb(real_out):
    import pyarrow.parquet as pq

    duckdb = pytest.importorskip("duckdb")
    out, m = real_out
    assert m["token_dtype"] == "uint16"  # the Mistral tokenizer's 32,000 ids fit
    table = pq.read_table(os.path.join(out, "shards"))
    assert str(table.schema.field("tokens").type) == "list<element: uint16>"
    assert table.num_rows == m["totals"]["rows"]
    glob = os.path.join(out, "shards", "*.parquet")
    con = duckdb.connect()
    ((rows, tokens, sources),) = con.execute(
        f"SELECT count(*), sum(len(tokens)), count(DISTINCT source) FROM read_parquet('{glob}')"
    ).fetchall()
    assert (rows, tokens, sources) == (m["totals"]["rows"], m["totals"]["tokens"], 3)
    first_id = min(table.column("id").to_pylist())
    ((dtokens,),) = con.execute(f"SELECT tokens FROM read_parquet('{glob}') WHERE id = ?", [first_id]).fetchall()
    ids = table.column("id").to_pylist()
    assert dtokens == table.column("tokens")[ids.index(first_id)].as_py()


# --------------------------------------------------------------------------- train-tokenizer


def test_train_tokenizer_on_an_output_streams_a_sample_and_writes_a_card(real_out, tmp_path, capsys):
    import sentencepiece as spm

    from curate import tokenizer_train as tt

    out, m = real_out
    dest = str(tmp_path / "tok")
    args = [
        "train-tokenizer",
        "--input",
        out,
        "--output",
        dest,
        "--vocab-size",
        "1000",
        "--sample-docs",
        "300",
        "--special-tokens",
        "<|im_start|>",
        "<|im_end|>",
    ]
    assert cli.main(args) == 0
    card = json.load(open(os.path.join(dest, tt.CARD_FILE)))
    assert card["vocabulary"]["got"] == 1000 and not card["vocabulary"]["smaller_than_asked"]
    assert card["sample"]["documents_used"] == 300 and card["sample"]["documents_seen"] == m["totals"]["rows"]
    proc = spm.SentencePieceProcessor(model_file=os.path.join(dest, tt.MODEL_FILE))
    text = "<|im_start|>user\nWhat is 7 × 8? Ünïcode ✓<|im_end|>"
    ids = proc.encode(text)
    assert proc.decode(ids) == text  # identity normalisation and byte fallback
    assert proc.piece_to_id("<|im_start|>") in ids and proc.piece_to_id("<|im_end|>") in ids
    # The same sample and model every time; an existing tokenizer is not replaced unasked.
    with pytest.raises(SystemExit):
        cli.main(args)
    assert cli.main(args + ["--overwrite"]) == 0
    assert json.load(open(os.path.join(dest, tt.CARD_FILE)))["model"]["sha256"] == card["model"]["sha256"]


def test_train_tokenizer_says_why_the_vocabulary_is_smaller(tmp_path, capsys):
    from curate import tokenizer_train as tt

    dest = str(tmp_path / "small")
    books = str(shared_path("books")) + "/*.txt"
    assert cli.main(["train-tokenizer", "--text", books, "--output", dest, "--vocab-size", "60000"]) == 0
    printed = capsys.readouterr().out
    card = json.load(open(os.path.join(dest, tt.CARD_FILE)))
    v = card["vocabulary"]
    assert v["smaller_than_asked"] and v["got"] < 60000 and v["unigram_seed_pieces"] < 60000
    assert f"asked for 60,000 pieces, got {v['got']:,}" in v["why_smaller"] and "candidate pieces" in v["why_smaller"]
    assert "note: asked for 60,000" in printed
    assert "## Smaller than asked" in open(os.path.join(dest, tt.CARD_MD)).read()
    assert card["sample"]["documents_used"] == 2  # two book files, one document each


def test_sample_takes_the_smallest_id_hashes_in_any_read_order():
    import random

    from curate import tokenizer_train as tt

    docs = [(f"d{i}", f"text {i}") for i in range(500)]
    shuffled = docs[:]
    random.Random(3).shuffle(shuffled)
    a, seen = tt.sample(iter(docs), 50)
    assert (a, seen) == (tt.sample(iter(shuffled), 50)[0], 500) and len(a) == 50
