"""``curate refilter``: new thresholds over an earlier run's output, without rescoring.

Every filter stores its signals in the shards' ``metadata`` column
(``metadata["signals"][stage]``). Refiltering reads them back and asks each filter
stage of the new config for its ``decide(signals)``, in config order, so a new
threshold costs one pass over the shards: no extraction, no model, no tokenization
(the kept rows keep their tokens).

What it can and cannot do:

- it tightens or changes the *thresholds* of filter stages that ran (the fields each
  config dataclass declares with :func:`curate.params.threshold`: lengths, ratios,
  languages, the quality stage's mode, threshold or Pareto alpha);
- it refuses, with one line naming the parameter, a config whose *scoring parameters*
  differ from the ones the stored signals were computed with (Gopher's stop words,
  C4's line rules, the classifier's model, the language-ID backend, ...): the signals
  would not mean what the new config says. Each document's signals carry the
  fingerprint of their scoring parameters (``metadata["scored_with"]``), compared with
  the new config's on every row; the run's manifest names the parameter that differs;
- it cannot bring back a document an earlier run dropped: that document is not in the
  shards, and the stages after the one that dropped it never scored it;
- stages of the new config that are not filters (extraction, deduplication) are not
  re-applied: listed with the run's parameters they are skipped (``not_reapplied``),
  with other parameters they are refused; a stage the earlier run did not have is a
  configuration error (its signals do not exist): run the pipeline again instead.

This module is the core (config checks and the per-row decisions over plain dicts);
``pipelines/refilter.py`` reads and writes the output directories.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Iterable, Iterator, Optional

from curate import registry
from curate.config import ConfigError, OutputConfig, StageConfig, build, parse_stages
from curate.document import Document, ErrorRecord, Rejected
from curate.params import first_difference, scoring_params

STAGE = "refilter"  # the stage name on error records about unreadable rows


class RefilterError(ValueError):
    """The new config cannot be applied to this output: a one-line message."""


@dataclasses.dataclass
class RefilterConfig:
    stages: list  # [StageConfig] of the filter stages to re-apply, in order
    output: OutputConfig
    not_reapplied: list  # names of the new config's stages that are not filters
    raw: dict


def run_scoring_params(raw_stages) -> dict:
    """``{stage name: scoring parameters}`` of a run's ``stages:`` as written in its
    manifest; a stage whose entry no longer validates (a model file since removed) maps
    to None, and then only the fingerprints stored on the rows are compared."""
    out = {}
    for entry in raw_stages or []:
        name = entry if isinstance(entry, str) else next(iter(entry), None) if isinstance(entry, dict) else None
        if not isinstance(name, str):
            continue
        try:
            (st,) = parse_stages([entry])
        except ConfigError:
            out[name] = None
            continue
        out[name] = scoring_params(st.params)
    return out


def _check_same_scoring(st: StageConfig, scored: Optional[dict], is_filter: bool) -> None:
    """One line naming the first scoring parameter of ``st`` that differs from the run's."""
    if scored is None:
        return
    new = scoring_params(st.params)
    diff = first_difference(scored, new)
    if diff is None:
        return
    was, now = scored.get(diff), new.get(diff)
    if is_filter:
        raise ConfigError(
            f"stages.{st.name}.{diff}: a scoring parameter (the stored signals were computed with "
            f"{was!r}, the config says {now!r}); changing it needs a rescore: run the pipeline again"
        )
    raise ConfigError(
        f"stages.{st.name}.{diff}: the run used {was!r}, the config says {now!r}; refilter re-applies "
        "filter thresholds only: run the pipeline again to change this stage"
    )


def parse_config(raw, input_stages, scored: Optional[dict] = None) -> RefilterConfig:
    """Validate the new config: a full run config or just ``stages:`` (and ``output:``).

    ``input_stages`` maps the stages of the run being refiltered to their
    ``applies_to`` (None: every source); a list of names means no stage was limited.
    A stage of the new config without its own ``applies_to`` keeps the run's: the
    documents of other sources were never scored by it. ``scored`` maps them to the
    scoring parameters they ran with (:func:`run_scoring_params`), when known: a stage
    of the new config whose scoring parameters differ is refused."""
    if not isinstance(raw, dict) or "stages" not in raw:
        raise ConfigError("stages: missing required key (the filters to re-apply)")
    stages = parse_stages(raw["stages"])
    output = build(OutputConfig, raw.get("output"), "output")
    ran = dict(input_stages) if isinstance(input_stages, dict) else dict.fromkeys(input_stages)
    scored = scored or {}
    filters, skipped = [], []
    for st in stages:
        is_filter = registry.stage(st.base).is_filter
        if st.name not in ran:
            raise ConfigError(
                f"stages.{st.name}: the run being refiltered had no such stage, so there are no "
                "stored signals for it; run the pipeline with it instead"
            )
        _check_same_scoring(st, scored.get(st.name), is_filter)
        if not is_filter:
            skipped.append(st.name)
            continue
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
    it would fail the same way on every row, and so does signals whose stored
    fingerprint differs from the new config's (other scoring parameters)."""
    filters = [
        (
            st.name,
            registry.stage(st.base).make(st.params, st.name, setup=False),
            None if st.applies_to is None else set(st.applies_to),
        )
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
            stored = (metadata.get("scored_with") or {}).get(name)
            if stored is not None and stored != flt.fingerprint:
                raise RefilterError(
                    f"stages.{name}: document {row['id']} was scored with other scoring parameters than "
                    f"the config's (fingerprint {stored}, the config gives {flt.fingerprint}); run the pipeline again"
                )
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
