"""Beam glue for ``sentence_dedup`` and ``token_dedup`` (core: ``curate/dedup/``).

Both run the same three steps, so a whole document crosses exactly one shuffle::

    docs --EmitSpans--> (doc_id, doc)                       -----------------+
             \\--------> span occurrences (small values)                     |
                            | GroupByKey(span key | hash bucket)             |
                            | keep rule (find_duplicates)                    |
                            v                                                v
                        (doc_id, positions to remove) --CoGroupByKey(doc_id)--> apply
                                                        -> kept / rejected / errors

Sentence spans are grouped per span key: a document has tens of them. Token windows
are grouped per hash bucket (one element per document and bucket, numpy inside)
because a document has one window per token. Drops and errors are counted with
:func:`pipelines.stages.count_drop` / ``count_error``; what was removed is counted
under ``stat|<stage>|<name>`` (``tokens_removed``, ``bytes_removed``, ...).
"""

from __future__ import annotations

import apache_beam as beam
import numpy as np

from curate.dedup.spans import find_duplicates, rank_doc_ids
from curate.document import Drop, ErrorRecord, Rejected
from pipelines.counters import SEP
from pipelines.stages import (
    ERRORS,
    GLOBAL_TRANSFORMS,
    StageResult,
    _counter,
    count_drop,
    count_error,
)

SPANS = "spans"
BATCH_DOCS = 256  # documents per EmitSpans call: token windows are shuffled per bucket and batch
REJECTED = "rejected"

# What each stage's apply step adds to ``stat|<stage>|<name>`` counters, from the
# signals it stores on the document.
STATS = {
    "sentence_dedup": ("units_removed", "chars_removed", "bytes_removed"),
    "token_dedup": ("tokens_removed", "spans_removed", "chars_removed", "bytes_removed"),
}


def stat_name(stage: str, name: str) -> str:
    return f"stat{SEP}{stage}{SEP}{name}"


def _error(doc, stage: str, exc: Exception) -> ErrorRecord:
    err = ErrorRecord(
        input_file=doc.provenance.get("input_file", ""),
        locator=doc.provenance.get("record_id") or doc.id,
        stage=stage,
        message=f"{type(exc).__name__}: {exc}",
        source=doc.source,
        doc_id=doc.id,
    )
    count_error(err)
    return err


def _make_core(stage: str, params):
    import curate.builtin  # noqa: F401  (registers the stages)
    from curate.dedup.sentences import SentenceDedup
    from curate.dedup.token_spans import TokenDedup

    core = {"sentence_dedup": SentenceDedup, "token_dedup": TokenDedup}[stage](params)
    if hasattr(core, "setup"):
        core.setup()
    return core


class _CoreDoFn(beam.DoFn):
    """Holds the stage's core object, built (and its model loaded) once per worker."""

    def __init__(self, stage: str, params):
        self.stage, self.params, self.core = stage, params, None

    def setup(self):
        self.core = _make_core(self.stage, self.params)


class _EmitSpans(_CoreDoFn):
    """For a batch of documents: ``(doc.id, doc)`` each on the main output, and the
    span occurrences on SPANS (per span for sentences, per bucket block for tokens)."""

    def process(self, batch):
        ok = []
        for doc in batch:
            try:
                if self.stage == "sentence_dedup":
                    item = [(key, (doc.id, pos)) for key, pos in self.core.span_keys(doc)]
                else:
                    item = self.core.tokenize(doc.text)
            except Exception as e:  # a bad record becomes an error record; the run goes on
                yield beam.pvalue.TaggedOutput(ERRORS, _error(doc, self.stage, e))
                continue
            ok.append((doc, item))
            yield doc.id, doc
        if self.stage == "sentence_dedup":
            for _, occ in ok:
                for item in occ:
                    yield beam.pvalue.TaggedOutput(SPANS, item)
        else:
            for item in self.core.bucketed_windows([(doc.id, tokens) for doc, tokens in ok]):
                yield beam.pvalue.TaggedOutput(SPANS, item)


def _counted(stage: str, names: list, found: dict):
    """``(doc_id, (remove, keep))`` for ``found`` (keyed by doc rank), counting the
    span occurrences marked for removal."""
    n = sum(len(v.remove) for v in found.values())
    if n:
        _counter(stat_name(stage, "occurrences_removed")).inc(n)
    return [(names[rank], (d.remove, d.keep)) for rank, d in found.items()]


def _sentence_group_duplicates(kv, k: int, within_document: bool):
    """One span key's occurrences ``(doc_id, position)`` -> ``(doc_id, (remove, keep))``."""
    _, occ = kv
    occ = list(occ)
    if len(occ) < 2:
        return []
    names, ranks = rank_doc_ids([d for d, _ in occ])
    pos = np.array([p for _, p in occ], dtype=np.int64)
    zeros = np.zeros(len(occ), dtype=np.uint64)
    return _counted("sentence_dedup", names, find_duplicates(ranks, pos, zeros, zeros, k, within_document))


def _token_bucket_duplicates(kv, n: int, within_document: bool):
    """One bucket's window blocks -> ``(doc_id, (remove, keep))``."""
    from curate.dedup.token_spans import merge_blocks

    _, blocks = kv
    names, ranks, pos, hi, lo = merge_blocks(blocks)
    if len(names) < 2 and not within_document:
        return []  # one document alone cannot hold a cross-document duplicate
    return _counted("token_dedup", names, find_duplicates(ranks, pos, hi, lo, n, within_document))


class _ApplyRemovals(_CoreDoFn):
    """Joins one document with the positions it loses and cuts them."""

    def process(self, kv):
        _, grouped = kv
        # Ids are unique unless a reader produced the same record twice; then one copy
        # (chosen by content, not arrival order) is deduplicated and the others dropped.
        docs = sorted(grouped["doc"], key=lambda d: (d.source, d.text))
        if not docs:
            return  # the document errored in EmitSpans and is already counted
        doc, extra = docs[0], docs[1:]
        for other in extra:
            rej = Rejected(other, self.stage, "duplicate_id", {"kept_copy_of": doc.id})
            count_drop(rej)
            yield beam.pvalue.TaggedOutput(REJECTED, rej)
        decisions = list(grouped["dup"])
        remove = [int(p) for r, _ in decisions for p in r]
        keep = [int(p) for _, k in decisions for p in k]
        try:
            out = self.core.apply(doc, remove, keep)
        except Exception as e:
            yield beam.pvalue.TaggedOutput(ERRORS, _error(doc, self.stage, e))
            return
        signals = doc.signals(self.stage) or {}
        if signals.get("chars_removed"):
            _counter(stat_name(self.stage, "docs_edited")).inc()
            for name in STATS[self.stage]:
                _counter(stat_name(self.stage, name)).inc(signals.get(name, 0))
        if isinstance(out, Drop):
            rej = Rejected(doc, self.stage, out.reason, out.details)
            count_drop(rej)
            yield beam.pvalue.TaggedOutput(REJECTED, rej)
        else:
            yield out


class SpanDedup(beam.PTransform):
    """``PCollection[Document] -> StageResult`` for ``sentence_dedup`` or ``token_dedup``."""

    def __init__(self, stage: str, params):
        super().__init__(label=f"stage:{stage}")
        self.stage, self.params = stage, params

    def expand(self, docs):
        stage, params = self.stage, self.params
        emitted = (
            docs
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=BATCH_DOCS)
            | "EmitSpans" >> beam.ParDo(_EmitSpans(stage, params)).with_outputs(SPANS, ERRORS, main="docs")
        )
        if stage == "sentence_dedup":
            group_fn, span_len = _sentence_group_duplicates, params.k
        else:
            group_fn, span_len = _token_bucket_duplicates, params.min_tokens
        dups = (
            emitted[SPANS]
            | "GroupSpans" >> beam.GroupByKey()
            | "KeepRule" >> beam.FlatMap(group_fn, span_len, params.within_document)
        )
        applied = (
            {"doc": emitted.docs, "dup": dups}
            | "JoinByDocId" >> beam.CoGroupByKey()
            | "Apply" >> beam.ParDo(_ApplyRemovals(stage, params)).with_outputs(
                REJECTED, ERRORS, main="kept"
            )
        )
        errors = (emitted[ERRORS], applied[ERRORS]) | "Errors" >> beam.Flatten()
        return StageResult(applied.kept, applied[REJECTED], errors)


def _factory(stage: str):
    return lambda params: SpanDedup(stage, params)


GLOBAL_TRANSFORMS["sentence_dedup"] = _factory("sentence_dedup")
GLOBAL_TRANSFORMS["token_dedup"] = _factory("token_dedup")
