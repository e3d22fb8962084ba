"""Beam glue for conversation trees: parse every file's lines into messages keyed by
tree id, GroupByKey on the tree id (trees span files; children may come first), then
the core builds each tree's threads. Counting: every produced thread and every
defective message or line is one input unit (docs/sources-conversations-formats.md).
"""

from __future__ import annotations

import functools

import apache_beam as beam

from curate.config import InputConfig
from curate.readers import conversations as conv
from curate.readers.common import read_error
from pipelines.readers import ReadFile, matched_files, route
from pipelines.stages import ERRORS, REJECTED, StageResult


class _ParseFile(ReadFile):
    """The generic file reader, with the message parser instead of a document reader:
    (tree id, Message) pairs pass through uncounted (their threads are the units)."""

    def _route(self, item):
        yield item if isinstance(item, tuple) else route(item, self.kind)


class _BuildThreads(beam.DoFn):
    def __init__(self, kind: str, source: str, cfg):
        self.kind, self.source, self.cfg = kind, source, cfg

    def process(self, keyed):
        tree_id, messages = keyed
        try:
            items = list(conv.threads_for_tree(tree_id, messages, self.source, self.cfg))
        except Exception as e:  # a bug-shaped failure costs one tree, not the run
            items = [read_error("", f"tree {tree_id}", self.source, f"{type(e).__name__}: {e}")]
        for item in items:
            yield route(item, self.kind)


class ReadConversations(beam.PTransform):
    """Pipeline root -> StageResult(kept threads, rejected, errors) for one input."""

    def __init__(self, inp: InputConfig):
        super().__init__()
        if inp.kind not in (conv.TREES_KIND, conv.MESSAGES_KIND):
            raise ValueError(f"not a conversation input kind: {inp.kind!r}")
        self.kind = inp.kind
        self.paths = inp.paths
        self.source = inp.name or conv.DEFAULT_SOURCE
        self.cfg = inp.options

    def expand(self, root):
        parsed = matched_files(root, self.paths) | "parse" >> beam.ParDo(
            _ParseFile(self.kind, functools.partial(conv.parse_file, self.kind), self.source, self.cfg)
        ).with_outputs(REJECTED, ERRORS, main="messages")
        threads = (
            parsed.messages
            | "by tree" >> beam.GroupByKey()
            | "threads"
            >> beam.ParDo(_BuildThreads(self.kind, self.source, self.cfg)).with_outputs(REJECTED, ERRORS, main="kept")
        )
        rejected = (parsed[REJECTED], threads[REJECTED]) | "rejected" >> beam.Flatten()
        errors = (parsed[ERRORS], threads[ERRORS]) | "errors" >> beam.Flatten()
        return StageResult(threads.kept, rejected, errors)
