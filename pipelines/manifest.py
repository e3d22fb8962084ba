"""The run's ``manifest.json``, assembled on the driver after the pipeline finishes,
from the Beam counters and the shard index the writers left."""

from __future__ import annotations

import json

from curate import __version__
from curate import decontam as D
from curate import io as cio
from curate import tokenize as tok
from pipelines.counters import balanced, counts_from_counters

# The output directory's files besides the shards (this module imports no Beam, so
# the Beam-free refilter can use it).
TOKENIZER_FILE = "tokenizer/spm.model"  # a tokenizer trained during the run
SHARD_INDEX_FILE = "_shard_index.json"  # the writers' shard list, until the manifest holds it


def build_manifest(cfg, out_dir: str, counter_values: dict, tokenizer_proto, tokenizer_path) -> dict:
    index_path = cio.join(out_dir, SHARD_INDEX_FILE)
    shards = json.loads(cio.read_bytes(index_path))
    if tokenizer_proto is None:  # trained during the run
        tokenizer_path = TOKENIZER_FILE
        tokenizer_proto = cio.read_bytes(cio.join(out_dir, TOKENIZER_FILE))
    tokenizer = tok.describe(tokenizer_proto, tokenizer_path)
    tokenizer["trained"] = cfg.tokenizer.train is not None
    tokenizer["add_bos"] = cfg.tokenizer.add_bos
    tokenizer["add_eos"] = cfg.tokenizer.add_eos
    counts = counts_from_counters(counter_values)
    m = {
        "curate_version": __version__,
        "config": cfg.raw,
        "config_hash": cfg.config_hash,
        "tokenizer": tokenizer,
        "shards": shards,
        "totals": shard_totals(shards),
        "counts": counts,
        "balanced": accounting_holds(counts, shards),
    }
    report_path = cio.join(out_dir, D.REPORT_FILE)
    if cio.exists(report_path):  # the decontaminate stage ran: its figures per eval set
        m["decontamination"] = D.manifest_section(json.loads(cio.read_bytes(report_path)))
    return m


def shard_totals(shards: list[dict]) -> dict:
    return {
        "shards": len(shards),
        "rows": sum(s["rows"] for s in shards),
        "tokens": sum(s["tokens"] for s in shards),
        "bytes": sum(s["bytes"] for s in shards),
    }


def accounting_holds(counts: dict, shards: list[dict]) -> bool:
    """The identity, and the kept counter agreeing with the rows actually written."""
    return balanced(counts) and counts["kept"] == sum(s["rows"] for s in shards)
