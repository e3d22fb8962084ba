"""Beam glue for readers: match files, read each with the registered core reader,
route documents / skipped records / errors, and count every input unit."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes

from curate.config import InputConfig
from curate.document import Document, ErrorRecord, Rejected
from pipelines.stages import ERRORS, REJECTED, StageResult, count_drop, count_error, count_input

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
        count_input(item.doc.source if isinstance(item, Rejected) else item.source)
        if isinstance(item, Document):
            yield item
        elif isinstance(item, Rejected):
            count_drop(item)
            yield beam.pvalue.TaggedOutput(REJECTED, item)
        elif isinstance(item, ErrorRecord):
            count_error(item)
            yield beam.pvalue.TaggedOutput(ERRORS, item)
        else:
            raise TypeError(f"reader {self.kind} yielded {type(item).__name__}")


class ReadInput(beam.PTransform):
    """One configured input: its paths (globs, gs:// patterns) through its reader."""

    def __init__(self, inp: InputConfig):
        super().__init__()
        self.inp = inp

    def expand(self, pbegin):
        files = (
            pbegin
            | "paths" >> beam.Create(sorted(self.inp.paths))
            | "match" >> fileio.MatchAll()
            | "open" >> fileio.ReadMatches()
            # Spread files over workers (MatchAll output would otherwise stay fused).
            | "spread" >> beam.Reshuffle()
        )
        res = files | "read" >> beam.ParDo(ReadFile(self.inp.kind, self.inp.name, self.inp.options)).with_outputs(
            REJECTED, ERRORS, main="docs"
        )
        return StageResult(res.docs, res[REJECTED], res[ERRORS])


def read_input(pipeline, index: int, inp: InputConfig) -> StageResult:
    factory = READ_TRANSFORMS.get(inp.kind)
    transform = factory(inp) if factory is not None else ReadInput(inp)
    return pipeline | f"input[{index}]:{inp.kind}:{inp.name}" >> transform
