"""Beam glue for stages: one generic ParDo for per-document stages, and the registry
of PTransforms for global stages (deduplication and anything else that needs the
whole run).

Contract for a global stage ``name``::

    GLOBAL_TRANSFORMS[name] = factory          # factory(params) -> beam.PTransform
    docs | factory(params)  -> StageResult(kept, rejected, errors)

where ``kept`` is a PCollection of Document, ``rejected`` of Rejected and ``errors``
of ErrorRecord. A global stage counts its own drops with :func:`count_drop`
(and errors with :func:`count_error`) so the manifest sees them.
"""

from __future__ import annotations

import typing

import apache_beam as beam
from apache_beam.metrics import Metrics

from curate.document import Drop, ErrorRecord, Rejected
from pipelines.counters import NAMESPACE, dropped_name, error_name, input_name, kept_name


class StageResult(typing.NamedTuple):
    kept: beam.PCollection
    rejected: beam.PCollection
    errors: beam.PCollection


GLOBAL_TRANSFORMS: dict = {}

_counters: dict = {}


def _counter(name: str):
    c = _counters.get(name)
    if c is None:
        c = _counters[name] = Metrics.counter(NAMESPACE, name)
    return c


def count_input(source: str) -> None:
    _counter(input_name(source)).inc()


def count_kept(source: str) -> None:
    _counter(kept_name(source)).inc()


def count_drop(rejected: Rejected) -> None:
    _counter(dropped_name(rejected.doc.source, rejected.stage, rejected.reason)).inc()


def count_error(err: ErrorRecord) -> None:
    _counter(error_name(err.source, err.stage)).inc()


REJECTED = "rejected"
ERRORS = "errors"


class ApplyDocStage(beam.DoFn):
    """Runs one per-document stage; drops and errors go to tagged outputs, counted."""

    def __init__(self, stage_name: str, params):
        self.stage_name = stage_name
        self.params = params
        self.stage = None

    def setup(self):
        import curate.builtin  # noqa: F401
        from curate import registry

        spec = registry.STAGES[self.stage_name]
        self.stage = spec.factory(self.params)
        self.stage.setup()

    def process(self, doc):
        try:
            out = self.stage.process(doc)
        except Exception as e:  # a bad record must not stop the run: it becomes an error record
            err = ErrorRecord(
                input_file=doc.provenance.get("input_file", ""),
                locator=doc.provenance.get("record_id") or doc.id,
                stage=self.stage_name,
                message=f"{type(e).__name__}: {e}",
                source=doc.source,
                doc_id=doc.id,
            )
            count_error(err)
            yield beam.pvalue.TaggedOutput(ERRORS, err)
            return
        if isinstance(out, Drop):
            rej = Rejected(doc, self.stage_name, out.reason, out.details)
            count_drop(rej)
            yield beam.pvalue.TaggedOutput(REJECTED, rej)
        else:
            yield out


def apply_doc_stage(docs, stage_name: str, params) -> StageResult:
    res = docs | f"stage:{stage_name}" >> beam.ParDo(ApplyDocStage(stage_name, params)).with_outputs(
        REJECTED, ERRORS, main="kept"
    )
    return StageResult(res.kept, res[REJECTED], res[ERRORS])
