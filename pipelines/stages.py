"""Beam glue for stages: one generic ParDo for per-document stages, and the PTransforms
of global stages (deduplication and anything else that needs the whole run).

Contract for a global stage, declared in the core with
``@register_stage(name, Config, transform="pipelines.module:Factory")``
(see :mod:`curate.registry`)::

    docs | Factory(params)  -> StageResult(kept, rejected, errors)

where ``kept`` is a PCollection of Document, ``rejected`` of Rejected and ``errors``
of ErrorRecord. A global stage counts its own drops with :func:`count_drop`
(and errors with :func:`count_error`) so the manifest sees them.
"""

from __future__ import annotations

import importlib
import typing

import apache_beam as beam
from apache_beam.metrics import Metrics

from curate.counters import NAMESPACE, dropped_name, error_name, input_name, kept_name, language_name, stat_name
from curate.document import Drop, ErrorRecord, Rejected, describe_exception
from curate.registry import StageSpec
from pipelines import progress


class StageResult(typing.NamedTuple):
    kept: beam.PCollection
    rejected: beam.PCollection
    errors: beam.PCollection
    # A stage's report files, as (path relative to the output directory, bytes): written
    # into the run's output beside manifest.json (pipelines.output.write_stage_files).
    files: typing.Optional[beam.PCollection] = None


def resolve(path: str):
    """The object a declaration names as ``"module:attribute"`` (a Beam transform factory:
    the core cannot import Beam, so it names its glue)."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def global_transform(spec: StageSpec, params, work_dir=None):
    """The declared Beam transform of global stage ``spec`` for ``params``; a stage that
    keeps documents in work files (:mod:`pipelines.spill`) puts them under ``work_dir``
    (None: a fresh local folder, for transforms built outside ``curate run``)."""
    assert spec.transform is not None  # a global stage declares its transform
    return resolve(spec.transform)(params, work_dir=work_dir)


_counters: dict = {}


def counter(name: str):
    """The Beam counter ``name`` in the ``curate`` namespace (one object per name and process)."""
    c = _counters.get(name)
    if c is None:
        c = _counters[name] = Metrics.counter(NAMESPACE, name)
    return c


def count_input(source: str) -> None:
    counter(input_name(source)).inc()
    progress.tick(read=1)


def count_kept(source: str, language=None) -> None:
    """A document written to a shard, counted by source and by language."""
    counter(kept_name(source)).inc()
    counter(language_name(source, language)).inc()


def count_drop(rejected: Rejected) -> None:
    counter(dropped_name(rejected.doc.source, rejected.stage, rejected.reason)).inc()
    progress.tick(removed=1)


def count_stat(source: str, stage: str, name: str, n: int = 1) -> None:
    """A stage statistic (not a document count): ``stat|source|stage|name``."""
    counter(stat_name(source, stage, name)).inc(n)


def count_stats(source: str, stage: str, stats: dict) -> None:
    """The statistics a stage took after one document (:meth:`curate.base.StageStats.take_stats`)."""
    for name, n in stats.items():
        count_stat(source, stage, name, n)


def count_error(err: ErrorRecord) -> None:
    counter(error_name(err.source, err.stage)).inc()


def _counted_drop(rej: Rejected) -> Rejected:
    count_drop(rej)
    return rej


def _counted_error(err: ErrorRecord) -> ErrorRecord:
    count_error(err)
    return err


def count_outcomes(result: StageResult, label: str) -> StageResult:
    """The one place drops and errors are counted: every reader's, stage's and the
    tokenizer's result passes here (``read_input``, ``apply_stage``, ``output.tokenize``),
    so a DoFn only emits its Rejected and ErrorRecord outputs and cannot forget to count."""
    return result._replace(
        rejected=result.rejected | f"{label}:count_drops" >> beam.Map(_counted_drop),
        errors=result.errors | f"{label}:count_errors" >> beam.Map(_counted_error),
    )


REJECTED = "rejected"
ERRORS = "errors"


def rejected_output(rej: Rejected):
    """A drop, as the tagged ``rejected`` output of a DoFn (:func:`count_outcomes` counts it)."""
    return beam.pvalue.TaggedOutput(REJECTED, rej)


def doc_error(doc, stage: str, exc: Exception) -> ErrorRecord:
    """The error record for a document a stage failed on (:func:`count_outcomes` counts it)."""
    return ErrorRecord.for_document(doc, stage, describe_exception(exc))


def error_output(doc, stage: str, exc: Exception):
    """:func:`doc_error` as a tagged output."""
    return beam.pvalue.TaggedOutput(ERRORS, doc_error(doc, stage, exc))


class ApplyDocStage(beam.DoFn):
    """Runs one per-document stage; drops and errors go to tagged outputs, counted.

    ``stage_name`` is the stage's full name (``base/label`` for an instance): drops,
    errors, statistics and the signals the stage stores all carry it.

    With ``applies_to`` (a list of sources), documents of other sources pass through
    untouched and uncounted: prose filters skip code, code filters skip prose.
    Statistics the stage adds (:meth:`curate.base.DocStage.add_stat`) become counters
    ``stat|<source>|<stage>|<name>``."""

    def __init__(self, spec: StageSpec, stage_name: str, params, applies_to=None):
        self.spec = spec
        self.stage_name = stage_name
        self.params = params
        self.applies_to = frozenset(applies_to) if applies_to is not None else None
        self.stage = None

    def setup(self):
        # an instance (base/label) stores its signals under its own name
        self.stage = self.spec.make(self.params, self.stage_name)

    def process(self, doc):
        if self.applies_to is not None and doc.source not in self.applies_to:
            yield doc
            return
        try:
            out = self.stage.process(doc)
        except Exception as e:  # a bad record must not stop the run: it becomes an error record
            self.stage.take_stats()  # a failed document's partial statistics are not counted
            yield error_output(doc, self.stage_name, e)
            return
        count_stats(doc.source, self.stage_name, self.stage.take_stats())
        if isinstance(out, Drop):
            yield rejected_output(Rejected(doc, self.stage_name, out.reason, out.details))
        else:
            yield out
