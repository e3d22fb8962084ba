"""Beam glue for readers: match files, read each with the registered core reader,
route documents / skipped records / errors, and count every input unit."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker

from curate import registry
from curate.config import InputConfig
from curate.document import Document, ErrorRecord, Rejected
from curate.readers.common import READ_STAGE, ReadStat, data_error_text
from curate.readers.warc import read_warc, read_warc_range, splits_by_member
from pipelines import progress
from pipelines.stages import (
    ERRORS,
    REJECTED,
    StageResult,
    count_input,
    count_outcomes,
    count_stat,
    rejected_output,
    resolve,
)


def _open(readable_file):
    return readable_file.open(compression_type=CompressionTypes.UNCOMPRESSED)


class ReadFile(beam.DoFn):
    """Reads each file with ``read_file`` ``(path, fileobj, source, options) -> items``."""

    def __init__(self, kind: str, read_file, source: str, options):
        self.kind = kind
        self.read_file = read_file
        self.source = source
        self.options = options

    def process(self, readable_file):
        path = readable_file.metadata.path
        try:
            with _open(readable_file) as f, progress.watch(f):
                for item in self.read_file(path, f, self.source, self.options):
                    yield from self._route(item)
        except Exception as e:  # the reader itself failed: one error for the file, the run goes on
            yield from self._route(
                ErrorRecord(path, "file", "read", f"unreadable file: {data_error_text(e)}", self.source)
            )

    def _route(self, item):
        if isinstance(item, ReadStat):  # not an input unit: a statistic of the read stage
            count_stat(self.source, READ_STAGE, item.name, item.n)
            return
        yield route(item, self.kind)


def route(item, kind: str):
    """Count one input unit and return it for the main or the tagged output (its drop or
    error is counted by :func:`pipelines.stages.count_outcomes`, in ``read_input``)."""
    count_input(item.doc.source if isinstance(item, Rejected) else item.source)
    if isinstance(item, Document):
        return item
    if isinstance(item, Rejected):
        return rejected_output(item)
    if isinstance(item, ErrorRecord):
        return beam.pvalue.TaggedOutput(ERRORS, item)
    raise TypeError(f"reader {kind} yielded {type(item).__name__}")


# One restriction for a file read whole (uncompressed, one gzip member over the whole file,
# or split_bytes off): claiming its only offset 0 owns the file, and it cannot be split.
_WHOLE_FILE = OffsetRange(0, 1)


class ReadWarcRanges(ReadFile, beam.transforms.core.RestrictionProvider):
    """ReadFile for WARC.gz with ``split_bytes``: a splittable DoFn (its own restriction
    provider), so that one big file is read by many workers. The restriction is an offset
    range of the file's compressed bytes, cut into ``split_bytes`` pieces; each piece reads
    the gzip members that start in it (curate.readers.warc.read_warc_range) and claims each
    record's offset before emitting it, so a dynamic split hands the rest of a piece to
    another worker and no record is read twice or lost."""

    def __init__(self, source: str, options):
        super().__init__("warc", read_warc, source, options)
        self.split_bytes = options.split_bytes

    def initial_restriction(self, readable_file):
        size = readable_file.metadata.size_in_bytes
        try:
            # Uncompressed WARC and one gzip member over the whole file have no record
            # boundaries to cut at: read them whole (splits_by_member says which).
            with _open(readable_file) as f:
                split = size > self.split_bytes and splits_by_member(f, size, self.split_bytes)
        except Exception:  # unreadable: the whole-file read reports it as the file's error
            split = False
        return OffsetRange(0, size) if split else _WHOLE_FILE

    def create_tracker(self, restriction):
        return OffsetRestrictionTracker(restriction)

    def split(self, readable_file, restriction):
        if restriction == _WHOLE_FILE:
            yield restriction
        else:
            yield from restriction.split(self.split_bytes)

    def restriction_size(self, readable_file, restriction):
        return restriction.size()

    def process(self, readable_file, tracker=beam.DoFn.RestrictionParam()):
        restriction = tracker.current_restriction()
        if restriction == _WHOLE_FILE:
            if tracker.try_claim(0):
                yield from super().process(readable_file)
            return
        path = readable_file.metadata.path
        size = readable_file.metadata.size_in_bytes
        last_claimed = -1
        try:
            with _open(readable_file) as f, progress.watch(f, restriction.start):
                for position, item in read_warc_range(
                    path, f, self.source, self.options, restriction.start, restriction.stop, size
                ):
                    # An error without a position of its own follows the record before it.
                    if position is not None and position > last_claimed:
                        if not tracker.try_claim(position):
                            return
                        last_claimed = position
                    yield from self._route(item)
        except Exception as e:  # this range failed: one error for it, the run goes on
            yield from self._route(
                ErrorRecord(
                    path,
                    f"bytes:{restriction.start}-{restriction.stop}",
                    "read",
                    f"{type(e).__name__}: {e}",
                    self.source,
                )
            )
        tracker.try_claim(restriction.stop)  # done: the rest of the range holds no member start


def _first(path_and_matches):
    return next(iter(path_and_matches[1]))


def matched_files(pbegin, paths):
    """The files matching ``paths`` (globs, gs:// patterns) as ReadableFiles, each file
    once however many patterns match it (curate.inputs warns about it on the driver)."""
    return (
        pbegin
        | "paths" >> beam.Create(sorted(paths))
        | "match" >> fileio.MatchAll()
        # Grouping by path reads a file matched twice once, and spreads the files over
        # workers (MatchAll output would otherwise stay fused), as a Reshuffle would.
        | "by_path" >> beam.Map(lambda m: (m.path, m))
        | "once" >> beam.GroupByKey()
        | "first" >> beam.Map(_first)
        | "open" >> fileio.ReadMatches()
    )


class ReadInput(beam.PTransform):
    """One configured input: its paths (globs, gs:// patterns) through its reader."""

    def __init__(self, inp: InputConfig):
        super().__init__()
        self.inp = inp

    def expand(self, pbegin):
        split_bytes = getattr(self.inp.options, "split_bytes", 0) if self.inp.kind == "warc" else 0
        if split_bytes:
            dofn = ReadWarcRanges(self.inp.name, self.inp.options)
        else:
            dofn = ReadFile(self.inp.kind, registry.reader(self.inp.kind).read_file, self.inp.name, self.inp.options)
        res = matched_files(pbegin, self.inp.paths) | "read" >> beam.ParDo(dofn).with_outputs(
            REJECTED, ERRORS, main="docs"
        )
        return StageResult(res.docs, res[REJECTED], res[ERRORS])


def read_input(pipeline, index: int, inp: InputConfig, work_dir=None) -> StageResult:
    """One input's documents; a reader declared with a Beam transform of its own (one
    that groups across files) keeps its work files under ``work_dir``."""
    spec = registry.reader(inp.kind)
    transform = resolve(spec.transform)(inp, work_dir=work_dir) if spec.transform else ReadInput(inp)
    label = f"input[{index}]:{inp.kind}:{inp.name}"
    return count_outcomes(pipeline | label >> transform, label)
