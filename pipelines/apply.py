"""Applying one configured stage to the documents: a per-document stage as one ParDo
(:class:`pipelines.stages.ApplyDocStage`), a global stage as its declared transform
(over the ``applies_to`` sources only, the others rejoining through work files)."""

from __future__ import annotations

import apache_beam as beam

from curate import io as cio
from curate import registry
from curate.registry import StageSpec
from curate.spill import default_work_dir
from pipelines import spill
from pipelines.stages import ERRORS, REJECTED, ApplyDocStage, StageResult, count_outcomes, global_transform


def apply_stage(docs, stage_name: str, params, applies_to=None, work_dir=None) -> StageResult:
    """One configured stage (``name`` or an instance ``name/label``) over ``docs``:
    per-document or global, as its declaration says; a global stage's work files go
    under ``work_dir`` (see :func:`global_transform`)."""
    spec = registry.stage(stage_name.partition("/")[0])
    if spec.per_document:
        res = docs | f"stage:{stage_name}" >> beam.ParDo(
            ApplyDocStage(spec, stage_name, params, applies_to)
        ).with_outputs(REJECTED, ERRORS, main="kept")
        res = StageResult(res.kept, res[REJECTED], res[ERRORS])
    else:
        res = apply_global_stage(docs, spec, stage_name, params, applies_to, work_dir)
    return count_outcomes(res, f"stage:{stage_name}")


def apply_global_stage(docs, spec: StageSpec, stage_name: str, params, applies_to=None, work_dir=None) -> StageResult:
    """A global stage over the documents of the ``applies_to`` sources only (all when
    None); the others bypass it and rejoin its kept output."""
    transform = global_transform(spec, params, work_dir)
    if applies_to is None:
        return docs | f"stage:{stage_name}" >> transform
    sources = frozenset(applies_to)
    selected, others = docs | f"stage:{stage_name}:select" >> beam.Partition(
        lambda doc, _n: 0 if doc.source in sources else 1,  # type: ignore[arg-type]  # Beam types fn as a PartitionFn
        2,
    )
    res = selected | f"stage:{stage_name}" >> transform
    # through work files: a Flatten of documents would hold them all on a local runner
    rejoin_dir = cio.join(work_dir, "rejoin") if work_dir else default_work_dir()
    return res._replace(kept=spill.join([res.kept, others], rejoin_dir, f"stage:{stage_name}:rejoin"))
