"""Beam glue for the end of the pipeline: tokenizer (given or trained), tokenization,
and the deterministic writers for shards/, rejected/ and errors/."""

from __future__ import annotations

import json

import apache_beam as beam
import xxhash

from curate import io as cio
from curate import shards as S
from curate import tokenize as tok
from curate.config import TokenizerConfig
from curate.document import Rejected
from pipelines.stages import error_output, ERRORS, REJECTED, StageResult, count_kept, rejected_output

from pipelines.manifest import SHARD_INDEX_FILE, TOKENIZER_FILE


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
    return (
        docs
        | "tokenizer:sample_key" >> beam.Map(lambda d: (xxhash.xxh64_intdigest(d.id.encode()), d.id, d.text))
        | "tokenizer:sample" >> beam.combiners.Top.Smallest(cfg.train.sample_docs)
        | "tokenizer:train" >> beam.Map(_train_tokenizer, cfg, out_dir)
    )


class Tokenize(beam.DoFn):
    """Encodes each document; yields ``(shard index, row)``."""

    def __init__(self, cfg: TokenizerConfig, num_shards: int):
        self.cfg = cfg
        self.num_shards = num_shards

    def process(self, doc, model_proto):
        if not doc.text.strip():
            yield rejected_output(Rejected(doc, "tokenize", "empty_text"))
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
        yield S.shard_of(doc.id, self.num_shards), row


def tokenize(docs, cfg: TokenizerConfig, model_proto, out_dir: str, num_shards: int) -> StageResult:
    model = tokenizer_model(docs, cfg, model_proto, out_dir)
    res = docs | "tokenize" >> beam.ParDo(Tokenize(cfg, num_shards), beam.pvalue.AsSingleton(model)).with_outputs(
        REJECTED, ERRORS, main="rows"
    )
    return StageResult(res.rows, res[REJECTED], res[ERRORS])


class _WriteShard(beam.DoFn):
    def __init__(self, out_dir, subdir, num_shards, compression, count_rows_as_kept):
        self.out_dir = out_dir
        self.subdir = subdir  # "shards" or "rejected": also decides the schema
        self.num_shards = num_shards
        self.compression = compression
        self.count_rows_as_kept = count_rows_as_kept

    def process(self, element):
        index, grouped = element
        rows = list(grouped["rows"])
        schema = S.SHARD_SCHEMA if self.subdir == "shards" else S.REJECTED_SCHEMA
        data = S.parquet_bytes(rows, schema, self.compression)
        rel = f"{self.subdir}/{S.shard_name('part', index, self.num_shards)}"
        cio.write_bytes(cio.join(self.out_dir, rel), data)
        if self.count_rows_as_kept:
            for row in rows:
                count_kept(row["source"], row["language"])
        yield S.shard_info(rel, rows, data)


def write_sharded(keyed_rows, out_dir: str, subdir: str, num_shards: int, compression: str, label: str, kept: bool):
    """Write ``(shard index, row)`` pairs as ``subdir/part-SSSSS-of-NNNNN.parquet``;
    every shard is written, empty ones too, so the layout depends on config alone."""
    p = keyed_rows.pipeline
    all_keys = p | f"{label}:indices" >> beam.Create([(i, None) for i in range(num_shards)])
    return (
        {"rows": keyed_rows, "index": all_keys}
        | f"{label}:group" >> beam.CoGroupByKey()
        | f"{label}:write" >> beam.ParDo(_WriteShard(out_dir, subdir, num_shards, compression, kept))
    )


def _write_errors(errors, out_dir: str):
    cio.write_bytes(cio.join(out_dir, S.ERRORS_FILE), S.errors_jsonl(errors))


def _write_shard_index(infos, out_dir: str):
    data = json.dumps(sorted(infos, key=lambda i: i["path"]), indent=1).encode()
    cio.write_bytes(cio.join(out_dir, SHARD_INDEX_FILE), data)


def write_outputs(rows, rejected, errors, out_dir: str, output_cfg) -> None:
    infos = write_sharded(rows, out_dir, "shards", output_cfg.num_shards, output_cfg.compression, "shards", True)
    _ = (
        infos
        | "shards:index_list" >> beam.combiners.ToList()
        | "shards:index_write" >> beam.Map(_write_shard_index, out_dir)
    )
    if output_cfg.write_rejected:
        keyed = rejected | "rejected:rows" >> beam.Map(
            lambda r: (S.shard_of(r.doc.id, output_cfg.num_shards), S.rejected_row(r))
        )
        write_sharded(keyed, out_dir, "rejected", output_cfg.num_shards, output_cfg.compression, "rejected", False)
    _ = (
        errors
        | "errors:list" >> beam.combiners.ToList()
        | "errors:write" >> beam.Map(_write_errors, out_dir)
    )


def _write_stage_file(item, out_dir: str) -> None:
    rel, data = item
    cio.write_bytes(cio.join(out_dir, *rel.split("/")), data)


def write_stage_files(files, out_dir: str) -> None:
    """The stages' report files ``(path relative to the output, bytes)`` into ``out_dir``
    (the run's staging folder: committed with the shards)."""
    _ = files | "stage_files:write" >> beam.Map(_write_stage_file, out_dir)
