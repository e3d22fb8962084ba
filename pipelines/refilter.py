"""``curate refilter --input OUT --config NEW.yaml --output NEW_OUT``: reads a run's
shards, re-applies the new config's filter thresholds to the stored signals
(:mod:`curate.refilter`) and writes the same layout as a run: ``shards/`` (same shard
count and row placement as the input, so the work streams one shard at a time; kept
rows keep their tokens), ``rejected/`` (the documents this refilter dropped, with the
signals that tripped the rule) when ``output.write_rejected`` is set, ``errors/`` (rows
whose signals cannot be read), and ``manifest.json`` whose counts obey the accounting
identity over the input's kept rows.

Beam-free: one pass on one process, one shard in memory at a time.
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from curate import io as cio
from curate import mixture as mix
from curate import shards as S
from curate.config import hash_config
from curate.outdir import OutputDir
from curate.refilter import STAGE, RefilterError, parse_config, refilter_rows, run_scoring_params
from curate.stats import RunStats, stage_thresholds, write_stats
from pipelines.counters import (
    counts_from_counters,
    dropped_name,
    error_name,
    input_name,
    kept_name,
    language_name,
    stat_name,
)
from pipelines.manifest import accounting_holds, partition_totals, shard_totals


def _read_manifest(input_dir: str) -> dict:
    try:
        return json.loads(cio.read_bytes(cio.join(input_dir, "manifest.json")))
    except FileNotFoundError:
        raise RefilterError(f"{input_dir}: no manifest.json (not the output of a curate run)") from None


def _signal_stages(manifest: dict) -> dict:
    """The stages whose signals the shards hold, each with its ``applies_to``: a run's
    configured stages, or what a refilter output inherited from its input."""
    if "signal_stages" in manifest:
        return manifest["signal_stages"]
    stages = {}
    for entry in (manifest.get("config") or {}).get("stages") or []:
        if isinstance(entry, str):
            stages[entry] = None
        else:
            ((name, params),) = entry.items()
            stages[name] = params.get("applies_to") if isinstance(params, dict) else None
    return stages


def refilter(input_dir: str, raw_config: dict, output_dir: str, overwrite: bool = False) -> dict:
    """Refilter ``input_dir`` into ``output_dir``; return the new manifest. The output is
    written like a run's: staged, then committed whole (:mod:`curate.outdir`)."""
    manifest = _read_manifest(input_dir)
    signal_stages = _signal_stages(manifest)
    scored = manifest.get("scoring_params")
    if scored is None:
        scored = run_scoring_params((manifest.get("config") or {}).get("stages"))
    cfg = parse_config(raw_config, signal_stages, scored)
    out = OutputDir.prepare(output_dir, [input_dir], overwrite)
    try:
        new = _refilter_into(input_dir, manifest, signal_stages, scored, cfg, out.staging)
        out.commit(new)
    finally:
        out.release()
    return new


def _refilter_into(input_dir, manifest, signal_stages, scored, cfg, output_dir) -> dict:
    counters: dict[str, int] = {}

    def inc(name):
        counters[name] = counters.get(name, 0) + 1

    token_dtype = manifest.get("token_dtype", "uint32")  # older manifests: uint32
    schema = S.shard_schema(token_dtype)
    # The training shards and, when the run held some out, the validation shards.
    shards_in = (manifest.get("shards") or []) + (manifest.get("validation_shards") or [])
    shards_out, errors = [], []
    stats = RunStats()
    for shard in sorted(shards_in, key=lambda s: s["path"]):
        path = cio.join(input_dir, shard["path"])
        try:
            table = pq.read_table(io.BytesIO(cio.read_bytes(path)))
        except (OSError, pa.ArrowException) as e:  # missing, truncated, not Parquet
            raise RefilterError(f"{path}: cannot read shard ({type(e).__name__}: {e})") from None
        kept, rejected = [], []
        for out in refilter_rows(table.to_pylist(), cfg.stages):
            source = out.row["source"]
            if out.row.get("copy_of"):
                # A mixture's extra copy has its original's signals, so its original's
                # fate; it is not an input document: only a kept copy is counted, as such.
                if out.error is None and out.rejected is None:
                    kept.append(out.row)
                    inc(stat_name(source, mix.STAGE, "copies"))
                continue
            inc(input_name(source))
            if out.error is not None:
                errors.append(out.error)
                inc(error_name(source, out.error.stage))
                stats.add_error(out.error)
            elif out.rejected is not None:
                rejected.append(S.rejected_row(out.rejected))
                inc(dropped_name(source, out.rejected.stage, out.rejected.reason))
                stats.add_rejected(out.rejected)
            else:
                kept.append(out.row)
                stats.add_kept_row(out.row)
                inc(kept_name(source))
                inc(language_name(source, out.row.get("language")))
        # Same file name and row placement as the input: shard_of(id) is unchanged.
        rel = shard["path"]
        data = S.parquet_bytes(kept, schema, cfg.output.compression)
        cio.write_bytes(cio.join(output_dir, rel), data)
        shards_out.append(S.shard_info(rel, kept, data))
        if cfg.output.write_rejected:  # validation/part-X -> rejected/validation/part-X
            rel_rej = "rejected/" + rel.split("/", 1)[1] if rel.startswith("shards/") else "rejected/" + rel
            cio.write_bytes(
                cio.join(output_dir, rel_rej), S.parquet_bytes(rejected, S.REJECTED_SCHEMA, cfg.output.compression)
            )
    tokenizer = manifest.get("tokenizer") or {}
    if tokenizer.get("trained"):  # trained in that run, kept in its folder: copy it along
        cio.write_bytes(cio.join(output_dir, tokenizer["path"]), cio.read_bytes(cio.join(input_dir, tokenizer["path"])))
    cio.write_bytes(cio.join(output_dir, S.ERRORS_FILE), S.errors_jsonl(errors))

    counts = counts_from_counters(counters)
    new = {
        "curate_version": manifest.get("curate_version"),
        "config": cfg.raw,
        "config_hash": hash_config(cfg.raw),
        "refilter_of": {
            "path": input_dir,
            "config_hash": manifest.get("config_hash"),
            "kept": (manifest.get("counts") or {}).get("kept"),
        },
        "reapplied_stages": [s.name for s in cfg.stages],
        "signal_stages": signal_stages,
        "scoring_params": scored,
        "not_reapplied": cfg.not_reapplied,
        "tokenizer": manifest.get("tokenizer"),
        "token_dtype": token_dtype,
    }
    train = [s for s in shards_out if s["path"].startswith("shards/")]
    new["shards"], new["totals"] = train, shard_totals(train)
    if "validation_shards" in manifest:
        held_out = [s for s in shards_out if s["path"].startswith("validation/")]
        new["validation_fraction"] = manifest.get("validation_fraction")
        new["validation_shards"], new["validation_totals"] = held_out, shard_totals(held_out)
    if manifest.get("partition_by"):  # same folders as the input: shard paths are kept
        new["partition_by"] = manifest["partition_by"]
        new["partitions"] = partition_totals(train)
        if "validation_shards" in manifest:
            new["validation_partitions"] = partition_totals(held_out)
    new["counts"] = counts
    new["balanced"] = accounting_holds(counts, shards_out)
    if cfg.output.stats:
        order = [*new["reapplied_stages"], STAGE]
        write_stats(output_dir, stats, order, stage_thresholds(cfg.stages), new)
    return new
