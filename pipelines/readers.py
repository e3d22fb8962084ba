"""Beam glue for readers: match files, read each with the registered core reader,
route documents / skipped records / errors, and count every input unit."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes

from curate.config import InputConfig
from curate.document import Document, ErrorRecord, Rejected
from pipelines.stages import ERRORS, REJECTED, StageResult, count_error, count_input, rejected_output

# kind -> factory(InputConfig) -> PTransform(PBegin -> StageResult), for readers that
# must group across files (for example flat conversation messages by tree id).
READ_TRANSFORMS: dict = {}


class ReadFile(beam.DoFn):
    def __init__(self, kind: str, source: str, options):
        self.kind = kind
        self.source = source
        self.options = options

    def setup(self):
        import curate.builtin  # noqa: F401
        from curate import registry

        self.read_file = registry.READERS[self.kind].read_file

    def process(self, readable_file):
        path = readable_file.metadata.path
        try:
            with readable_file.open(compression_type=CompressionTypes.UNCOMPRESSED) as f:
                for item in self.read_file(path, f, self.source, self.options):
                    yield from self._route(item)
        except Exception as e:  # the reader itself failed: one error for the file, the run goes on
            yield from self._route(
                ErrorRecord(path, "file", "read", f"{type(e).__name__}: {e}", self.source)
            )

    def _route(self, item):
        yield route(item, self.kind)


def route(item, kind: str):
    """Count one input unit and return it for the main or the tagged output."""
    count_input(item.doc.source if isinstance(item, Rejected) else item.source)
    if isinstance(item, Document):
        return item
    if isinstance(item, Rejected):
        return rejected_output(item)
    if isinstance(item, ErrorRecord):
        count_error(item)
        return beam.pvalue.TaggedOutput(ERRORS, item)
    raise TypeError(f"reader {kind} yielded {type(item).__name__}")


def matched_files(pbegin, paths):
    """The files matching ``paths`` (globs, gs:// patterns) as ReadableFiles, spread."""
    return (
        pbegin
        | "paths" >> beam.Create(sorted(paths))
        | "match" >> fileio.MatchAll()
        | "open" >> fileio.ReadMatches()
        # Spread files over workers (MatchAll output would otherwise stay fused).
        | "spread" >> beam.Reshuffle()
    )


class ReadInput(beam.PTransform):
    """One configured input: its paths (globs, gs:// patterns) through its reader."""

    def __init__(self, inp: InputConfig):
        super().__init__()
        self.inp = inp

    def expand(self, pbegin):
        res = matched_files(pbegin, self.inp.paths) | "read" >> beam.ParDo(ReadFile(self.inp.kind, self.inp.name, self.inp.options)).with_outputs(
            REJECTED, ERRORS, main="docs"
        )
        return StageResult(res.docs, res[REJECTED], res[ERRORS])


def read_input(pipeline, index: int, inp: InputConfig) -> StageResult:
    factory = READ_TRANSFORMS.get(inp.kind)
    transform = factory(inp) if factory is not None else ReadInput(inp)
    return pipeline | f"input[{index}]:{inp.kind}:{inp.name}" >> transform
