"""``minhash_dedup`` inside the whole pipeline on the bundled sample WARC: its copies of
articles (a mirror, an aggregator's upper-cased copy, an archived windows-1252 copy, a
copy with broken bytes) are removed as near-duplicates, counted in the manifest and
readable in ``rejected/`` as (removed, kept) pairs."""

import glob
import json

import pyarrow.parquet as pq

from curate import config
from curate.demo import sample
from pipelines import cli
from tests.pipeline_helpers import check_output

PAIRS = {  # each copy and its original, by URL
    frozenset({"https://news.example.org/bees", "https://mirror.example.net/science/bees-hive-temperature"}),
    frozenset({"https://news.example.org/rail", "https://aggregator.example.com/rail?id=7"}),
    frozenset({"https://news.example.org/libraries", "https://old.example.org/library.html"}),
    frozenset({"https://news.example.org/tides", "https://broken.example.org/tides"}),
}


def test_minhash_dedup_in_the_pipeline(tmp_path):
    warc = str(tmp_path / "sample.warc.gz")
    sample.write_sample_warc(warc)
    raw = {
        "inputs": [{"kind": "warc", "name": "web", "paths": [warc]}],
        "stages": [{"extract": {}}, {"minhash_dedup": {"keep": "smallest_id"}}],
        "tokenizer": {"train": {"vocab_size": 500, "sample_docs": 100}},
        "output": {"num_shards": 1, "write_rejected": True},
    }
    out = str(tmp_path / "out")
    m = cli.run_pipeline(config.parse(raw), out, [])
    rows = check_output(out, m)  # balanced accounting, shards, tokens
    rejected = [r for f in sorted(glob.glob(f"{out}/rejected/*.parquet")) for r in pq.read_table(f).to_pylist()]
    near = [r for r in rejected if r["stage"] == "minhash_dedup"]
    assert m["counts"]["dropped"]["minhash_dedup:near_duplicate"] == len(near) == len(PAIRS)
    kept = {r["id"]: r for r in rows}
    pairs = set()
    for r in near:
        assert r["reason"] == "near_duplicate"
        details = json.loads(r["details"])
        original = kept[details["duplicate_of"]]
        assert r["id"] > original["id"]  # keep: smallest_id
        assert details["cluster_id"] == original["id"]
        assert json.loads(original["metadata"])["minhash_dedup"] == {"cluster_id": original["id"], "cluster_size": 2}
        pairs.add(frozenset({json.loads(r["provenance"])["url"], original["url"]}))
    assert pairs == PAIRS
