"""Beam glue for conversation trees: parse every file's lines into messages keyed by
tree id, GroupByKey on the tree id (trees span files; children may come first), then
the core builds each tree's threads. Counting: every produced thread and every
defective message or line is one input unit (docs/sources-conversations-formats.md).
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.metrics import Metrics

from curate.config import InputConfig
from curate.document import ErrorRecord, Rejected
from curate.readers import conversations as conv
from curate.readers.common import read_error
from pipelines.counters import NAMESPACE, input_name
from pipelines.stages import ERRORS, REJECTED, StageResult, count_drop, count_error


def _count_input(source: str) -> None:
    Metrics.counter(NAMESPACE, input_name(source)).inc()


def _route(item, source: str):
    """Count one input unit and send it to its output."""
    _count_input(source)
    if isinstance(item, Rejected):
        count_drop(item)
        return beam.pvalue.TaggedOutput(REJECTED, item)
    if isinstance(item, ErrorRecord):
        count_error(item)
        return beam.pvalue.TaggedOutput(ERRORS, item)
    return item


class _ParseFile(beam.DoFn):
    def __init__(self, kind: str, source: str, cfg):
        self.kind, self.source, self.cfg = kind, source, cfg

    def process(self, readable_file):
        path = readable_file.metadata.path
        try:
            with readable_file.open(compression_type=CompressionTypes.UNCOMPRESSED) as f:
                for item in conv.parse_file(self.kind, path, f, self.source, self.cfg):
                    if isinstance(item, tuple):
                        yield item  # (tree id, Message): counted once its threads exist
                    else:
                        yield _route(item, self.source)
        except Exception as e:  # an unreadable file (corrupt gzip...) is one error; the run goes on
            yield _route(read_error(path, "file", self.source, f"{type(e).__name__}: {e}"), self.source)


class _BuildThreads(beam.DoFn):
    def __init__(self, source: str, cfg):
        self.source, self.cfg = source, cfg

    def process(self, keyed):
        tree_id, messages = keyed
        try:
            items = list(conv.threads_for_tree(tree_id, messages, self.source, self.cfg))
        except Exception as e:  # a bug-shaped failure costs one tree, not the run
            items = [read_error("", f"tree {tree_id}", self.source, f"{type(e).__name__}: {e}")]
        for item in items:
            yield _route(item, self.source)


class ReadConversations(beam.PTransform):
    """Pipeline root -> StageResult(kept threads, rejected, errors) for one input."""

    def __init__(self, inp: InputConfig):
        super().__init__()
        if inp.kind not in (conv.TREES_KIND, conv.MESSAGES_KIND):
            raise ValueError(f"not a conversation input kind: {inp.kind!r}")
        self.kind = inp.kind
        self.paths = list(inp.paths)
        self.source = inp.name or conv.DEFAULT_SOURCE
        self.cfg = inp.options

    def expand(self, root):
        parsed = (
            root
            | "Paths" >> beam.Create(self.paths)
            | "Match" >> fileio.MatchAll()
            | "Open" >> fileio.ReadMatches()
            | "Spread" >> beam.Reshuffle()
            | "Parse" >> beam.ParDo(_ParseFile(self.kind, self.source, self.cfg)).with_outputs(
                REJECTED, ERRORS, main="messages"
            )
        )
        threads = (
            parsed.messages
            | "ByTree" >> beam.GroupByKey()
            | "Threads" >> beam.ParDo(_BuildThreads(self.source, self.cfg)).with_outputs(
                REJECTED, ERRORS, main="kept"
            )
        )
        rejected = (parsed[REJECTED], threads[REJECTED]) | "Rejected" >> beam.Flatten()
        errors = (parsed[ERRORS], threads[ERRORS]) | "Errors" >> beam.Flatten()
        return StageResult(threads.kept, rejected, errors)
