"""Beam glue for the run statistics (core: :mod:`curate.stats`): one CombineFn over the
kept rows, one over the dropped documents and one over the error records, each combined
where its elements are produced (so no document crosses a shuffle for them) and written
as it is to a scratch file; after the run the driver merges the scratch files into
``stats.json`` and the samples, with the manifest's counters and shard list
(:func:`finish`). Three combines with no default value and no merge step: each Beam step
costs FnApiRunner tens of milliseconds, more than the statistics themselves."""

from __future__ import annotations

import json

import apache_beam as beam

from curate import io as cio
from curate import stats as S

PARTS = {"kept": "add_kept_row", "dropped": "add_rejected", "errors": "add_error"}


class StatsFn(beam.CombineFn):
    """A :class:`curate.stats.RunStats` over one kind of element; ``observe`` names the
    accumulator's method (``add_kept_row``, ``add_rejected`` or ``add_error``)."""

    def __init__(self, observe: str):
        self.observe = observe

    def create_accumulator(self):
        return S.RunStats()

    def add_input(self, acc, element):
        getattr(acc, self.observe)(element)
        return acc

    def merge_accumulators(self, accumulators):
        return S.RunStats.merged(accumulators)

    def extract_output(self, acc):
        return acc


def combine_stats(rows, rejected, errors) -> dict:
    """``{part: PCollection}`` holding one :class:`RunStats` per part (none when the
    part has no element)."""
    inputs = {"kept": rows, "dropped": rejected, "errors": errors}
    return {
        part: inputs[part] | f"stats:{part}" >> beam.CombineGlobally(StatsFn(observe)).without_defaults()
        for part, observe in PARTS.items()
    }


def _write_partial(acc, out_dir: str, part: str) -> None:
    cio.write_bytes(cio.join(out_dir, S.partial_file(part)), json.dumps(acc.to_state()).encode("utf-8"))


def add_stats(rows, rejected, errors, out_dir: str) -> None:
    """``rows``: the kept shard rows; ``rejected``: Rejected; ``errors``: ErrorRecord."""
    for part, acc in combine_stats(rows, rejected, errors).items():
        _ = acc | f"stats:{part}:write" >> beam.Map(_write_partial, out_dir, part)


def finish(out_dir: str, cfg, manifest: dict) -> None:
    """On the driver, after the run: the scratch files -> ``stats.json`` and the samples."""
    parts = []
    for part in PARTS:
        path = cio.join(out_dir, S.partial_file(part))
        try:
            parts.append(S.RunStats.from_state(json.loads(cio.read_bytes(path))))
        except FileNotFoundError:  # nothing of that kind in the run
            continue
        cio.remove_tree(path)
    order = ["read", *(s.name for s in cfg.stages), "tokenize"]
    S.write_stats(out_dir, S.RunStats.merged(parts), order, S.stage_thresholds(cfg.stages), manifest)
