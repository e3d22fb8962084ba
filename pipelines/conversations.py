"""Beam glue for conversation trees: parse every file's lines into messages keyed by
tree id, bring each tree's messages together (trees span files; children may come
first), then the core builds each tree's threads. Counting: every produced thread and
every defective message or line is one input unit (docs/sources-conversations-formats.md).

The messages are brought together through work files (:mod:`curate.spill`), not a
GroupByKey on the tree id, which on a local run holds every message of the input in
memory: each message goes to the work file of its tree's hash bucket (one of
``BUCKETS``), only ``(bucket, file)`` pairs cross the shuffle, and each bucket's files
are read and grouped by tree on one worker. Memory: one bucket's messages, about
1/``BUCKETS`` of the input's, plus a small frame per open bucket file while writing.
"""

from __future__ import annotations

import collections
import functools

import apache_beam as beam
import xxhash
from apache_beam.transforms.window import GlobalWindows

from curate import io as cio
from curate.config import InputConfig
from curate.readers import conversations as conv
from curate.readers.common import read_error
from curate.spill import KeyedSpillWriter, default_work_dir, read_spill
from pipelines.readers import ReadFile, matched_files, route
from pipelines.stages import ERRORS, REJECTED, StageResult

# Hash buckets of tree ids: a bucket's messages are in memory at once when its trees
# are built. More buckets, less memory and more (smaller) work files.
BUCKETS = 64
# Messages a bucket's work file holds in memory before writing them (x BUCKETS per writer).
BUCKET_FRAME_BYTES = 256 << 10


def tree_bucket(tree_id: str) -> int:
    return xxhash.xxh64_intdigest(tree_id.encode("utf-8", "surrogatepass")) % BUCKETS


def _message_size(keyed) -> int:
    return len(keyed[1].text) + 128


class _ParseFile(ReadFile):
    """The generic file reader, with the message parser instead of a document reader:
    (tree id, Message) pairs pass through uncounted (their threads are the units)."""

    def _route(self, item):
        yield item if isinstance(item, tuple) else route(item, self.kind)


class _WriteBuckets(beam.DoFn):
    """(tree id, Message) -> the work file of the tree's bucket; yields (bucket, file)
    for each file it finishes."""

    def __init__(self, directory: str):
        self.directory = directory

    def _bucket_dir(self, bucket: int) -> str:
        return cio.join(self.directory, f"{bucket:04d}")

    def start_bundle(self):
        self.writer = KeyedSpillWriter(self._bucket_dir, _message_size, BUCKET_FRAME_BYTES)

    def process(self, keyed):
        done = self.writer.add(tree_bucket(keyed[0]), keyed)
        if done is not None:
            yield done

    def finish_bundle(self):
        for done in self.writer.close():
            yield GlobalWindows.windowed_value(done)


class _BuildThreads(beam.DoFn):
    """One bucket's work files -> the threads of each of its trees."""

    def __init__(self, kind: str, source: str, cfg):
        self.kind, self.source, self.cfg = kind, source, cfg

    def process(self, bucket_files):
        trees = collections.defaultdict(list)
        for path in sorted(bucket_files[1]):
            for tree_id, message in read_spill(path):
                trees[tree_id].append(message)
        for tree_id in sorted(trees):
            messages = trees.pop(tree_id)
            try:
                items = list(conv.threads_for_tree(tree_id, messages, self.source, self.cfg))
            except Exception as e:  # a bug-shaped failure costs one tree, not the run
                items = [read_error("", f"tree {tree_id}", self.source, f"{type(e).__name__}: {e}")]
            for item in items:
                yield route(item, self.kind)


class ReadConversations(beam.PTransform):
    """Pipeline root -> StageResult(kept threads, rejected, errors) for one input."""

    def __init__(self, inp: InputConfig, work_dir=None):
        super().__init__()
        self.work_dir = work_dir or default_work_dir()
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
            | "to buckets" >> beam.ParDo(_WriteBuckets(self.work_dir))
            | "by bucket" >> beam.GroupByKey()
            | "threads"
            >> beam.ParDo(_BuildThreads(self.kind, self.source, self.cfg)).with_outputs(REJECTED, ERRORS, main="kept")
        )
        rejected = (parsed[REJECTED], threads[REJECTED]) | "rejected" >> beam.Flatten()
        errors = (parsed[ERRORS], threads[ERRORS]) | "errors" >> beam.Flatten()
        return StageResult(threads.kept, rejected, errors)
