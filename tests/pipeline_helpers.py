"""Helpers for tests that run the whole pipeline and check its output directory."""

from __future__ import annotations

import glob
import hashlib
import json
import os

import pyarrow.parquet as pq

from curate import tokenize as tok


def run_config(raw: dict, directory) -> tuple[str, dict]:
    """Write ``raw`` as the run's config file in ``directory`` (JSON is YAML), run the
    pipeline to ``directory/out`` through the config loader, return (out dir, manifest)."""
    from curate import config
    from pipelines import cli

    cfg_path = os.path.join(str(directory), "config.yaml")
    with open(cfg_path, "w") as f:
        json.dump(raw, f)
    out = os.path.join(str(directory), "out")
    return out, cli.run_pipeline(config.load(cfg_path), out, [])


def run_on_real_warcs(config_path: str, out: str):
    """Run a shipped config (its first input read from ../shared/data/warc/*.warc.gz,
    skipping the test when absent) to ``out``; return (config, manifest)."""
    from curate import config
    from pipelines import cli
    from tests.conftest import shared_path

    cfg = config.load(config_path, check_paths=False)
    cfg.raw["inputs"][0]["paths"] = [os.path.join(str(shared_path("warc")), "*.warc.gz")]
    cfg = config.parse(cfg.raw)
    return cfg, cli.run_pipeline(cfg, out, [])


def shard_hashes(out_dir: str) -> dict:
    files = sorted(
        glob.glob(os.path.join(out_dir, "shards", "*.parquet"))
        + glob.glob(os.path.join(out_dir, "rejected", "*.parquet"))
    )
    return {os.path.relpath(f, out_dir): hashlib.sha256(open(f, "rb").read()).hexdigest() for f in files}


def check_output(out_dir: str, manifest: dict) -> list[dict]:
    """Checks every run must pass; returns the kept rows."""
    on_disk = json.load(open(os.path.join(out_dir, "manifest.json")))
    c = on_disk["counts"]
    assert c["input"] == c["kept"] + sum(c["dropped"].values()) + c["errors"]
    assert on_disk["balanced"] is True
    rows = []
    for shard in on_disk["shards"]:
        path = os.path.join(out_dir, shard["path"])
        assert hashlib.sha256(open(path, "rb").read()).hexdigest() == shard["sha256"]
        table = pq.read_table(path)
        assert table.num_rows == shard["rows"]
        rows.extend(table.to_pylist())
    assert len(rows) == c["kept"] == on_disk["totals"]["rows"]
    model_path = on_disk["tokenizer"]["path"]
    model = open(
        model_path if os.path.isabs(model_path) or os.path.exists(model_path) else os.path.join(out_dir, model_path),
        "rb",
    ).read()
    processor = tok.load_processor(model)
    for row in rows:
        assert row["num_tokens"] == len(row["tokens"])
        assert tok.decode(processor, row["tokens"]) == row["text"]
    errors = open(os.path.join(out_dir, "errors", "errors-00000-of-00001.jsonl")).read().splitlines()
    assert len(errors) == c["errors"]
    return rows
