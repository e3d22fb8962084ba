"""Helpers shared by the readers: decompression by magic bytes, numbered lines,
JSON-safe values, dotted field lookup, and the read-stage drop/error records."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import io
import logging
import re
import zlib
from typing import Any, Iterator, Optional, overload

from curate.document import Document, ErrorRecord, Rejected

log = logging.getLogger(__name__)

READ_STAGE = "read"
GZIP_MAGIC = b"\x1f\x8b"


@dataclasses.dataclass(frozen=True)
class ReadStat:
    """Something a reader did that is not an input unit (bytes skipped to resynchronise,
    a declared length corrected): counted as ``read:<name>`` in the run's stats, outside
    the accounting identity. Readers may yield it between their items."""

    name: str
    n: int = 1


class TruncatedInput(IOError):
    """Compressed input that ends inside a gzip member. (Not an EOFError: warcio and
    GzipFile treat that as a normal end of input, which would lose it silently.)"""


class GzipMembers(io.RawIOBase):
    """Decompresses concatenated gzip members (bgzip, Common Crawl's per-record
    members, or one member for the whole file) as a raw stream.

    Unlike ``gzip.GzipFile``, everything decompressed before a truncation is returned
    first, and the truncation is raised only on the next read: the records before
    it are kept and the error is reported after them. At most ``out_step`` bytes are
    inflated at a time, so a gzip bomb (a few KB that expand to gigabytes) never
    expands in memory beyond what the reader asks for.
    """

    def __init__(self, raw, chunk_size: int = 1 << 16, out_step: int = 1 << 20):
        self.raw = raw
        self.chunk_size = chunk_size
        self.out_step = out_step
        self.decomp: Optional[zlib._Decompress] = None  # the current member's decompressor
        self.input = b""  # compressed bytes not yet inflated
        self.more = False  # the decompressor may hold output for no further input
        self.pending = bytearray()
        self.pos = 0
        self.failure: Optional[Exception] = None  # raised once ``pending`` is consumed
        self.at_end = False

    def readable(self) -> bool:
        return True

    def _inflate(self) -> None:
        """Inflate at most ``out_step`` bytes of ``input`` into ``pending``."""
        data = self.input
        if self.decomp is None or self.decomp.eof:
            data = data.lstrip(b"\x00")  # zero padding between or after members, as GzipFile allows
            if not data:
                self.input = b""
                return
            self.decomp = zlib.decompressobj(31)  # 31: gzip header and trailer
        try:
            out = self.decomp.decompress(data, self.out_step)
        except zlib.error as e:  # corrupt data: report it after what decompressed before it
            self.failure, self.input, self.more = e, b"", False
            return
        self.pending += out
        self.input = self.decomp.unused_data if self.decomp.eof else self.decomp.unconsumed_tail
        self.more = len(out) == self.out_step and not self.decomp.eof

    def readinto(self, buf) -> int:
        while self.pos >= len(self.pending):
            if self.failure is not None:
                failure, self.failure, self.at_end = self.failure, None, True
                raise failure
            if self.at_end:
                return 0
            self.pending, self.pos = bytearray(), 0
            if not self.input and not self.more:
                data = self.raw.read(self.chunk_size)
                if not data:
                    self.at_end = True
                    if self.decomp is not None and not self.decomp.eof:
                        raise TruncatedInput("the gzip data ends inside a member (truncated file)")
                    return 0
                self.input = data
            self._inflate()
        n = min(len(buf), len(self.pending) - self.pos)
        buf[:n] = self.pending[self.pos : self.pos + n]
        self.pos += n
        return n


def decompressed(fileobj, path: str, buffered: bool = True):
    """``fileobj`` as a stream of decompressed bytes: gzip is recognised by its magic
    bytes (or, for a stream that cannot seek back, by a ``.gz`` name).

    ``buffered=False`` gives the raw stream, whose short reads never lose data before
    a truncation (for readers that buffer themselves, like warcio)."""
    if fileobj.seekable():
        start = fileobj.tell()
        magic = fileobj.read(2)
        fileobj.seek(start)
        is_gzip = magic == GZIP_MAGIC
    else:
        is_gzip = path.endswith(".gz")
    if not is_gzip:
        return fileobj
    raw = GzipMembers(fileobj)
    return io.BufferedReader(raw, buffer_size=1 << 16) if buffered else raw


@overload
def numbered_lines(stream, max_bytes: None = None) -> Iterator[tuple[int, bytes]]: ...
@overload
def numbered_lines(stream, max_bytes: int) -> Iterator[tuple[int, Optional[bytes]]]: ...
def numbered_lines(stream, max_bytes: Optional[int] = None) -> Iterator[tuple[int, Optional[bytes]]]:
    """(1-based line number, raw line without the line end), skipping nothing.

    With ``max_bytes``, a longer line is never held in memory: it is read past in
    blocks and given as None (the caller drops it as ``too_large``)."""
    if max_bytes is None:
        for n, line in enumerate(stream, 1):
            yield n, line.rstrip(b"\r\n")
        return
    n = 0
    while True:
        line = stream.readline(max_bytes + 2)  # room for the line end
        if not line:
            return
        n += 1
        if not line.endswith(b"\n") and len(line) == max_bytes + 2:  # longer still: read past it
            while True:
                block = stream.readline(1 << 20)
                if not block or block.endswith(b"\n"):
                    break
            yield n, None
            continue
        line = line.rstrip(b"\r\n")
        yield n, (line if len(line) <= max_bytes else None)


def data_error_text(e: BaseException) -> str:
    """What was wrong with the data, for an error message: the exceptions warcio and
    zlib raise on bad input, said in words; an unexpected exception (a bug, or input
    warcio mishandles) is logged with its traceback and reported as malformed data."""
    if isinstance(e, TruncatedInput):
        return "the gzip data ends inside a member (the file is cut short)"
    if isinstance(e, zlib.error):
        return f"corrupt gzip data ({e})"
    from warcio.exceptions import ArchiveLoadFailed

    if isinstance(e, ArchiveLoadFailed):
        text = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), "")
        if "non-chunked gzip" in str(e):
            return "one gzip member holds many records (non-chunked gzip)"
        m = re.match(r"(?:Unknown archive format|Invalid WARC record|Invalid ARC record), first line: (.*)", text)
        if m:
            return f"no record header where a record must start (the line there: {m.group(1)[:120]})"
        return text
    if isinstance(e, EOFError):
        return "the data ends inside a record"
    if isinstance(e, OSError) and str(e):
        return f"read error ({str(e).splitlines()[0][:200]})"
    log.warning("unexpected %s while reading input", type(e).__name__, exc_info=e)
    return "malformed record data"


def unreadable(path: str, locator: str, source: str, e: BaseException) -> ErrorRecord:
    """The error for input that broke off (a cut or corrupt gzip stream) at ``locator``
    (``after line N``): what was read before it stands."""
    return read_error(path, locator, source, f"unreadable data {locator}: {data_error_text(e)}")


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
