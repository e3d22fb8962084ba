"""Beam glue for the run statistics (core: :mod:`curate.stats`): a partial
:class:`~curate.stats.RunStats` per bundle where the kept rows, the dropped documents and
the error records are produced (so no document crosses a shuffle or waits in memory for
them), one combine per part merging the partials, each written as it is to a scratch
file; after the run the driver merges the scratch files into ``stats.json`` and the
samples, with the manifest's counters and shard list (:func:`finish`). Combines with no
default value and no merge step: each Beam step costs FnApiRunner tens of milliseconds,
more than the statistics themselves."""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from curate import io as cio
from curate import stats as S

PARTS = {"kept": "add_kept_row", "dropped": "add_rejected", "errors": "add_error"}


class PartialStats(beam.DoFn):
    """A :class:`curate.stats.RunStats` of each bundle's elements, yielded when the bundle
    ends; ``observe`` names the accumulator's method (``add_kept_row``, ``add_rejected``
    or ``add_error``). Fused into the stage producing the elements: only the partial
    statistics travel on."""

    def __init__(self, observe: str):
        self.observe = observe

    def start_bundle(self):
        self.acc = None

    def process(self, element):
        if self.acc is None:
            self.acc = S.RunStats()
        getattr(self.acc, self.observe)(element)

    def finish_bundle(self):
        if self.acc is not None:
            yield GlobalWindows.windowed_value(self.acc)


class MergeStats(beam.CombineFn):
    """Partial :class:`curate.stats.RunStats` into one."""

    def create_accumulator(self):
        return S.RunStats()

    def add_input(self, acc, partial):
        return acc.merge(partial)

    def merge_accumulators(self, accumulators):
        return S.RunStats.merged(accumulators)

    def extract_output(self, acc):
        return acc


def combine_stats(rows: list, rejected: list, errors: list) -> dict:
    """``{part: PCollection}`` holding one :class:`RunStats` per part (none when the
    part has no element), each from a list of PCollections. Each PCollection gets its own
    :class:`PartialStats` rather than the list being flattened first: Beam's local runner
    holds a flatten of several PCollections in memory whole."""
    inputs = {"kept": rows, "dropped": rejected, "errors": errors}
    out = {}
    for part, observe in PARTS.items():
        partials = [
            pcoll | f"stats:{part}:partial:{i}" >> beam.ParDo(PartialStats(observe))
            for i, pcoll in enumerate(inputs[part])
        ]
        out[part] = (
            tuple(partials)
            | f"stats:{part}:partials" >> beam.Flatten()
            | f"stats:{part}" >> beam.CombineGlobally(MergeStats()).without_defaults()
        )
    return out


def _write_partial(acc, out_dir: str, part: str) -> None:
    cio.write_bytes(cio.join(out_dir, S.partial_file(part)), json.dumps(acc.to_state()).encode("utf-8"))


def add_stats(rows: list, rejected: list, errors: list, out_dir: str) -> None:
    """Lists of PCollections of ``rows``: the kept shard rows; ``rejected``: Rejected;
    ``errors``: ErrorRecord."""
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
