"""Reading the positive and negative text sets a classifier is trained on.

A source is a path (or a glob) to:

- a plain-text file (``.txt``, optionally ``.gz``): one document per line;
- a JSONL file (``.jsonl``, ``.ndjson``, ``.json``, optionally ``.gz``): one object
  per line, the text in ``text_field`` (default ``text``) and, optionally, a group in
  ``group_field`` (default ``group``: texts of one group, say the passages of one page,
  all land on the same side of the held-out split);
- a Parquet file, or a folder of them (the ``shards/`` or ``rejected/`` folder of an
  earlier ``curate run``): the ``text`` column.

JSONL and Parquet go through the pipeline's own readers (``curate.readers.records``:
gzip by magic bytes, dotted field names, Parquet in batches), so a training set reads
exactly as the same file would as a pipeline input. Records those readers reject
(blank text) or fail on (not JSON, no text field) are counted per file, never silently
skipped; a source with no usable document at all is an error.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import os
from typing import Iterator

from curate.document import Document, ErrorRecord
from curate.readers.common import decompressed, numbered_lines
from curate.readers.records import ParquetConfig, RecordsConfig, read_jsonl, read_parquet

PARQUET_EXTS = (".parquet",)
JSONL_EXTS = (".jsonl", ".ndjson", ".json")


class DataError(ValueError):
    """A training source that cannot be read or holds no usable text."""


@dataclasses.dataclass
class FileStats:
    """What one file contributed (written to the model card)."""

    path: str
    format: str
    sha256: str = ""
    read: int = 0  # documents read
    blank: int = 0  # records whose text is blank
    bad: int = 0  # records that cannot be read (not JSON, no text field, ...)
    first_problem: str = ""  # the first reader error, to say why a file gave nothing

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_format(path: str) -> str:
    name = path[:-3] if path.endswith(".gz") else path
    if name.endswith(PARQUET_EXTS):
        return "parquet"
    if name.endswith(JSONL_EXTS):
        return "jsonl"
    return "text"


def expand(source: str) -> list[str]:
    """The files a source names, sorted: a file, a glob, or a folder of Parquet files."""
    if os.path.isdir(source):
        if os.path.exists(os.path.join(source, "manifest.json")):
            raise DataError(
                f"{source}: this is the root of a curate output; pass its shards/ (kept documents) or rejected/ folder"
            )
        files = sorted(glob.glob(os.path.join(source, "**", "*.parquet"), recursive=True))
        if not files:
            raise DataError(f"{source}: folder holds no .parquet file")
        return files
    if os.path.isfile(source):
        return [source]
    files = sorted(p for p in glob.glob(source) if os.path.isfile(p))
    if not files:
        raise DataError(f"{source}: no such file")
    return files


Example = tuple  # (text, group or None)


def _text_lines(path: str, f) -> Iterator[Document]:
    for n, raw in numbered_lines(decompressed(f, path)):
        text = raw.decode("utf-8", errors="replace")
        if text.strip():
            yield Document(id=f"line {n}", text=text, source="train")


def _reader_items(path: str, fmt: str, f, text_field: str, group_field: str):
    if fmt == "text":
        return _text_lines(path, f)
    if fmt == "jsonl":
        return read_jsonl(path, f, "train", RecordsConfig(text_field=text_field, metadata_fields=[group_field]))
    return read_parquet(path, f, "train", ParquetConfig(text_field=text_field))


def _read_file(path: str, fmt: str, st: FileStats, text_field: str, group_field: str) -> Iterator[Example]:
    with open(path, "rb") as f:
        try:
            for item in _reader_items(path, fmt, f, text_field, group_field):
                if isinstance(item, Document):
                    st.read += 1
                    group = item.metadata.get("fields", {}).get(group_field)
                    yield item.text, (None if group is None else str(group))
                elif isinstance(item, ErrorRecord):
                    st.bad += 1
                    st.first_problem = st.first_problem or f"{item.locator}: {item.message}"
                else:  # Rejected: the readers reject only blank text
                    st.blank += 1
        except Exception as e:  # pyarrow raises several types for a non-Parquet file
            if fmt != "parquet":
                raise
            raise DataError(f"{path}: not a Parquet file ({e})") from None


def read_source(
    source: str, text_field: str = "text", group_field: str = "group"
) -> tuple[list[Example], list[FileStats]]:
    """All ``(text, group)`` examples of one source, in file order, with per-file statistics."""
    texts: list[Example] = []
    stats: list[FileStats] = []
    for path in expand(source):
        fmt = file_format(path)
        st = FileStats(path=path, format=fmt, sha256=file_sha256(path))
        try:
            texts.extend(_read_file(path, fmt, st, text_field, group_field))
        except OSError as e:  # unreadable file, corrupt gzip
            raise DataError(f"{path}: cannot read ({e})") from None
        stats.append(st)
    if not texts:
        detail = "; ".join(
            f"{s.path}: {s.read} read, {s.blank} blank, {s.bad} unusable"
            + (f" (first: {s.first_problem})" if s.first_problem else "")
            for s in stats
        )
        raise DataError(f"{source}: no usable text ({detail})")
    return texts, stats
