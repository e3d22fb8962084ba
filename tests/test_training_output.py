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
            {"kind": "books", "name": "books", "paths": [str(shared_path("books")) + "/*.txt"], "options": {"split": "chapters"}},
            {"kind": "oasst_trees", "name": "conversations", "paths": [str(shared_path("conversations", "oasst-en-100-trees.jsonl"))]},
            {"kind": "jsonl", "name": "math", "paths": [str(shared_path("evals", "gsm8k-test.jsonl"))], "options": {"text_field": "question"}},
        ],
        "stages": [{"exact_dedup": {}}],
        "tokenizer": {"model": "curate/models/mistral-tokenizer.model.v1", "add_eos": True},
        "output": {"num_shards": 4},
    }


@pytest.fixture(scope="module")
def real_out(tmp_path_factory):
    return run_config(real_config(), tmp_path_factory.mktemp("training"))


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
    data = S.parquet_bytes(rows, S.SHARD_SCHEMA)
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
