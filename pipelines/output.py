"""Beam glue for the end of the pipeline: tokenizer (given or trained), tokenization,
and the deterministic writers for shards/, rejected/ and errors/."""

from __future__ import annotations

import json

import apache_beam as beam
import numpy as np
import xxhash

from curate import io as cio
from curate import mixture as mix
from curate import shards as S
from curate import tokenize as tok
from curate.config import TokenizerConfig
from curate.document import Rejected
from curate.manifest import SHARD_INDEX_FILE, TOKENIZER_FILE
from pipelines.stages import (
    ERRORS,
    REJECTED,
    StageResult,
    count_kept,
    count_outcomes,
    count_stat,
    error_output,
    rejected_output,
)


def _train_tokenizer(sample, cfg, out_dir: str) -> bytes:
    t = cfg.train
    texts = [text for _, _, text in sorted(sample)]
    model = tok.train_model(texts, t.vocab_size, t.model_type, t.max_sentence_length, t.character_coverage)
    cio.write_bytes(cio.join(out_dir, TOKENIZER_FILE), model)
    return model


def tokenizer_model(docs, cfg: TokenizerConfig, model_proto, out_dir: str):
    """A singleton PCollection holding the serialized model: given, or trained on the
    ``sample_docs`` kept documents with the smallest id hashes (a deterministic sample)."""
    if model_proto is not None:
        return docs.pipeline | "tokenizer:given" >> beam.Create([model_proto])
    limit = cfg.max_doc_chars
    return (
        docs
        | "tokenizer:within_limit" >> beam.Filter(lambda d: limit is None or len(d.text) <= limit)
        | "tokenizer:sample_key" >> beam.Map(lambda d: (xxhash.xxh64_intdigest(d.id.encode()), d.id, d.text))
        | "tokenizer:sample" >> beam.combiners.Top.Smallest(cfg.train.sample_docs)
        | "tokenizer:train" >> beam.Map(_train_tokenizer, cfg, out_dir)
    )


class Tokenize(beam.DoFn):
    """Encodes each document; yields its shard row, as many times as the source's
    mixture weight says (:mod:`curate.mixture`; no weights: once)."""

    def __init__(self, cfg: TokenizerConfig, mixture: dict):
        self.cfg = cfg
        self.mixture = mixture

    def process(self, doc, model_proto):
        if not doc.text.strip():
            yield rejected_output(Rejected(doc, "tokenize", "empty_text"))
            return
        if self.cfg.max_doc_chars is not None and len(doc.text) > self.cfg.max_doc_chars:
            yield rejected_output(
                Rejected(doc, "tokenize", "too_long", {"chars": len(doc.text), "max_doc_chars": self.cfg.max_doc_chars})
            )
            return
        try:
            if doc.html is not None:
                raise ValueError("document still holds HTML: add the 'extract' stage to the config")
            processor = tok.load_processor(model_proto)
            (ids,) = tok.encode(processor, [doc.text], self.cfg.add_bos, self.cfg.add_eos)
            row = S.doc_row(doc, ids)
        except Exception as e:
            yield error_output(doc, "tokenize", e)
            return
        if not self.mixture:
            yield row
            return
        weight = self.mixture.get(doc.source, 1.0)
        n = mix.copies(doc.id, weight)
        count_stat(doc.source, mix.STAGE, "tokens_in", len(ids))
        if n == 0:
            yield rejected_output(Rejected(doc, mix.STAGE, "downsampled", {"weight": weight}))
            return
        count_stat(doc.source, mix.STAGE, "tokens", n * len(ids))
        if n > 1:
            count_stat(doc.source, mix.STAGE, "copies", n - 1)
        yield from mix.expand(row, n)


def tokenize(docs, cfg: TokenizerConfig, model_proto, out_dir: str, mixture: dict) -> StageResult:
    model = tokenizer_model(docs, cfg, model_proto, out_dir)
    res = docs | "tokenize" >> beam.ParDo(Tokenize(cfg, mixture), beam.pvalue.AsSingleton(model)).with_outputs(
        REJECTED, ERRORS, main="rows"
    )
    return count_outcomes(StageResult(res.rows, res[REJECTED], res[ERRORS]), "tokenize")


class _WriteShard(beam.DoFn):
    def __init__(self, out_dir, subdir, schema, compression, count_rows_as_kept, partition_by=None):
        self.out_dir = out_dir
        self.subdir = subdir  # shards, validation or rejected
        self.schema = schema
        self.compression = compression
        self.count_rows_as_kept = count_rows_as_kept
        self.partition_by = partition_by  # a column: keys are (value, index), counts per value

    def process(self, element, num_shards):
        key, grouped = element
        rows = list(grouped["rows"])
        data = S.parquet_bytes(rows, self.schema, self.compression)
        if self.partition_by is None:
            index, folder = key, self.subdir
        else:
            (value, index), folder = key, S.partition_dir(self.subdir, self.partition_by, key[0])
            num_shards = num_shards[value]
        rel = f"{folder}/{S.shard_name('part', index, num_shards)}"
        cio.write_bytes(cio.join(self.out_dir, rel), data)
        if self.count_rows_as_kept:
            for row in rows:
                if not row.get("copy_of"):  # a mixture's extra copies are counted as such
                    count_kept(row["source"], row["language"])
        yield S.shard_info(rel, rows, data)


def _sum_pairs(pairs):
    tokens = size = 0
    for t, b in pairs:
        tokens, size = tokens + t, size + b
    return tokens, size


def shard_count(rows, output_cfg, itemsize: int, label: str, validation: bool = False):
    """A singleton PCollection: how many shards this split gets (:func:`curate.shards.shard_count`),
    from the split's token and byte totals when the config gives a target size."""
    if output_cfg.shard_tokens is None and output_cfg.shard_bytes is None:
        return rows.pipeline | f"{label}:count" >> beam.Create([S.shard_count(output_cfg, 0, 0, validation)])
    return (
        rows
        | f"{label}:sizes" >> beam.Map(lambda r: (r["num_tokens"], S.payload_bytes(r, itemsize)))
        | f"{label}:totals" >> beam.CombineGlobally(_sum_pairs)
        | f"{label}:count" >> beam.Map(lambda totals: S.shard_count(output_cfg, *totals, validation))
    )


def partition_counts(rows, output_cfg, itemsize: int, label: str, validation: bool = False):
    """``(partition value, shard count)`` for each value of ``output.partition_by`` the
    split's rows take, each from that partition's own totals (:func:`curate.shards.shard_count`)."""
    column = output_cfg.partition_by
    return (
        rows
        | f"{label}:partition_sizes"
        >> beam.Map(lambda r: (S.partition_value(r, column), (r["num_tokens"], S.payload_bytes(r, itemsize))))
        | f"{label}:partition_totals" >> beam.CombinePerKey(_sum_pairs)
        | f"{label}:partition_count"
        >> beam.MapTuple(lambda value, totals: (value, S.shard_count(output_cfg, *totals, validation)))
    )


def write_partitioned(rows, counts, out_dir: str, subdir: str, schema, compression: str, label: str, column: str):
    """:func:`write_sharded` within each partition: ``subdir/column=value/part-...`` with
    that value's shard count from ``counts`` (:func:`partition_counts`)."""
    n = beam.pvalue.AsDict(counts)
    keyed = rows | f"{label}:key" >> beam.Map(
        lambda r, k: ((S.partition_value(r, column), S.shard_of(r["id"], k[S.partition_value(r, column)])), r), n
    )
    all_keys = counts | f"{label}:indices" >> beam.FlatMapTuple(lambda value, k: [((value, i), None) for i in range(k)])
    return (
        {"rows": keyed, "index": all_keys}
        | f"{label}:group" >> beam.CoGroupByKey()
        | f"{label}:write" >> beam.ParDo(_WriteShard(out_dir, subdir, schema, compression, True, column), n)
    )


def write_sharded(rows, count, out_dir: str, subdir: str, schema, compression: str, label: str, kept: bool):
    """Write rows as ``subdir/part-SSSSS-of-NNNNN.parquet``, row to shard ``shard_of(id, N)``
    with N from the singleton ``count``; every shard is written, empty ones too, so the
    layout depends on the input and config alone. Yields each shard's manifest entry."""
    n = beam.pvalue.AsSingleton(count)
    keyed = rows | f"{label}:key" >> beam.Map(lambda r, k: (S.shard_of(r["id"], k), r), n)
    all_keys = count | f"{label}:indices" >> beam.FlatMap(lambda k: [(i, None) for i in range(k)])
    return (
        {"rows": keyed, "index": all_keys}
        | f"{label}:group" >> beam.CoGroupByKey()
        | f"{label}:write" >> beam.ParDo(_WriteShard(out_dir, subdir, schema, compression, kept), n)
    )


def _write_errors(errors, out_dir: str):
    cio.write_bytes(cio.join(out_dir, S.ERRORS_FILE), S.errors_jsonl(errors))


def _write_shard_index(infos, out_dir: str):
    data = json.dumps(sorted(infos, key=lambda i: i["path"]), indent=1).encode()
    cio.write_bytes(cio.join(out_dir, SHARD_INDEX_FILE), data)


def write_outputs(rows, rejected, errors, out_dir: str, output_cfg, token_dtype: str) -> None:
    """shards/ (and validation/ with ``output.validation_fraction``; one folder per
    language under each with ``output.partition_by: language``), rejected/, errors/, and
    the shard index the manifest is built from."""
    schema = S.shard_schema(token_dtype)
    itemsize = np.dtype(token_dtype).itemsize
    fraction = output_cfg.validation_fraction
    # Copies go with their original: never on both sides of the boundary.
    train, held_out = rows | "split" >> beam.Partition(
        lambda r, _: int(S.is_validation(r.get("copy_of") or r["id"], fraction)), 2
    )
    train_count = shard_count(train, output_cfg, itemsize, "shards")  # also rejected/'s
    splits = [(train, "shards", False)] + ([(held_out, "validation", True)] if fraction > 0 else [])
    infos = []
    for split_rows, subdir, validation in splits:
        if output_cfg.partition_by is not None:
            counts = partition_counts(split_rows, output_cfg, itemsize, subdir, validation)
            infos.append(
                write_partitioned(
                    split_rows, counts, out_dir, subdir, schema, output_cfg.compression, subdir, output_cfg.partition_by
                )
            )
        else:
            count = (
                train_count
                if not validation
                else shard_count(split_rows, output_cfg, itemsize, subdir, validation=True)
            )
            infos.append(
                write_sharded(split_rows, count, out_dir, subdir, schema, output_cfg.compression, subdir, True)
            )
    _ = (
        infos
        | "shards:all_infos" >> beam.Flatten()
        | "shards:index_list" >> beam.combiners.ToList()
        | "shards:index_write" >> beam.Map(_write_shard_index, out_dir)
    )
    if output_cfg.write_rejected:
        rejected_rows = rejected | "rejected:rows" >> beam.Map(S.rejected_row)
        write_sharded(
            rejected_rows,
            train_count,
            out_dir,
            "rejected",
            S.REJECTED_SCHEMA,
            output_cfg.compression,
            "rejected",
            False,
        )
    _ = errors | "errors:list" >> beam.combiners.ToList() | "errors:write" >> beam.Map(_write_errors, out_dir)


def _write_stage_file(item, out_dir: str) -> None:
    rel, data = item
    cio.write_bytes(cio.join(out_dir, *rel.split("/")), data)


def write_stage_files(files, out_dir: str) -> None:
    """The stages' report files ``(path relative to the output, bytes)`` into ``out_dir``
    (the run's staging folder: committed with the shards)."""
    _ = files | "stage_files:write" >> beam.Map(_write_stage_file, out_dir)
