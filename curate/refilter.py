"""``curate refilter``: new thresholds over an earlier run's output, without rescoring.

Every filter stores its signals in the shards' ``metadata`` column
(``metadata["signals"][stage]``). Refiltering reads them back and asks each filter
stage of the new config for its ``decide(signals)``, in config order, so a new
threshold costs one pass over the shards: no extraction, no model, no tokenization
(the kept rows keep their tokens).

What it can and cannot do:

- it tightens or changes the rules of filter stages that ran (thresholds, languages,
  the quality stage's mode, threshold or Pareto alpha);
- it cannot bring back a document an earlier run dropped: that document is not in the
  shards, and the stages after the one that dropped it never scored it;
- stages of the new config that are not filters (extraction, deduplication) are not
  re-applied, and a filter stage the earlier run did not have is a configuration error
  (its signals do not exist): run the pipeline again instead.

This module is the core (config checks and the per-row decisions over plain dicts);
``pipelines/refilter.py`` reads and writes the output directories.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Iterable, Iterator, Optional

from curate.base import Filter
from curate.config import ConfigError, OutputConfig, StageConfig, build
from curate.document import Document, ErrorRecord, Rejected

STAGE = "refilter"  # the stage name on error records about unreadable rows


class RefilterError(ValueError):
    """The new config cannot be applied to this output: a one-line message."""


@dataclasses.dataclass
class RefilterConfig:
    stages: list  # [StageConfig] of the filter stages to re-apply, in order
    output: OutputConfig
    not_reapplied: list  # names of the new config's stages that are not filters
    raw: dict


def parse_config(raw, input_stages) -> RefilterConfig:
    """Validate the new config: a full run config or just ``stages:`` (and ``output:``).

    ``input_stages`` maps the stages of the run being refiltered to their
    ``applies_to`` (None: every source); a list of names means no stage was limited.
    A stage of the new config without its own ``applies_to`` keeps the run's: the
    documents of other sources were never scored by it."""
    import curate.builtin  # noqa: F401  (registers the stages)
    from curate import registry
    from curate.config import parse_stages

    if not isinstance(raw, dict) or "stages" not in raw:
        raise ConfigError("stages: missing required key (the filters to re-apply)")
    stages = parse_stages(raw["stages"])
    output = build(OutputConfig, raw.get("output"), "output")
    ran = dict(input_stages) if isinstance(input_stages, dict) else dict.fromkeys(input_stages)
    filters, skipped = [], []
    for st in stages:
        spec = registry.STAGES[st.base]
        if not (spec.per_document and isinstance(spec.factory, type) and issubclass(spec.factory, Filter)):
            skipped.append(st.name)
            continue
        if st.name not in ran:
            raise ConfigError(
                f"stages.{st.name}: the run being refiltered had no such stage, so there are no "
                "stored signals for it; run the pipeline with it instead"
            )
        if st.applies_to is None:
            st.applies_to = ran[st.name]
        filters.append(st)
    if not filters:
        raise ConfigError("stages: no filter stage to re-apply")
    return RefilterConfig(filters, output, skipped, raw)


def _row_document(row: dict, metadata: dict) -> Document:
    return Document(
        id=row["id"],
        text=row["text"],
        source=row["source"],
        provenance=json.loads(row["provenance"]) if row.get("provenance") else {},
        metadata=metadata,
    )


@dataclasses.dataclass
class RowOutcome:
    """One input row's fate: kept (``rejected`` and ``error`` both None) or not."""

    row: dict
    rejected: Optional[Rejected] = None
    error: Optional[ErrorRecord] = None


def refilter_rows(rows: Iterable[dict], stages: list[StageConfig]) -> Iterator[RowOutcome]:
    """Apply the stages' ``decide`` to the signals stored in each shard row.

    A row whose metadata is not JSON or lacks a stage's signals becomes an error record;
    a ``decide`` that raises (signals of an incompatible shape, a Pareto seed that
    differs from the stored one) stops the refilter with :class:`RefilterError`, since
    it would fail the same way on every row."""
    from curate import registry

    filters = [
        (st.name, registry.STAGES[st.base].factory(st.params), None if st.applies_to is None else set(st.applies_to))
        for st in stages
    ]
    for row in rows:
        try:
            metadata = json.loads(row["metadata"] or "{}")
            signals = metadata["signals"]
        except (ValueError, KeyError, TypeError) as e:
            yield RowOutcome(row, error=_error(row, f"unreadable metadata: {type(e).__name__}: {e}"))
            continue
        outcome = RowOutcome(row)
        for name, flt, sources in filters:
            if sources is not None and row["source"] not in sources:
                continue  # applies_to: documents of other sources pass untouched
            sig = signals.get(name) if isinstance(signals, dict) else None
            if not isinstance(sig, dict):
                outcome.error = _error(row, f"no stored signals for stage {name}")
                break
            try:
                reason = flt.decide(sig)
            except Exception as e:
                raise RefilterError(f"stages.{name}: cannot decide on document {row['id']}: {e}") from None
            if reason is not None:
                doc = _row_document(row, metadata)
                outcome.rejected = Rejected(doc, name, reason, {"signals": sig})
                break
        yield outcome


def _error(row: dict, message: str) -> ErrorRecord:
    return ErrorRecord(
        input_file=row.get("input_file") or "",
        locator=row.get("record_id") or row["id"],
        stage=STAGE,
        message=message,
        source=row.get("source") or "unknown",
        doc_id=row["id"],
    )
