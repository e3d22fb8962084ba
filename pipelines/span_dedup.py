r"""Beam glue for ``sentence_dedup`` and ``token_dedup`` (core: ``curate/dedup/``).

Both run the same three steps, so a whole document crosses exactly one shuffle::

    docs --Batch--EmitSpans--> (doc_id, doc)  ------------------------------+
                      \------> span keys, one block per (batch, hash bucket) |
                                 | GroupByKey(bucket)                         |
                                 | keep rule over the bucket (numpy)          |
                                 v                                            v
                     (doc_id, (remove, keep)) ---CoGroupByKey(doc_id)---> apply
                                                  -> kept / rejected / errors

A sentence span key or a token window is a few bytes; grouping them per hash bucket
rather than per key makes one shuffle element per batch and bucket instead of one
per span (``curate.dedup.spans.bucket_blocks``). Drops and errors are counted with
:func:`pipelines.stages.count_drop` / ``count_error``; what was removed is counted
under ``stat|<source>|<stage>|<name>`` (``tokens_removed``, ``bytes_removed``, ...),
which the manifest sums as ``counts["stats"]["<stage>:<name>"]``.
"""

from __future__ import annotations

import apache_beam as beam

from curate.dedup.sentences import SentenceDedup
from curate.dedup.spans import bucket_blocks, find_duplicates, merge_blocks
from curate.dedup.token_spans import TokenDedup
from curate.document import Drop, Rejected
from pipelines.stages import (
    ERRORS,
    REJECTED,
    StageResult,
    count_stat,
    error_output,
    rejected_output,
)

SPANS = "spans"
BATCH_DOCS = 256  # documents per EmitSpans call: span keys are shuffled per bucket and batch


class _CoreDoFn(beam.DoFn):
    """Holds the stage's core object, built (and its model loaded) once per worker."""

    def __init__(self, core_cls, params):
        self.core_cls, self.stage, self.params, self.core = core_cls, core_cls.name, params, None

    def setup(self):
        self.core = self.core_cls(self.params)
        self.core.setup()


class _EmitSpans(_CoreDoFn):
    """For a batch of documents: ``(doc.id, doc)`` each on the main output, and their
    span occurrences on SPANS, one block per hash bucket."""

    def process(self, batch):
        keyed = []
        for doc in batch:
            try:
                keys = self.core.doc_span_keys(doc)
            except Exception as e:  # a bad record becomes an error record; the run goes on
                yield error_output(doc, self.stage, e)
                continue
            keyed.append((doc.id, *keys))
            yield doc.id, doc
        for item in bucket_blocks(keyed, self.params.hash_buckets):
            yield beam.pvalue.TaggedOutput(SPANS, item)


def _bucket_duplicates(kv, span_len: int, within_document: bool):
    """One bucket's blocks -> ``(doc_id, (remove, keep))`` per document concerned."""
    _, blocks = kv
    names, ranks, pos, hi, lo = merge_blocks(blocks)
    if len(names) < 2 and not within_document:
        return []  # one document alone cannot hold a cross-document duplicate
    found = find_duplicates(ranks, pos, hi, lo, span_len, within_document)
    return [(names[rank], (d.remove, d.keep)) for rank, d in found.items()]


class _ApplyRemovals(_CoreDoFn):
    """Joins one document with the positions it loses and cuts them."""

    def process(self, kv):
        _, grouped = kv
        # Ids are unique unless a reader produced the same record twice; then one copy
        # (chosen by content, not arrival order) is deduplicated and the others dropped.
        # No document: it errored in EmitSpans and is already counted.
        docs = sorted(grouped["doc"], key=lambda d: (d.source, d.text))
        for other in docs[1:]:
            yield rejected_output(Rejected(other, self.stage, "duplicate_id", {"kept_copy_of": other.id}))
        if docs:
            yield from self._apply(docs[0], list(grouped["dup"]))

    def _apply(self, doc, decisions):
        remove = [int(p) for r, _ in decisions for p in r]
        keep = [int(p) for _, k in decisions for p in k]
        try:
            out = self.core.apply(doc, remove, keep)
        except Exception as e:  # a bad record becomes an error record; the run goes on
            yield error_output(doc, self.stage, e)
            return
        signals = doc.signals(self.stage) or {}
        if remove:
            count_stat(doc.source, self.stage, "occurrences_removed", len(remove))
        if signals.get("chars_removed"):
            count_stat(doc.source, self.stage, "docs_edited")
        for name in self.core.STATS:
            if signals.get(name):
                count_stat(doc.source, self.stage, name, signals[name])
        if isinstance(out, Drop):
            yield rejected_output(Rejected(doc, self.stage, out.reason, out.details))
        else:
            yield out


class SpanDedup(beam.PTransform):
    """``PCollection[Document] -> StageResult`` for ``sentence_dedup`` or ``token_dedup``."""

    def __init__(self, core_cls, params):
        super().__init__(label=f"stage:{core_cls.name}")
        self.core_cls, self.params = core_cls, params

    def expand(self, docs):
        core_cls, params = self.core_cls, self.params
        emitted = (
            docs
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=BATCH_DOCS)
            | "EmitSpans" >> beam.ParDo(_EmitSpans(core_cls, params)).with_outputs(SPANS, ERRORS, main="docs")
        )
        dups = (
            emitted[SPANS]
            | "GroupBuckets" >> beam.GroupByKey()
            | "KeepRule" >> beam.FlatMap(_bucket_duplicates, params.span_len, params.within_document)
        )
        applied = (
            {"doc": emitted.docs, "dup": dups}
            | "JoinByDocId" >> beam.CoGroupByKey()
            | "Apply" >> beam.ParDo(_ApplyRemovals(core_cls, params)).with_outputs(REJECTED, ERRORS, main="kept")
        )
        errors = (emitted[ERRORS], applied[ERRORS]) | "Errors" >> beam.Flatten()
        return StageResult(applied.kept, applied[REJECTED], errors)


def sentence_dedup(params, work_dir=None) -> SpanDedup:
    """The Beam transform ``sentence_dedup`` declares."""
    return SpanDedup(SentenceDedup, params)


def token_dedup(params, work_dir=None) -> SpanDedup:
    """The Beam transform ``token_dedup`` declares."""
    return SpanDedup(TokenDedup, params)
