r"""Beam glue for ``sentence_dedup`` and ``token_dedup`` (core: ``curate/dedup/``).

Both run the same steps; the documents wait in work files (:mod:`pipelines.spill`),
so no shuffle and no side input carries a document::

    docs --spill--> work files --read, Batch--EmitSpans--> (bucket, SpanBlock | CopyBlock)
            |                                               | GroupByKey(bucket)
            |                                               | keep rule over the bucket (numpy)
            |                                               v
            |                          (work file, (doc id, SpanDecision)) per bucket
            |                                               | written to decision files beside
            |                                               v   each work file
            +------read again, each document with ---- its decisions merged (merge_decisions,
                   the file's decision files read           folded as they are read)
                   -> kept / rejected / errors

A sentence span key or a token window is a few bytes; grouping them per hash bucket
rather than per key makes one shuffle element per batch and bucket instead of one
per span (``curate.dedup.spans.bucket_blocks``), and each block names the work file
of its documents once. A ``CopyBlock`` per batch and bucket of document ids lets the
keep rule find ids that name several documents (a reader that produced the same
record twice): one copy is deduplicated, the others dropped as ``duplicate_id``.
A document no decision names is applied with None (it loses nothing; its signals
are still stored). Drops and errors are counted by
:func:`pipelines.stages.count_outcomes`; what was removed is counted under
``stat|<source>|<stage>|<name>`` (``tokens_removed``, ``bytes_removed``, ...) from
the core's statistics (:meth:`curate.dedup.spans.SpanStage.apply_decision`), which
the manifest sums as ``counts["stats"]["<stage>:<name>"]``.
"""

from __future__ import annotations

import itertools

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from curate import io as cio
from curate.dedup.sentences import SentenceDedup
from curate.dedup.spans import (
    DocCopy,
    SpanBlock,
    SpanDecision,
    bucket_blocks,
    copy_blocks,
    decide_bucket,
    merge_decisions,
    text_hash,
)
from curate.dedup.token_spans import TokenDedup
from curate.spill import KeyedSpillWriter, default_work_dir, read_spill
from pipelines import spill
from pipelines.stages import ERRORS, error_output

BATCH_DOCS = 256  # documents per EmitSpans call: span keys are shuffled per bucket and batch
DECIDED = "decided"


def _block_bytes(block) -> int:
    """Room a SpanBlock or CopyBlock takes in a work file's frame."""
    if isinstance(block, SpanBlock):
        return len(block.positions) * 6 + 64 * len(block.doc_ids)
    return 160 * len(block.copies)


class _EmitSpans(beam.DoFn):
    """For a batch of :class:`pipelines.spill.Located` documents: their span
    occurrences, one SpanBlock per hash bucket, and their ids, one CopyBlock per bucket
    of ids, written to work files of their bucket; ``(bucket, path)`` of each finished
    file. A document whose span keys fail becomes an error record, and a decision (on
    DECIDED) that tells the apply step to skip it."""

    def __init__(self, core_cls, params, directory: str):
        self.core_cls, self.stage, self.params, self.core = core_cls, core_cls.name, params, None
        self.directory = directory
        self.writer = None

    def setup(self):
        self.core = self.core_cls(self.params)
        self.core.setup()

    def start_bundle(self):
        # frames of 256 KB: a bundle keeps one open per bucket
        self.writer = KeyedSpillWriter(self.directory, _block_bytes, frame_bytes=256 << 10)

    def process(self, batch):
        keyed, files, copies = [], [], []
        for path, doc in batch:
            try:
                keys = self.core.doc_span_keys(doc)
            except Exception as e:  # a bad record becomes an error record; the run goes on
                yield error_output(doc, self.stage, e)
                skip = SpanDecision(errored=(text_hash(doc.text),))
                yield beam.pvalue.TaggedOutput(DECIDED, ((path, doc.id), skip))
                continue
            keyed.append((doc.id, *keys))
            files.append(path)
            copies.append(DocCopy(doc.id, path, (doc.source, text_hash(doc.text))))
        buckets = self.params.hash_buckets
        for bucket, block in itertools.chain(bucket_blocks(keyed, buckets, files), copy_blocks(copies, buckets)):
            done = self.writer.add(bucket, block)
            if done is not None:
                yield done

    def finish_bundle(self):
        for done in self.writer.close():
            yield GlobalWindows.windowed_value(done)


def _decide(bucket_paths, p):
    """One bucket: its blocks read back from their work files, through the keep rule ->
    ``((work file, doc id), SpanDecision)`` (a document gets one from each bucket it
    has spans in; the apply step merges them)."""
    _, paths = bucket_paths
    blocks = (block for path in paths for block in read_spill(path))
    for path, doc_id, d in decide_bucket(blocks, p.span_len, p.within_document, p.keep_first_whole):
        yield (path, doc_id), d


def _by_file(key, decision: SpanDecision):
    path, doc_id = key
    return path, (doc_id, decision)


class SpanDedup(beam.PTransform):
    """``PCollection[Document] -> StageResult`` for ``sentence_dedup`` or ``token_dedup``."""

    def __init__(self, core_cls, params, work_dir=None):
        super().__init__(label=f"stage:{core_cls.name}")
        self.core_cls, self.params = core_cls, params
        self.work_dir = work_dir or default_work_dir()

    def expand(self, docs):
        core_cls, p = self.core_cls, self.params
        paths = spill.spill(docs, self.work_dir, "Spill")
        blocks_dir = cio.join(self.work_dir, "blocks")
        emitted = (
            spill.read_located(paths, "ReadForSpans")
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=BATCH_DOCS)
            | "EmitSpans"
            >> beam.ParDo(_EmitSpans(core_cls, p, blocks_dir)).with_outputs(DECIDED, ERRORS, main="blocks")
        )
        decided = emitted.blocks | "GroupBuckets" >> beam.GroupByKey() | "KeepRule" >> beam.FlatMap(_decide, p)
        decisions = [
            decided | "ByFile" >> beam.MapTuple(_by_file),
            emitted[DECIDED] | "SkipsByFile" >> beam.MapTuple(_by_file),
        ]
        applied = spill.apply_decisions(paths, decisions, core_cls(p), core_cls.name, "Apply", merge_decisions)
        errors = (emitted[ERRORS], applied.errors) | "Errors" >> beam.Flatten()
        return applied._replace(errors=errors)


def sentence_dedup(params, work_dir=None) -> SpanDedup:
    """The Beam transform ``sentence_dedup`` declares."""
    return SpanDedup(SentenceDedup, params, work_dir)


def token_dedup(params, work_dir=None) -> SpanDedup:
    """The Beam transform ``token_dedup`` declares."""
    return SpanDedup(TokenDedup, params, work_dir)
