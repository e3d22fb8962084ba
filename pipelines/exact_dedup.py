"""Beam transform for ``exact_dedup`` (core: :mod:`curate.dedup.exact`)::

    docs -> work files -> (text hash, Copy(rank, work file)) -> GroupByKey
         -> decide_copies: (work file, (id, ExactDecision)) for groups of two or more
         -> work files again, each document with its decision -> kept / Rejected

Only hashes and ranks cross the shuffle, and only the copies' decisions wait in memory
(:mod:`pipelines.spill`)."""

from __future__ import annotations

import apache_beam as beam

from curate.dedup.exact import Copy, ExactDedupConfig, apply_decision, decide_copies, dedup_key
from curate.dedup.minhash import node_key
from curate.spill import default_work_dir
from pipelines import spill


class ExactDedup(beam.PTransform):
    def __init__(self, config: ExactDedupConfig, work_dir: str | None = None):
        super().__init__()
        self.config = config
        self.work_dir = work_dir or default_work_dir()

    def expand(self, docs):
        cfg = self.config
        paths = spill.spill(docs, self.work_dir, "spill")
        decisions = (
            spill.read_located(paths, "read_keys")
            | "key"
            >> beam.Map(
                lambda ld: (
                    dedup_key(ld.doc.text, cfg.normalize),
                    Copy(node_key(ld.doc, cfg.keep, cfg.score_field), ld.path),
                )
            )
            | "group" >> beam.GroupByKey()
            | "decide" >> beam.FlatMapTuple(decide_copies)
            | "by_file" >> beam.MapTuple(lambda path, doc_id, decision: (path, (doc_id, decision)))
        )
        return spill.apply_decisions(paths, decisions, apply_decision, "exact_dedup", "apply")
