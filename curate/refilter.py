"""``curate refilter``: new thresholds over an earlier run's output, without rescoring.

Every filter stores its signals in the shards' ``metadata`` column
(``metadata["signals"][stage]``). Refiltering reads them back and asks each filter
stage of the new config for its ``decide(signals)``, in config order, so a new
threshold costs one pass over the shards: no extraction, no model, no tokenization
(the kept rows keep their tokens).

What it can and cannot do:

- it tightens or changes the *thresholds* of filter stages that ran (the fields each
  config dataclass declares with :func:`curate.params.threshold`: lengths, ratios,
  languages, the quality stage's mode, threshold or Pareto alpha);
- it refuses, with one line naming the parameter, a config whose *scoring parameters*
  differ from the ones the stored signals were computed with (Gopher's stop words,
  C4's line rules, the classifier's model, the language-ID backend, ...): the signals
  would not mean what the new config says. Each document's signals carry the
  fingerprint of their scoring parameters (``metadata["scored_with"]``), compared with
  the new config's on every row; the run's manifest names the parameter that differs;
- it cannot bring back a document an earlier run dropped: that document is not in the
  shards, and the stages after the one that dropped it never scored it;
- stages of the new config that are not filters (extraction, deduplication) are not
  re-applied: listed with the run's parameters they are skipped (``not_reapplied``),
  with other parameters they are refused; a stage the earlier run did not have is a
  configuration error (its signals do not exist): run the pipeline again instead.

It reads a run's shards and writes the same layout as a run (:func:`refilter`):
``shards/`` (same shard count and row placement as the input, so the work streams one
shard at a time; kept rows keep their tokens), ``rejected/`` (the documents this refilter
dropped, with the signals that tripped the rule) when ``output.write_rejected`` is set,
``errors/`` (rows whose signals cannot be read), and ``manifest.json`` whose counts obey
the accounting identity over the input's kept rows. No Beam: one pass on one process,
one shard in memory at a time.
"""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Iterable, Iterator, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from curate import io as cio
from curate import mixture as mix
from curate import registry
from curate import shards as S
from curate.config import ConfigError, OutputConfig, StageConfig, build, hash_config, parse_stages
from curate.counters import (
    counts_from_counters,
    dropped_name,
    error_name,
    input_name,
    kept_name,
    language_name,
    stat_name,
)
from curate.document import Document, ErrorRecord, Rejected
from curate.manifest import accounting_holds, partition_totals, shard_totals
from curate.outdir import OutputDir
from curate.params import first_difference, scoring_params
from curate.stats import RunStats, stage_thresholds, write_stats

STAGE = "refilter"  # the stage name on error records about unreadable rows


class RefilterError(ValueError):
    """The new config cannot be applied to this output: a one-line message."""


@dataclasses.dataclass
class RefilterConfig:
    stages: list  # [StageConfig] of the filter stages to re-apply, in order
    output: OutputConfig
    not_reapplied: list  # names of the new config's stages that are not filters
    raw: dict


def run_scoring_params(raw_stages) -> dict:
    """``{stage name: scoring parameters}`` of a run's ``stages:`` as written in its
    manifest; a stage whose entry no longer validates (a model file since removed) maps
    to None, and then only the fingerprints stored on the rows are compared."""
    out: dict[str, Optional[dict]] = {}
    for entry in raw_stages or []:
        name = entry if isinstance(entry, str) else next(iter(entry), None) if isinstance(entry, dict) else None
        if not isinstance(name, str):
            continue
        try:
            (st,) = parse_stages([entry])
        except ConfigError:
            out[name] = None
            continue
        out[name] = scoring_params(st.params)
    return out


def _check_same_scoring(st: StageConfig, scored: Optional[dict], is_filter: bool) -> None:
    """One line naming the first scoring parameter of ``st`` that differs from the run's."""
    if scored is None:
        return
    new = scoring_params(st.params)
    diff = first_difference(scored, new)
    if diff is None:
        return
    was, now = scored.get(diff), new.get(diff)
    if is_filter:
        raise ConfigError(
            f"stages.{st.name}.{diff}: a scoring parameter (the stored signals were computed with "
            f"{was!r}, the config says {now!r}); changing it needs a rescore: run the pipeline again"
        )
    raise ConfigError(
        f"stages.{st.name}.{diff}: the run used {was!r}, the config says {now!r}; refilter re-applies "
        "filter thresholds only: run the pipeline again to change this stage"
    )


def parse_config(raw, input_stages, scored: Optional[dict] = None) -> RefilterConfig:
    """Validate the new config: a full run config or just ``stages:`` (and ``output:``).

    ``input_stages`` maps the stages of the run being refiltered to their
    ``applies_to`` (None: every source); a list of names means no stage was limited.
    A stage of the new config without its own ``applies_to`` keeps the run's: the
    documents of other sources were never scored by it. ``scored`` maps them to the
    scoring parameters they ran with (:func:`run_scoring_params`), when known: a stage
    of the new config whose scoring parameters differ is refused."""
    if not isinstance(raw, dict) or "stages" not in raw:
        raise ConfigError("stages: missing required key (the filters to re-apply)")
    stages = parse_stages(raw["stages"])
    output = build(OutputConfig, raw.get("output"), "output")
    ran = dict(input_stages) if isinstance(input_stages, dict) else dict.fromkeys(input_stages)
    scored = scored or {}
    filters, skipped = [], []
    for st in stages:
        is_filter = registry.stage(st.base).is_filter
        if st.name not in ran:
            raise ConfigError(
                f"stages.{st.name}: the run being refiltered had no such stage, so there are no "
                "stored signals for it; run the pipeline with it instead"
            )
        _check_same_scoring(st, scored.get(st.name), is_filter)
        if not is_filter:
            skipped.append(st.name)
            continue
        if st.applies_to is None:
            st.applies_to = ran[st.name]
        filters.append(st)
    if not filters:
        raise ConfigError("stages: no filter stage to re-apply")
    return RefilterConfig(filters, output, skipped, raw)


def _row_document(row: dict, metadata: dict) -> Document:
    return Document(
        id=row["id"],
        text=row["text"],
        source=row["source"],
        provenance=json.loads(row["provenance"]) if row.get("provenance") else {},
        metadata=metadata,
    )


@dataclasses.dataclass
class RowOutcome:
    """One input row's fate: kept (``rejected`` and ``error`` both None) or not."""

    row: dict
    rejected: Optional[Rejected] = None
    error: Optional[ErrorRecord] = None


def refilter_rows(rows: Iterable[dict], stages: list[StageConfig]) -> Iterator[RowOutcome]:
    """Apply the stages' ``decide`` to the signals stored in each shard row.

    A row whose metadata is not JSON or lacks a stage's signals becomes an error record;
    a ``decide`` that raises (signals of an incompatible shape, a Pareto seed that
    differs from the stored one) stops the refilter with :class:`RefilterError`, since
    it would fail the same way on every row, and so does signals whose stored
    fingerprint differs from the new config's (other scoring parameters)."""
    filters = [
        (
            st.name,
            registry.stage(st.base).make(st.params, st.name, setup=False),
            None if st.applies_to is None else set(st.applies_to),
        )
        for st in stages
    ]
    for row in rows:
        try:
            metadata = json.loads(row["metadata"] or "{}")
            signals = metadata["signals"]
        except (ValueError, KeyError, TypeError) as e:
            yield RowOutcome(row, error=_error(row, f"unreadable metadata: {type(e).__name__}: {e}"))
            continue
        outcome = RowOutcome(row)
        for name, flt, sources in filters:
            if sources is not None and row["source"] not in sources:
                continue  # applies_to: documents of other sources pass untouched
            sig = signals.get(name) if isinstance(signals, dict) else None
            if not isinstance(sig, dict):
                outcome.error = _error(row, f"no stored signals for stage {name}")
                break
            stored = (metadata.get("scored_with") or {}).get(name)
            if stored is not None and stored != flt.fingerprint:
                raise RefilterError(
                    f"stages.{name}: document {row['id']} was scored with other scoring parameters than "
                    f"the config's (fingerprint {stored}, the config gives {flt.fingerprint}); run the pipeline again"
                )
            try:
                reason = flt.decide(sig)
            except Exception as e:
                raise RefilterError(f"stages.{name}: cannot decide on document {row['id']}: {e}") from None
            if reason is not None:
                doc = _row_document(row, metadata)
                outcome.rejected = Rejected(doc, name, reason, {"signals": sig})
                break
        yield outcome


def _error(row: dict, message: str) -> ErrorRecord:
    return ErrorRecord(
        input_file=row.get("input_file") or "",
        locator=row.get("record_id") or row["id"],
        stage=STAGE,
        message=message,
        source=row.get("source") or "unknown",
        doc_id=row["id"],
    )


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
    stages: dict[str, Optional[list]] = {}
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
