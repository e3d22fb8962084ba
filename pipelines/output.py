"""Beam glue for the end of the pipeline: tokenizer (given or trained), tokenization,
and the deterministic writers for shards/, rejected/ and errors/."""

from __future__ import annotations

import json
import uuid

import apache_beam as beam
import xxhash
from apache_beam.transforms.window import GlobalWindows

from curate import io as cio
from curate import mixture as mix
from curate import shards as S
from curate import tokenize as tok
from curate.config import TokenizerConfig
from curate.document import Rejected
from curate.manifest import SHARD_INDEX_FILE, TOKENIZER_FILE
from curate.shard_runs import BUDGET, RunBuffer, merged_row_groups, split_run
from curate.spill import work_dir as spill_dir
from pipelines.spill import read_docs, spill
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
        # (Impulse then Map: the model's bytes go into the job graph once; beam.Create put
        # them there three times, its composite, MaybeReshuffle and FlatMap, each pickled
        # and bz2-compressed when the graph is built: 0.8 MB of graph for a 0.5 MB model)
        return (
            docs.pipeline
            | "tokenizer:given" >> beam.Impulse()
            | "tokenizer:model" >> beam.Map(lambda _, proto: proto, model_proto)
        )
    limit = cfg.max_doc_chars
    assert cfg.train is not None  # no model given: one is trained
    return (
        docs
        | "tokenizer:within_limit" >> beam.Filter(lambda d: limit is None or len(d.text) <= limit)
        | "tokenizer:sample_key" >> beam.Map(lambda d: (xxhash.xxh64_intdigest(d.id.encode()), d.id, d.text))
        | "tokenizer:sample" >> beam.combiners.Top.Smallest(cfg.train.sample_docs)
        | "tokenizer:train" >> beam.Map(_train_tokenizer, cfg, out_dir)
    )


class Tokenize(beam.DoFn):
    """Encodes the documents, ``tok.ENCODE_BATCH_DOCS`` (or ``ENCODE_BATCH_CHARS``) per
    call (:func:`curate.tokenize.encode_or_errors`); yields each one's shard row, as many
    times as the source's mixture weight says (:mod:`curate.mixture`; no weights: once).

    Batched because per document the call cost more than the encoding of a short text
    and used one thread (see docs/dedup-minhash.md, end to end)."""

    def __init__(self, cfg: TokenizerConfig, mixture: dict):
        self.cfg = cfg
        self.mixture = mixture
        self.processor = self.proto = None

    def start_bundle(self):
        self.pending: list = []  # documents waiting for their batch
        self.pending_chars = 0

    def process(self, doc, model_proto):
        if not doc.text.strip():
            yield rejected_output(Rejected(doc, "tokenize", "empty_text"))
            return
        if self.cfg.max_doc_chars is not None and len(doc.text) > self.cfg.max_doc_chars:
            yield rejected_output(
                Rejected(doc, "tokenize", "too_long", {"chars": len(doc.text), "max_doc_chars": self.cfg.max_doc_chars})
            )
            return
        if doc.html is not None:
            yield error_output(
                doc, "tokenize", ValueError("document still holds HTML: add the 'extract' stage to the config")
            )
            return
        if model_proto is not self.proto:  # the lookup compares the model's bytes: once per bundle, not per document
            self.processor, self.proto = tok.load_processor(model_proto), model_proto
        self.pending.append(doc)
        self.pending_chars += len(doc.text)
        if len(self.pending) >= tok.ENCODE_BATCH_DOCS or self.pending_chars >= tok.ENCODE_BATCH_CHARS:
            yield from self._encode()

    def finish_bundle(self):
        for out in self._encode():
            if isinstance(out, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(out.tag, GlobalWindows.windowed_value(out.value))
            else:
                yield GlobalWindows.windowed_value(out)

    def _encode(self):
        docs, self.pending, self.pending_chars = self.pending, [], 0
        if not docs:
            return
        encoded = tok.encode_or_errors(self.processor, [d.text for d in docs], self.cfg.add_bos, self.cfg.add_eos)
        for doc, ids in zip(docs, encoded):
            if isinstance(ids, Exception):
                yield error_output(doc, "tokenize", ids)
                continue
            try:
                row = S.doc_row(doc, ids)
            except Exception as e:
                yield error_output(doc, "tokenize", e)
                continue
            yield from self._rows(doc, row, ids)

    def _rows(self, doc, row, ids):
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
    """Each document's shard row(s) (:class:`Tokenize`). A tokenizer trained in the run
    exists only once every document was seen: the documents wait for it in work files
    (:mod:`pipelines.spill`), not in memory, and are read back to be tokenized."""
    model = tokenizer_model(docs, cfg, model_proto, out_dir)
    if model_proto is None:
        paths = spill(docs, spill_dir(out_dir, "tokenize"), "tokenize:spill")
        docs = read_docs(paths, "tokenize:read")
    res = docs | "tokenize" >> beam.ParDo(Tokenize(cfg, mixture), beam.pvalue.AsSingleton(model)).with_outputs(
        REJECTED, ERRORS, main="rows"
    )
    return count_outcomes(StageResult(res.rows, res[REJECTED], res[ERRORS]), "tokenize")


class SpillRows(beam.DoFn):
    """Rows into bounded run files, one buffer per output folder
    (:class:`curate.shard_runs.RunBuffer`; the process's buffers together hold about
    :data:`curate.shard_runs.RUN_BYTES`: :class:`curate.shard_runs.RunBudget`); yields each run's record (folder, file name,
    totals), so no row waits in memory for the shard count or crosses a shuffle. When
    ``kept``, counts each row (not a mixture's extra copies) as kept."""

    def __init__(self, work_dir: str, schema, folder_of, kept: bool):
        self.work_dir = work_dir
        self.schema = schema
        self.folder_of = folder_of
        self.kept = kept

    def start_bundle(self):
        self.buffers = {}

    def _write(self, folder):
        name = f"{uuid.uuid4().hex}.arrow"  # a retried bundle writes new runs; the failed one's are never read
        totals = self.buffers.pop(folder).write(cio.join(self.work_dir, "runs", name))
        return {"folder": folder, "name": name, **totals}

    def process(self, row):
        if self.kept and not row.get("copy_of"):  # a mixture's extra copies are counted as such
            count_kept(row["source"], row["language"])
        folder = self.folder_of(row)
        buffer = self.buffers.get(folder)
        if buffer is None:
            buffer = self.buffers[folder] = RunBuffer(self.schema)
        buffer.add(row)
        if BUDGET.report(id(self), sum(b.nbytes for b in self.buffers.values())):
            yield self._write(max(self.buffers, key=lambda f: self.buffers[f].nbytes))
            BUDGET.report(id(self), sum(b.nbytes for b in self.buffers.values()))

    def finish_bundle(self):
        for folder in sorted(self.buffers, key=repr):
            yield GlobalWindows.windowed_value(self._write(folder))
        BUDGET.report(id(self), 0)


class SplitRun(beam.DoFn):
    """Sorts a run by shard and id (:func:`curate.shard_runs.split_run`); yields
    ``((split, value, shard index), (sorted run, first batch, end batch))``."""

    def __init__(self, work_dir: str):
        self.work_dir = work_dir

    def process(self, run, counts):
        sorted_path = cio.join(self.work_dir, "sorted", run["name"])
        for index, first, end in split_run(
            cio.join(self.work_dir, "runs", run["name"]), sorted_path, counts[run["folder"]]
        ):
            yield (*run["folder"], index), (sorted_path, first, end)


class WriteShard(beam.DoFn):
    """Merges a shard's sorted pieces into ``part-SSSSS-of-NNNNN.parquet``
    (:func:`curate.shard_runs.merged_row_groups`, :func:`curate.shards.write_parquet`),
    streaming; yields its manifest entry."""

    def __init__(self, out_dir: str, work_dir: str, schema, compression: str, partition_by):
        self.out_dir = out_dir
        self.work_dir = work_dir
        self.schema = schema
        self.compression = compression
        self.partition_by = partition_by

    def process(self, element, counts):
        (split, value, index), grouped = element
        folder = (split, value)
        schema = S.REJECTED_SCHEMA if folder == S.REJECTED_FOLDER else self.schema
        rel = f"{S.folder_dir(folder, self.partition_by)}/{S.shard_name('part', index, counts[folder])}"
        merge_prefix = cio.join(self.work_dir, "merge", rel.replace("/", "_"))
        groups = merged_row_groups(sorted(grouped["pieces"]), schema, merge_prefix)
        with cio.open_write(cio.join(self.out_dir, rel)) as f:
            info = S.write_parquet(groups, f, schema, self.compression)
        yield {"path": rel, **info}


def _sum_pairs(pairs):
    tokens = size = 0
    for t, b in pairs:
        tokens, size = tokens + t, size + b
    return tokens, size


def _all_shards(counts: dict):
    """Every shard of every folder, empty ones too: the layout depends on the input and
    config alone."""
    for (split, value), k in sorted(counts.items(), key=repr):
        for index in range(k):
            yield (split, value, index), None


def write_outputs(rows, rejected: list, errors: list, out_dir: str, output_cfg, token_dtype: str) -> None:
    """``rows``: the kept rows; ``rejected`` and ``errors``: lists of PCollections of
    Rejected and ErrorRecord, one per reader and stage. Writes shards/ (and validation/ with ``output.validation_fraction``; one folder per
    language under each with ``output.partition_by: language``), rejected/, errors/, and
    the shard index the manifest is built from. Rows go to sorted run files in the work
    folder and are merged per shard (:mod:`curate.shard_runs`): only file names and
    totals cross the shuffles, so memory does not grow with the number of rows."""
    schema = S.shard_schema(token_dtype)
    work_dir = spill_dir(out_dir, "output")
    column, fraction = output_cfg.partition_by, output_cfg.validation_fraction
    runs = [
        rows
        | "shards:spill"
        >> beam.ParDo(SpillRows(work_dir, schema, lambda r: S.output_folder(r, fraction, column), kept=True))
    ]
    if output_cfg.write_rejected:
        for i, drops in enumerate(rejected):  # each where it is produced: no flatten of documents
            runs.append(
                drops
                | f"rejected:rows:{i}" >> beam.Map(S.rejected_row)
                | f"rejected:spill:{i}"
                >> beam.ParDo(SpillRows(work_dir, S.REJECTED_SCHEMA, lambda r: S.REJECTED_FOLDER, kept=False))
            )
    counts = (
        runs[0]
        | "shards:sizes" >> beam.Map(lambda run: (run["folder"], (run["tokens"], run["payload_bytes"])))
        | "shards:totals" >> beam.CombinePerKey(_sum_pairs)
        | "shards:totals_dict" >> beam.combiners.ToDict()
        | "shards:counts" >> beam.Map(S.folder_counts, output_cfg, output_cfg.write_rejected)
    )
    n = beam.pvalue.AsSingleton(counts)
    all_runs = runs[0] if len(runs) == 1 else tuple(runs) | "shards:all_runs" >> beam.Flatten()
    infos = (
        {
            "pieces": all_runs | "shards:split" >> beam.ParDo(SplitRun(work_dir), n),
            "index": counts | "shards:indices" >> beam.FlatMap(_all_shards),
        }
        | "shards:group" >> beam.CoGroupByKey()
        | "shards:write" >> beam.ParDo(WriteShard(out_dir, work_dir, schema, output_cfg.compression, column), n)
    )
    _ = (
        infos
        | "shards:index_rows" >> beam.Filter(lambda info: not info["path"].startswith("rejected/"))
        | "shards:index_list" >> beam.combiners.ToList()
        | "shards:index_write" >> beam.Map(_write_shard_index, out_dir)
    )
    errors = tuple(errors) | "errors:all" >> beam.Flatten()  # few and small: held to be sorted
    _ = errors | "errors:list" >> beam.combiners.ToList() | "errors:write" >> beam.Map(_write_errors, out_dir)


def _write_errors(errors, out_dir: str):
    cio.write_bytes(cio.join(out_dir, S.ERRORS_FILE), S.errors_jsonl(errors))


def _write_shard_index(infos, out_dir: str):
    data = json.dumps(sorted(infos, key=lambda i: i["path"]), indent=1).encode()
    cio.write_bytes(cio.join(out_dir, SHARD_INDEX_FILE), data)


def _write_stage_file(item, out_dir: str) -> None:
    rel, data = item
    cio.write_bytes(cio.join(out_dir, *rel.split("/")), data)


def write_stage_files(files, out_dir: str) -> None:
    """The stages' report files ``(path relative to the output, bytes)`` into ``out_dir``
    (the run's staging folder: committed with the shards)."""
    _ = files | "stage_files:write" >> beam.Map(_write_stage_file, out_dir)
