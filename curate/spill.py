"""Work files: documents written to the run's work folder and read back, so that a
stage that needs the whole run (deduplication, a tokenizer trained in the run) never
holds the documents themselves in memory while it waits.

Why: a local run (FnApiRunner) keeps every element that crosses a shuffle or waits
for a side input in memory, so a stage that decided on the whole run and then applied
its decision to the documents held all of them. With work files only small
decisions cross the shuffle: the documents stream to disk as they arrive, and stream
back out of it once the decision is known (datatrove passes its intermediate results
through files for the same reason).

Format: a sequence of frames, each ``raw length, compressed length`` (8 bytes each,
little endian) then a zstd-compressed pickle of a list of documents. A file is
written by one worker and read whole by one; it lives for one run and is not an
exchange format. Files roll over at ``FILE_BYTES`` so that a large run's reads spread
over workers.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import uuid
from typing import Any, Iterator, Optional

import pyarrow as pa

from curate import io as cio
from curate.document import Document
from curate.outdir import WORK

FRAME_BYTES = 1 << 20  # documents pickled together: a frame of ~1 MB compresses well
FILE_BYTES = 64 << 20  # a new file past this size, so reads spread over workers
_HEADER = struct.Struct("<QQ")
_CODEC = "zstd"


def work_dir(staging: str, *parts: str) -> str:
    """The folder for a step's work files (``parts`` name the step)."""
    return cio.join(staging, WORK, *parts)


def _doc_size(doc: Document) -> int:
    # (a text that is not a str is carried as it is: the stage reading it back reports it)
    return (len(doc.text) if isinstance(doc.text, str) else 0) + (len(doc.html) if doc.html else 0) + 64


class SpillWriter:
    """Writes documents (or other picklable records, with ``size_of`` estimating their
    bytes) into new files under ``directory``, each with a unique name (a retried worker
    writes new files, never another attempt's). Frames are cut at ``frame_bytes``: the
    most a writer holds. :meth:`add` returns the path of a file it has just finished
    (the size limit was reached), :meth:`close` the path of the last one (None when
    nothing was written)."""

    def __init__(self, directory: str, frame_bytes: int = 0, size_of=_doc_size):
        self.directory = directory
        self.frame_limit = frame_bytes or FRAME_BYTES
        self.size_of = size_of
        self.file: Any = None  # the open work file, while one is being written
        self.path: Optional[str] = None
        self._open = contextlib.ExitStack()
        self.frame: list = []
        self.frame_bytes = 0
        self.file_bytes = 0

    def add(self, doc):
        if self.file is None:
            self.path = cio.join(self.directory, f"{uuid.uuid4().hex}.docs")
            self.file = self._open.enter_context(cio.open_write(self.path))
            self.file_bytes = 0
        self.frame.append(doc)
        self.frame_bytes += self.size_of(doc)
        if self.frame_bytes >= self.frame_limit:
            self._flush()
            if self.file_bytes >= FILE_BYTES:
                return self.close()
        return None

    def _flush(self) -> None:
        if not self.frame:
            return
        raw = pickle.dumps(self.frame, protocol=5)
        packed = pa.compress(raw, codec=_CODEC, asbytes=True)
        self.file.write(_HEADER.pack(len(raw), len(packed)))
        self.file.write(packed)
        self.file_bytes += len(packed) + _HEADER.size
        self.frame, self.frame_bytes = [], 0

    def close(self):
        """Finish the current file; its path, or None if no file was open."""
        if self.file is None:
            return None
        self._flush()
        self._open.close()  # the file appears under its name
        path, self.file, self.path = self.path, None, None
        return path


class KeyedSpillWriter:
    """One :class:`SpillWriter` per key (a hash bucket, a work file): records of a key go
    to files of their own, so the step that reads a key reads only its files. The files
    go to ``directory``, or to ``directory(key)`` when it is a function. :meth:`add` and
    :meth:`close` return ``(key, path)`` of the files they finish."""

    def __init__(self, directory, size_of, frame_bytes: int = 0):
        self.directory, self.size_of, self.frame_bytes = directory, size_of, frame_bytes
        self.writers: dict = {}

    def add(self, key, record):
        writer = self.writers.get(key)
        if writer is None:
            where = self.directory(key) if callable(self.directory) else self.directory
            writer = self.writers[key] = SpillWriter(where, self.frame_bytes, self.size_of)
        path = writer.add(record)
        return None if path is None else (key, path)

    def close(self) -> list:
        done = [(key, w.close()) for key, w in sorted(self.writers.items())]
        self.writers = {}
        return [(key, path) for key, path in done if path is not None]


def read_spill(path: str) -> Iterator:
    """The documents (records) of one work file, in the order written."""
    with cio.open_read(path) as f:
        while True:
            header = f.read(_HEADER.size)
            if not header:
                return
            if len(header) != _HEADER.size:
                raise OSError(f"{path}: work file cut short (a header of {len(header)} bytes)")
            raw_len, packed_len = _HEADER.unpack(header)
            packed = f.read(packed_len)
            if len(packed) != packed_len:
                raise OSError(f"{path}: work file cut short ({len(packed)} of {packed_len} bytes)")
            yield from pickle.loads(pa.decompress(packed, raw_len, codec=_CODEC, asbytes=True))


def spill_all(docs, directory: str) -> list[str]:
    """Write ``docs`` to work files under ``directory``; their paths (for tests and tools)."""
    writer = SpillWriter(directory)
    paths = [p for p in (writer.add(d) for d in docs) if p is not None]
    last = writer.close()
    return paths + ([last] if last is not None else [])


def default_work_dir() -> str:
    """A fresh local folder for work files, for transforms built outside ``curate run``
    (tests, notebooks) on a local runner; ``curate run`` uses the run's staging folder."""
    import tempfile

    return tempfile.mkdtemp(prefix="curate-work-", dir=os.environ.get("TMPDIR"))
