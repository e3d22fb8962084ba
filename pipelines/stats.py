"""Beam glue for the run statistics (core: :mod:`curate.stats`): one CombineFn over the
kept rows, one over the dropped documents and one over the error records (each combined
where its elements are produced, so no document crosses a shuffle for them), merged in
one step that writes the accumulator to ``_stats.json``. After the run the driver turns
it into ``stats.json`` and the samples with the manifest's counters and shard list
(:func:`finish`)."""

from __future__ import annotations

import json

import apache_beam as beam

from curate import io as cio
from curate import stats as S


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


def combine_stats(rows, rejected, errors):
    """A singleton PCollection holding the run's merged :class:`RunStats`."""
    parts = (
        rows | "stats:kept" >> beam.CombineGlobally(StatsFn("add_kept_row")),
        rejected | "stats:dropped" >> beam.CombineGlobally(StatsFn("add_rejected")),
        errors | "stats:errors" >> beam.CombineGlobally(StatsFn("add_error")),
    )
    return parts | "stats:parts" >> beam.Flatten() | "stats:merge" >> beam.CombineGlobally(S.RunStats.merged)


def _write_partial(acc, out_dir: str) -> None:
    cio.write_bytes(cio.join(out_dir, S.PARTIAL_FILE), json.dumps(acc.to_state()).encode("utf-8"))


def add_stats(rows, rejected, errors, out_dir: str) -> None:
    """``rows``: the kept shard rows; ``rejected``: Rejected; ``errors``: ErrorRecord."""
    _ = combine_stats(rows, rejected, errors) | "stats:write" >> beam.Map(_write_partial, out_dir)


def finish(out_dir: str, cfg, manifest: dict) -> None:
    """On the driver, after the run: ``_stats.json`` -> ``stats.json`` and the samples."""
    path = cio.join(out_dir, S.PARTIAL_FILE)
    acc = S.RunStats.from_state(json.loads(cio.read_bytes(path)))
    order = ["read", *(s.name for s in cfg.stages), "tokenize"]
    S.write_stats(out_dir, acc, order, S.stage_thresholds(cfg.stages), manifest)
    cio.remove_tree(path)
