"""Helpers shared by the readers: decompression by magic bytes, numbered lines,
JSON-safe values, dotted field lookup, and the read-stage drop/error records."""

from __future__ import annotations

import datetime
import decimal
import gzip
from typing import Any, Iterator, Optional

from curate.document import Document, ErrorRecord, Rejected

READ_STAGE = "read"
GZIP_MAGIC = b"\x1f\x8b"


def decompressed(fileobj, path: str):
    """``fileobj`` as a stream of decompressed bytes: gzip is recognised by its magic
    bytes (or, for a stream that cannot seek back, by a ``.gz`` name)."""
    if fileobj.seekable():
        start = fileobj.tell()
        magic = fileobj.read(2)
        fileobj.seek(start)
        is_gzip = magic == GZIP_MAGIC
    else:
        is_gzip = path.endswith(".gz")
    # GzipFile reads every member of a multi-member file (as bgzip and Common Crawl write).
    return gzip.GzipFile(fileobj=fileobj, mode="rb") if is_gzip else fileobj


def numbered_lines(stream) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw line without the line end), skipping nothing."""
    for n, line in enumerate(stream, 1):
        yield n, line.rstrip(b"\r\n")


def read_error(path: str, locator: str, source: str, message: str) -> ErrorRecord:
    return ErrorRecord(input_file=path, locator=locator, stage=READ_STAGE, message=message, source=source)


def read_reject(doc: Document, reason: str, **details) -> Rejected:
    return Rejected(doc, READ_STAGE, reason, details)


def field(record: dict, name: str) -> Any:
    """``record[name]``, where a dotted name walks nested objects (``meta.title``).
    A literal key containing the dots wins over the walk. Missing -> ``None``."""
    if name in record:
        return record[name]
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def json_safe(value: Any) -> Any:
    """A value as JSON-serialisable data (Parquet gives datetimes, decimals, bytes)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def optional_str(value: Any) -> Optional[str]:
    """Ids may be stored as numbers; anything else (lists, objects) is not an id."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        s = str(value)
        return s if s else None
    return None
