"""Beam glue for work files (core: :mod:`curate.spill`): documents to files, file
paths through the graph, documents back out of the files.

A stage that decides on the whole run uses them so that only its small keys and
decisions cross shuffles::

    docs --spill--> paths --read (path, doc)--> keys --GroupByKey--> decisions, keyed by path
                      \\                                                   | side input (multimap)
                       \\--------------------------read--> apply(doc, its decision) -> kept / rejected / errors

The writing DoFn is fused with the steps before it, so documents go to disk as they
are produced; a path is emitted when its file is closed (at the end of a bundle, or
when it reaches ``curate.spill.FILE_BYTES``). Decisions are keyed by the work file
their document is in, so the step that applies them reads only its file's entries
(a keyed lookup on a distributed runner).
"""

from __future__ import annotations

import typing

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from curate import io as cio
from curate.document import Document, ErrorRecord, Rejected
from curate.spill import KeyedSpillWriter, SpillWriter, read_spill
from pipelines.stages import ERRORS, REJECTED, StageResult, count_stats, doc_error


class Located(typing.NamedTuple):
    """A document read back from a work file, with the file's path (its decisions' key)."""

    path: str
    doc: Document


class _Write(beam.DoFn):
    def __init__(self, directory: str):
        self.directory = directory
        self.writer = None

    def start_bundle(self):
        self.writer = SpillWriter(self.directory)

    def process(self, doc):
        path = self.writer.add(doc)
        if path is not None:
            yield path

    def finish_bundle(self):
        path = self.writer.close()
        if path is not None:
            yield GlobalWindows.windowed_value(path)


def spill(docs, directory: str, label: str):
    """``docs`` written to work files under ``directory``: a PCollection of their paths,
    redistributed so that the files are read on many workers."""
    return (
        docs
        | f"{label}:write" >> beam.ParDo(_Write(directory))
        # the paths are few and small: a shuffle of them is cheap, and a barrier (no file
        # is read before it is closed) that spreads the reading over the workers
        | f"{label}:spread" >> beam.Reshuffle()
    )


def join(pcolls: list, directory: str, label: str):
    """One PCollection of the documents of several (one unchanged): each is written to
    work files under its own folder, the paths are flattened, the files read back.
    Beam's local runner holds a Flatten of several PCollections in memory whole
    (measured: bench/bench_memory.py), which is harmless for paths, not for documents."""
    if len(pcolls) == 1:
        return pcolls[0]
    paths = (
        tuple(spill(pc, cio.join(directory, str(i)), f"{label}:spill[{i}]") for i, pc in enumerate(pcolls))
        | f"{label}:paths" >> beam.Flatten()
    )
    return read_docs(paths, f"{label}:read")


# Decisions a decision file holds in memory before writing them (one open per work file
# a bundle decides about).
DECISION_FRAME_BYTES = 64 << 10


def _decisions_dir(path: str) -> str:
    """Where the decisions for the work file ``path`` go: a folder beside it."""
    return path + ".decisions"


def _entry_size(entry) -> int:
    return 256  # an id and a small decision: the frame limit counts entries, roughly


def decisions_by_id(decision_files, merge=None) -> dict:
    """``{doc id: decision}`` of one work file, from its decision files; several
    decisions for one id are merged with ``merge([held, next])`` as they are read (so
    ``merge`` must not depend on their order or grouping), or are an error without it.

    Folded as read, not listed then merged: span dedup gives a document that loses
    windows one decision per hash bucket (64 by default); listing them first, a run of
    11,888 documents grew by 224 MB while token_dedup read its one work file's
    decisions, and peaked at 1.74x the run at 1,486 (now 1.11x: ``bench/bench_memory.py
    --stages spans --modes given --n 1 --scales 1,8``, docs/dedup-spans.md)."""
    out: dict = {}
    for f in sorted(decision_files):
        for doc_id, decision in read_spill(f):
            held = out.get(doc_id, _NONE)
            if held is _NONE:
                out[doc_id] = decision
            elif merge is None:
                raise ValueError(f"document {doc_id}: several decisions and no merge function")
            else:
                out[doc_id] = merge([held, decision])
    return out


_NONE = object()  # no decision held yet (a decision may itself be None)


def read_located(paths, label: str):
    """The documents of the work files, as :class:`Located` (path, document)."""
    return paths | label >> beam.FlatMap(lambda path: (Located(path, doc) for doc in read_spill(path)))


def read_docs(paths, label: str):
    """The documents of the work files."""
    return paths | label >> beam.FlatMap(read_spill)


class _Apply(beam.DoFn):
    """One work file: each document with its decision (None when the stage decided
    nothing about it) through the stage's apply function -> a Document kept, a
    Rejected, an error, or None (an earlier step of the stage already emitted the
    document's error record). Statistics the function's stage core adds
    (:class:`curate.base.StageStats`) are counted after each call."""

    def __init__(self, apply, stage: str, merge=None):
        self.apply = apply
        self.stage = stage
        self.merge = merge
        self.fn = self.take_stats = None

    def setup(self):
        if hasattr(self.apply, "apply_decision"):  # a stage core: set up once per worker
            self.apply.setup()
            self.fn, self.take_stats = self.apply.apply_decision, self.apply.take_stats
        else:
            self.fn, self.take_stats = self.apply, dict

    def process(self, path, decision_files):
        mine = decisions_by_id(decision_files[path], self.merge)
        for doc in read_spill(path):
            try:
                out = self.fn(doc, mine.get(doc.id))
            except Exception as e:  # a bad record must not stop the run
                self.take_stats()  # a failed document's partial statistics are not counted
                yield beam.pvalue.TaggedOutput(ERRORS, doc_error(doc, self.stage, e))
                continue
            count_stats(doc.source, self.stage, self.take_stats())
            if out is None:
                continue
            if isinstance(out, Rejected):
                yield beam.pvalue.TaggedOutput(REJECTED, out)
            elif isinstance(out, ErrorRecord):
                yield beam.pvalue.TaggedOutput(ERRORS, out)
            else:
                yield out


class _WriteDecisions(beam.DoFn):
    """``(work file, (doc id, decision))`` -> files of decisions beside each work file
    (``<work file>.decisions/``); yields ``(work file, decision file)`` for each file
    it finishes."""

    def start_bundle(self):
        self.writer = KeyedSpillWriter(_decisions_dir, _entry_size, DECISION_FRAME_BYTES)

    def process(self, keyed):
        done = self.writer.add(*keyed)
        if done is not None:
            yield done

    def finish_bundle(self):
        for done in self.writer.close():
            yield GlobalWindows.windowed_value(done)


def apply_decisions(paths, decisions, apply, stage: str, label: str, merge=None) -> StageResult:
    """The documents of the work files ``paths``, each through ``apply(doc, decision)``
    with its decision from ``decisions``: a PCollection (or a list of them) of
    ``(path, (doc id, decision))``; a document given several decisions gets
    ``merge(list of them)`` (without ``merge``, several are an error). ``apply`` is the
    stage's core function; it returns the document (kept, possibly changed) or a
    Rejected. It may instead be a stage core object with ``apply_decision(doc,
    decision)``, ``setup()`` (called once per worker) and ``take_stats()``
    (:class:`curate.base.StageStats`, counted as ``stat|...``).

    The decisions go through files too, beside their work file: a local run would hold
    them all in memory as a side input, and a stage may decide something about most
    documents (span dedup: a cut per bucket). Only ``(work file, decision file)`` pairs
    are a side input; the step applying a work file reads its decision files alone."""
    decisions = decisions if isinstance(decisions, (list, tuple)) else [decisions]
    files = [d | f"{label}:write_decisions[{i}]" >> beam.ParDo(_WriteDecisions()) for i, d in enumerate(decisions)]
    files = tuple(files) | f"{label}:decision_files" >> beam.Flatten() if len(files) > 1 else files[0]
    out = paths | label >> beam.ParDo(_Apply(apply, stage, merge), beam.pvalue.AsMultiMap(files)).with_outputs(
        REJECTED, ERRORS, main="kept"
    )
    return StageResult(out.kept, out[REJECTED], out[ERRORS])
