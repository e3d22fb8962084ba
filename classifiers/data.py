"""Reading the positive and negative text sets a classifier is trained on.

A source is a path (or a glob) to:

- a plain-text file (``.txt``, optionally ``.gz``): one document per line;
- a JSONL file (``.jsonl``, ``.ndjson``, ``.json``, optionally ``.gz``): one object
  per line, the text in ``text_field`` (default ``text``) and, optionally, a group in
  ``group_field`` (default ``group``: texts of one group, say the passages of one page,
  all land on the same side of the held-out split);
- a Parquet file, or a folder of them (the ``shards/`` or ``rejected/`` folder of an
  earlier ``curate run``): the ``text`` column.

Lines that cannot be used (not JSON, no text field) are counted per file, never
silently skipped; a source with no usable document at all is an error.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import hashlib
import io
import json
import os
from typing import Iterator

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
    read: int = 0  # documents read (lines / rows with a text)
    bad: int = 0  # lines that are not JSON objects with a string text field

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
                f"{source}: this is the root of a curate output; pass its shards/ "
                "(kept documents) or rejected/ folder"
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


def _open_text(path: str):
    raw = open(path, "rb")
    if path.endswith(".gz"):
        raw = gzip.GzipFile(fileobj=raw)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="\n")


Example = tuple  # (text, group or None)


def _read_parquet(path: str, stats: FileStats) -> Iterator[Example]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for a non-Parquet file
        raise DataError(f"{path}: not a Parquet file ({e})") from None
    if "text" not in pf.schema_arrow.names:
        raise DataError(f"{path}: Parquet file has no 'text' column")
    for batch in pf.iter_batches(columns=["text"], batch_size=1024):
        for value in batch.column(0).to_pylist():
            if isinstance(value, str):
                stats.read += 1
                yield value, None
            else:
                stats.bad += 1


def _read_jsonl(path: str, stats: FileStats, text_field: str, group_field: str) -> Iterator[Example]:
    with _open_text(path) as f:
        for line in f:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                stats.bad += 1
                continue
            value = obj.get(text_field) if isinstance(obj, dict) else None
            if isinstance(value, str):
                stats.read += 1
                group = obj.get(group_field)
                yield value, (None if group is None else str(group))
            else:
                stats.bad += 1


def _read_lines(path: str, stats: FileStats) -> Iterator[Example]:
    with _open_text(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip():
                stats.read += 1
                yield line, None


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
            if fmt == "parquet":
                texts.extend(_read_parquet(path, st))
            elif fmt == "jsonl":
                texts.extend(_read_jsonl(path, st, text_field, group_field))
            else:
                texts.extend(_read_lines(path, st))
        except (OSError, EOFError) as e:  # unreadable file, corrupt gzip
            raise DataError(f"{path}: cannot read ({e})") from None
        stats.append(st)
    if not texts:
        detail = "; ".join(f"{s.path}: {s.read} read, {s.bad} unusable" for s in stats)
        raise DataError(f"{source}: no usable text ({detail})")
    return texts, stats
