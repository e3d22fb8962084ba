"""Beam transform for ``decontaminate`` (core: ``curate/decontam.py``)::

    Impulse -> build the index from the eval files (one worker) -> side input INDEX
    docs --FindMatches(INDEX)--> clean documents (no index n-gram) ------------------------+
                         \\----> (doc, matches) --------------------------+                  |
                          \\---> (key, 1) per distinct matched key         |                  |
                                   | CombinePerKey(sum)                   |                  |
                                   | > max_doc_frequency -> side input COMMON                 |
                                                                          v                  v
                                             ApplyPolicy(INDEX, COMMON) -> kept (cut/untouched) + clean
                                                   \\-> rejected (decontaminate:contaminated)
                                                    \\-> per-document tallies -> one report
                                                           -> files: decontamination.json,
                                                              contaminated-items/<set>.jsonl

The index is built once in the pipeline and shipped as a side input (its size grows
with the eval sets, so it does not travel in the job graph); each worker process
deserialises it once (``curate.model_files.shared``, the project's ``Shared``). The driver has already
loaded every eval set before the run (``check``), so a bad file is a config error, not
a failed job. Documents per matched n-gram are counted over the whole run before
anything is removed (GPT-3's common-n-gram rule). Counters: the drop
``decontaminate:contaminated``, and statistics ``docs_cut``, ``chars_removed`` and per
eval set ``<set>.docs_cut``, ``<set>.docs_dropped``, ``<set>.chars_removed`` (the
report's figures come from the tallies, a separate path, and must equal them).
"""

from __future__ import annotations

import apache_beam as beam
import numpy as np
import xxhash

from curate import decontam as D
from curate.document import Rejected
from curate.model_files import shared
from pipelines.stages import ERRORS, REJECTED, StageResult, count_stat, error_output, rejected_output

MATCHED = "matched"
KEYS = "keys"
TALLY = "tally"


class _IndexUser(beam.DoFn):
    """Holds the index of the side input, deserialised once per worker process
    (:func:`curate.model_files.shared`, keyed by the content's hash)."""

    def __init__(self):
        self._blob = None
        self._index = None

    def index(self, blob: bytes) -> D.NgramIndex:
        if blob is not self._blob:  # a new side-input object: at most once per bundle
            key = ("decontaminate-index", xxhash.xxh3_128_hexdigest(blob))  # ~1 ms per 10 MB
            self._index = shared(key, lambda: D.NgramIndex.from_bytes(blob))
            self._blob = blob
        return self._index


class _FindMatches(_IndexUser):
    def process(self, doc, blob):
        try:
            matches = self.index(blob).find(doc.text)
        except Exception as e:  # a bad record becomes an error record; the run goes on
            yield error_output(doc, D.STAGE, e)
            return
        if matches is None:
            yield doc
            return
        yield beam.pvalue.TaggedOutput(MATCHED, (doc, matches))
        for key in matches.distinct_keys().tolist():
            yield beam.pvalue.TaggedOutput(KEYS, (key, 1))


class _ApplyPolicy(_IndexUser):
    def __init__(self, config: D.DecontaminateConfig):
        super().__init__()
        self.config = config
        self._common_src = None
        self._common = None

    def process(self, element, blob, common):
        doc, matches = element
        if common is not self._common_src:
            self._common, self._common_src = np.array(sorted(common), np.int64), common
        try:
            stage = D.Decontaminator(self.config, self.index(blob))
            outcome = stage.decide(doc.text, matches, self._common)
            out = stage.apply(doc, outcome) if outcome is not None else doc
        except Exception as e:  # a bad record becomes an error record; the run goes on
            yield error_output(doc, D.STAGE, e)
            return
        if outcome is None:  # only common n-grams: untouched
            yield doc
            return
        src = doc.source
        if outcome.dropped:
            for name in outcome.matched:
                count_stat(src, D.STAGE, f"{name}.docs_dropped")
            yield rejected_output(Rejected(doc, D.STAGE, out.reason, out.details))
        else:
            count_stat(src, D.STAGE, "docs_cut")
            count_stat(src, D.STAGE, "chars_removed", outcome.chars_removed)
            for name in outcome.matched:
                count_stat(src, D.STAGE, f"{name}.docs_cut")
                count_stat(src, D.STAGE, f"{name}.chars_removed", outcome.chars_removed)
            yield out
        yield beam.pvalue.TaggedOutput(TALLY, D.tally_outcome({}, outcome))


class _MergeTallies(beam.CombineFn):
    def create_accumulator(self):
        return {}

    def add_input(self, acc, tally):
        return D.merge_tallies([acc, tally])

    def merge_accumulators(self, accs):
        return D.merge_tallies(accs)

    def extract_output(self, acc):
        return acc


def _report_files(tally, blob, common, config):
    report, lines = D.build_report(config, D.NgramIndex.from_bytes(blob), tally, np.array(sorted(common), np.int64))
    return sorted(D.report_files(report, lines).items())


class Decontaminate(beam.PTransform):
    """``PCollection[Document] -> StageResult`` with the report's files. It needs no
    work files (``work_dir`` is unused): clean documents stream through, and only the
    matched ones, few, wait for the run-wide n-gram counts."""

    def __init__(self, config: D.DecontaminateConfig, work_dir=None):
        super().__init__()
        self.config = config

    def expand(self, docs):
        cfg = self.config
        index = beam.pvalue.AsSingleton(
            docs.pipeline
            | "index:start" >> beam.Impulse()
            | "index:build" >> beam.Map(lambda _: D.load_index(cfg).to_bytes())
        )
        found = docs | "find" >> beam.ParDo(_FindMatches(), index).with_outputs(MATCHED, KEYS, ERRORS, main="clean")
        keys = found[KEYS]
        if cfg.max_doc_frequency is None:
            keys = keys | "no_common_rule" >> beam.Filter(lambda kv: False)
        common = (
            keys
            | "docs_per_ngram" >> beam.CombinePerKey(sum)
            | "common" >> beam.Filter(lambda kv, limit: kv[1] > limit, cfg.max_doc_frequency or 0)
            | "common_keys" >> beam.Keys()
        )
        common_list = beam.pvalue.AsList(common)
        applied = found[MATCHED] | "apply" >> beam.ParDo(_ApplyPolicy(cfg), index, common_list).with_outputs(
            REJECTED, ERRORS, TALLY, main="kept"
        )
        files = (
            applied[TALLY]
            | "report:merge" >> beam.CombineGlobally(_MergeTallies())
            | "report:files" >> beam.FlatMap(_report_files, index, common_list, cfg)
        )
        kept = (found.clean, applied.kept) | "kept" >> beam.Flatten()
        errors = (found[ERRORS], applied[ERRORS]) | "errors" >> beam.Flatten()
        return StageResult(kept, applied[REJECTED], errors, files)
