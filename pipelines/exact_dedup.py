"""Beam transform for ``exact_dedup``: GroupByKey on the normalised-text hash."""

from __future__ import annotations

import apache_beam as beam

from curate.dedup.exact import DUPLICATES_KEY, ExactDedupConfig, dedup_key, survivor_position
from curate.document import Rejected
from pipelines.stages import REJECTED, StageResult, rejected_output


class _SplitGroup(beam.DoFn):
    def __init__(self, keep: str, score_field: str):
        self.keep = keep
        self.score_field = score_field

    def process(self, element):
        key, docs = element
        # Two passes over the (re-iterable) group: the core's survivor rule gives the
        # position, then the copies are emitted, so a huge group never has to fit in a list.
        best_pos, survivor_id = survivor_position(docs, self.keep, self.score_field)
        survivor = None
        for pos, doc in enumerate(docs):
            if pos == best_pos:
                survivor = doc
                continue
            yield rejected_output(
                Rejected(doc, "exact_dedup", "duplicate", {"duplicate_of": survivor_id, "text_hash": key})
            )
        survivor.metadata[DUPLICATES_KEY] = pos
        yield survivor


class ExactDedup(beam.PTransform):
    def __init__(self, config: ExactDedupConfig):
        super().__init__()
        self.config = config

    def expand(self, docs):
        norm = self.config.normalize
        res = (
            docs
            | "key" >> beam.Map(lambda d: (dedup_key(d.text, norm), d))
            | "group" >> beam.GroupByKey()
            | "choose"
            >> beam.ParDo(_SplitGroup(self.config.keep, self.config.score_field)).with_outputs(REJECTED, main="kept")
        )
        empty = docs.pipeline | "no_errors" >> beam.Create([])
        return StageResult(res.kept, res[REJECTED], empty)
