"""The run's ``manifest.json``, assembled on the driver after the pipeline finishes,
from the Beam counters and the shard index the writers left."""

from __future__ import annotations

import json

from curate import __version__
from curate import decontam as D
from curate import io as cio
from curate import mixture as mix
from curate import shards as S
from curate import tokenize as tok
from curate.counters import balanced, counts_from_counters

# The output directory's files besides the shards.
TOKENIZER_FILE = "tokenizer/spm.model"  # a tokenizer trained during the run
SHARD_INDEX_FILE = "_shard_index.json"  # the writers' shard list, until the manifest holds it


def build_manifest(cfg, out_dir: str, counter_values: dict, tokenizer_proto, tokenizer_path) -> dict:
    index_path = cio.join(out_dir, SHARD_INDEX_FILE)
    written = json.loads(cio.read_bytes(index_path))
    shards = [s for s in written if s["path"].startswith("shards/")]
    validation = [s for s in written if s["path"].startswith("validation/")]
    if tokenizer_proto is None:  # trained during the run
        tokenizer_path = TOKENIZER_FILE
        tokenizer_proto = cio.read_bytes(cio.join(out_dir, TOKENIZER_FILE))
    tokenizer = tok.describe(tokenizer_proto, tokenizer_path)
    tokenizer["trained"] = cfg.tokenizer.train is not None
    if cfg.tokenizer.train is not None:
        tokenizer["vocab_size_asked"] = cfg.tokenizer.train.vocab_size
    tokenizer["add_bos"] = cfg.tokenizer.add_bos
    tokenizer["add_eos"] = cfg.tokenizer.add_eos
    counts = counts_from_counters(counter_values)
    m = {
        "curate_version": __version__,
        "config": cfg.raw,
        "config_hash": cfg.config_hash,
        "tokenizer": tokenizer,
        "token_dtype": tok.id_dtype(cfg.tokenizer, None if cfg.tokenizer.train else tokenizer_proto),
        "shards": shards,
        "totals": shard_totals(shards),
    }
    if cfg.output.mixture:
        m["mixture"] = mixture_section(cfg.output.mixture, counts)
    if cfg.output.validation_fraction > 0:
        m["validation_fraction"] = cfg.output.validation_fraction
        m["validation_shards"] = validation
        m["validation_totals"] = shard_totals(validation)
    if cfg.output.partition_by is not None:
        m["partition_by"] = cfg.output.partition_by
        m["partitions"] = partition_totals(shards)
        if cfg.output.validation_fraction > 0:
            m["validation_partitions"] = partition_totals(validation)
    m["counts"] = counts
    m["balanced"] = accounting_holds(counts, shards + validation)
    report_path = cio.join(out_dir, D.REPORT_FILE)
    if cio.exists(report_path):  # the decontaminate stage ran: its figures per eval set
        m["decontamination"] = D.manifest_section(json.loads(cio.read_bytes(report_path)))
    return m


def mixture_section(weights: dict, counts: dict) -> dict:
    """Target and achieved token shares per source, from the mixture's counters."""

    def stat(name):
        key = f"{mix.STAGE}:{name}"
        return {src: c["stats"][key] for src, c in counts["by_source"].items() if key in c["stats"]}

    return mix.shares(weights, stat("tokens_in"), stat("tokens"))


def shard_totals(shards: list[dict]) -> dict:
    return {
        "shards": len(shards),
        "rows": sum(s["rows"] for s in shards),
        "tokens": sum(s["tokens"] for s in shards),
        "bytes": sum(s["bytes"] for s in shards),
    }


def partition_totals(shards: list[dict]) -> dict:
    """``{value: totals}`` of the shards in each partition folder (``language=de`` ->
    ``"de"``): documents, tokens, bytes and shards per language."""
    groups: dict = {}
    for s in shards:
        part = S.partition_of_path(s["path"])
        groups.setdefault(part[1] if part else S.UNDETERMINED, []).append(s)
    return {value: shard_totals(group) for value, group in sorted(groups.items())}


def accounting_holds(counts: dict, shards: list[dict]) -> bool:
    """The identity, and the kept counter agreeing with the rows actually written (less
    the mixture's extra copies, which are not documents of the input)."""
    return balanced(counts) and counts["kept"] == sum(s["rows"] - s.get("copies", 0) for s in shards)
