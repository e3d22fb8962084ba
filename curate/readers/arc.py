"""ARC files (the Internet Archive's format before WARC; Common Crawl 2008-2012): read
exactly as WARC responses are (``curate.readers.warc``): HTML responses with an
accepted status become documents with ``html`` set for the extraction stage; every
other record is skipped with the WARC reader's reasons (the file's version block is
``record_warcinfo``, ``dns:`` records are ``no_http_headers``).

An ARC record is a header line (version 1: URL, IP, date, content type, length;
version 2 adds five fields before the length), then ``length`` bytes, then a newline.
Real files do not always keep to it, and warcio (which reads ARC with ``arc2warc``)
gives up on the whole file after the first record that does not:

- Common Crawl's 2008-2012 ARCs declare a ``filedesc`` length one byte longer than
  the real version block, so the next record's header starts one byte before the
  declared end; Heritrix leaves out the newline after the version block; hand-edited
  test files declare lengths that run hundreds of bytes past the real record.
- So records are framed here, not by warcio: when the declared end of a record is
  not followed by a record header (or the end of the file), the reader looks for
  the next header line from ``LOOK_BACK`` bytes before the declared end onwards and
  goes on from there. A record whose declared length runs into the next header is
  read up to that header (``read:arc_length_corrected`` in the run's stats); bytes
  between a record's end and the next header that are not records become one error
  record naming the byte range (``read:arc_bytes_skipped`` counts them).

Each record is handed to the WARC reader's record logic as a warcio record, so HTTP
bodies with chunked transfer encoding or gzip/deflate/brotli content encoding are
decoded as WARC payloads are. ARC records have no record id: a stable one is built
from the URL, the archive date and the offset. Gzip is decompressed first
(per-record members or the whole file); offsets are positions in the uncompressed
stream.

Bounds: a header line is at most ``MAX_HEADER_LINE`` bytes; a record body is never
held whole unless it is within ``max_body_bytes`` (plus ``MAX_HTTP_HEADER_BYTES``);
the reader buffers at most that plus ``LOOK_BACK`` + ``LOOK_AHEAD`` bytes. A record
whose declared length is too large by more than ``LOOK_BACK`` and over the
``max_body_bytes`` limit cannot be corrected: the records it covers count as part of
its ``too_large`` drop.
"""

from __future__ import annotations

import dataclasses
import re
from typing import IO, Iterator, Optional, Union

from warcio.limitreader import LimitReader
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import timestamp_to_iso_date

from curate.document import ErrorRecord
from curate.readers.common import ReadStat, decompressed, read_error
from curate.readers.warc import MAX_HTTP_HEADER_BYTES, Item, WarcConfig, _read_record, data_error_text
from curate.registry import register_reader

MAX_HEADER_LINE = 8192  # bytes; a longer line is not an ARC record header
LOOK_BACK = 4096  # how far before a record's declared end the next header may start
LOOK_AHEAD = 4096  # bytes looked at after the declared end before a wider scan
_CHUNK = 1 << 16

# scheme:rest — the first field of a record header (filedesc://, http://, dns:, ...)
_URL_RE = re.compile(rb"^[A-Za-z][A-Za-z0-9+.\-]*:")
_SCHEMES = ("http:", "https:", "ftp:", "dns:", "filedesc:", "whois:")


@dataclasses.dataclass
class ArcHeader:
    url: str
    ip: str
    date: str
    content_type: str
    length: int
    line_len: int  # bytes of the header line, its newline included


def parse_header(line: bytes, fields: int = 5) -> Optional[ArcHeader]:
    """An ARC record header line (with its newline), or None when it is not one.

    The fields are split from the right, so a URL holding spaces (which some crawlers
    wrote unescaped) stays whole. ``fields`` is 5 for ARC version 1, 10 for version 2."""
    if not line.endswith(b"\n") or len(line) > MAX_HEADER_LINE:
        return None
    text = line.rstrip(b"\r\n")
    parts = text.rsplit(b" ", fields - 1)
    if len(parts) != fields or not _URL_RE.match(parts[0]) or not parts[-1].isdigit():
        return None
    if any(not p for p in parts[1:]):
        return None
    url = parts[0].decode("utf-8", "replace")
    return ArcHeader(
        url=url,
        ip=parts[1].decode("latin-1"),
        date=parts[2].decode("latin-1"),
        content_type=parts[3].decode("latin-1"),
        length=int(parts[-1]),
        line_len=len(line),
    )


class _ArcStream:
    """The decompressed ARC bytes with absolute positions, a look-ahead (``window``)
    and a look-back of ``LOOK_BACK`` bytes (``seek`` back within them).

    A failure of the input (a gzip member cut short) ends the data where it happened,
    as the end of a file does, and is raised by the first ``read`` that reaches it,
    so the records before it are read first."""

    def __init__(self, raw):
        self.raw = raw
        self.buf = bytearray()
        self.buf_start = 0  # absolute position of buf[0]
        self.pos = 0
        self.exhausted = False
        self.failure: Optional[Exception] = None

    def _fill(self, upto: int) -> None:
        """Buffer bytes up to absolute position ``upto`` (or the end of the data)."""
        while not self.exhausted and self.buf_start + len(self.buf) < upto:
            try:
                data = self.raw.read(max(_CHUNK, upto - self.buf_start - len(self.buf)))
            except Exception as e:  # noqa: BLE001 - raised again where the data ends
                self.failure, data = e, b""
            if not data:
                self.exhausted = True
            self.buf += data

    def _compact(self) -> None:
        drop = self.pos - LOOK_BACK - self.buf_start
        if drop > _CHUNK:
            del self.buf[:drop]
            self.buf_start += drop

    def data_end(self) -> Optional[int]:
        """Where the data ends, once it has been reached (None before)."""
        return self.buf_start + len(self.buf) if self.exhausted else None

    def window(self, start: int, stop: int) -> bytes:
        """Bytes [start, stop) (start within the look-back), fewer at the end of the data."""
        self._fill(stop)
        start = max(start, self.buf_start)
        return bytes(self.buf[start - self.buf_start : stop - self.buf_start])

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int) -> None:
        if pos < self.buf_start:
            raise ValueError(f"cannot seek back to {pos}: only bytes from {self.buf_start} are kept")
        self._fill(pos)
        self.pos = min(pos, self.buf_start + len(self.buf))
        self._compact()

    def _take(self, data: bytes, asked: int) -> bytes:
        if not data and asked and self.failure is not None:
            raise self.failure
        self.pos += len(data)
        self._compact()
        return data

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = _CHUNK
        self._fill(self.pos + n)
        i = self.pos - self.buf_start
        return self._take(bytes(self.buf[i : i + n]), n)

    def readline(self, limit: int = -1) -> bytes:
        limit = MAX_HEADER_LINE if limit is None or limit < 0 else limit
        i = self.pos - self.buf_start
        while True:
            j = self.buf.find(b"\n", i, i + limit)
            if j != -1 or self.exhausted or len(self.buf) - i >= limit:
                end = j + 1 if j != -1 else min(len(self.buf), i + limit)
                return self._take(bytes(self.buf[i:end]), limit)
            self._fill(self.buf_start + len(self.buf) + _CHUNK)


_BLANK = re.compile(rb"[\s\x00]*")  # newlines, and the spaces or NULs some writers pad with


def _blank_len(data: bytes) -> int:
    """How many :data:`_BLANK` bytes ``data`` starts with (the pattern matches everywhere)."""
    m = _BLANK.match(data)
    return m.end() if m else 0


def _header_at(stream: _ArcStream, pos: int, fields: int) -> Optional[ArcHeader]:
    return parse_header(_first_line(stream.window(pos, pos + MAX_HEADER_LINE)), fields)


def _first_line(data: bytes) -> bytes:
    j = data.find(b"\n")
    return data[: j + 1] if j != -1 else data


def _is_boundary(stream: _ArcStream, pos: int, fields: int) -> bool:
    """Does a record end at ``pos``: newlines, then a record header or the end of input?
    The header must start a line, or name a scheme ARC files hold: one byte short of a
    header (``ttp://...`` where ``http://...`` starts a byte earlier) is not one."""
    data = stream.window(pos - 1, pos + LOOK_AHEAD)
    if not data:
        return False
    prev, data = data[:1], data[1:]
    skip = _blank_len(data)
    rest = data[skip:]
    if not rest:
        end = stream.data_end()
        return end is not None and end >= pos and pos + len(data) >= end  # only newlines to the end
    header = _header_at(stream, pos + skip, fields)
    if header is None:
        return False
    line_start = (data[skip - 1 : skip] if skip else prev) == b"\n"
    return line_start or header.url.lower().startswith(_SCHEMES)


def _headers_in(data: bytes, base: int, fields: int, lo: int) -> Iterator[tuple[int, ArcHeader]]:
    """Record headers that start a line within ``data`` (at absolute ``base``), at >= ``lo``."""
    for m in re.finditer(rb"\n", data):
        start = m.end()
        if base + start < lo:
            continue
        header = parse_header(_first_line(data[start : start + MAX_HEADER_LINE]), fields)
        if header is not None:
            yield base + start, header


def _next_header_near(stream: _ArcStream, body_start: int, end: int, fields: int) -> Optional[int]:
    """The first record header (at a line start) in [end - LOOK_BACK, end + LOOK_AHEAD)
    and after ``body_start``, for a declared end that is not a record boundary; None
    when there is none. The first, not the nearest: a record whose declared length
    runs past the next record may run past the one after it too."""
    lo = max(body_start, end - LOOK_BACK, stream.buf_start + 1)
    data = stream.window(lo - 1, end + LOOK_AHEAD)  # from the newline before a header at lo
    for p, _ in _headers_in(data, lo - 1, fields, lo):
        return p
    return None


def _scan_forward(stream: _ArcStream, pos: int, fields: int) -> int:
    """The next record header at or after ``pos`` (at a line start), or the end of input.
    Reads in blocks: a long damaged stretch is not held in memory."""
    if _header_at(stream, pos, fields) is not None and (pos == 0 or stream.window(pos - 1, pos) == b"\n"):
        return pos
    while True:
        data = stream.window(pos, pos + _CHUNK + MAX_HEADER_LINE)
        for p, _ in _headers_in(data, pos, fields, pos + 1):
            return p
        end = stream.data_end()
        if end is not None and pos + len(data) >= end:
            return end
        pos += _CHUNK
        stream.seek(pos)


def _iso_date(date: str) -> Optional[str]:
    if not (date.isdigit() and 12 <= len(date)):
        return None
    try:
        return timestamp_to_iso_date(date)
    except (ValueError, OverflowError):
        return None


def _warc_record(header: ArcHeader, offset: int, body: LimitReader) -> ArcWarcRecord:
    """The ARC record as the warcio record the WARC reader takes (what warcio's
    ``arc2warc`` makes of it, with a stable record id)."""
    date = _iso_date(header.date)
    if header.url.startswith("filedesc://"):
        rec_type, uri_header, uri = "warcinfo", "WARC-Filename", header.url[len("filedesc://") :]
        content_type = header.content_type
    else:
        rec_type, uri_header, uri = "response", "WARC-Target-URI", header.url.replace(" ", "%20")
        http = uri.lower().startswith(("http:", "https:"))
        content_type = "application/http;msgtype=response" if http else header.content_type
    headers = [
        ("WARC-Type", rec_type),
        ("WARC-Record-ID", f"<arc:{uri} {date or ''} @{offset}>"),
        (uri_header, uri),
        ("WARC-IP-Address", header.ip),
        ("Content-Type", content_type),
        ("Content-Length", str(header.length)),
    ]
    if date:
        headers.append(("WARC-Date", date))
    rec_headers = StatusAndHeaders("", headers, protocol="WARC/1.0")
    return ArcWarcRecord("warc", rec_type, rec_headers, body, None, content_type, body.limit)


def _fields_for(version_block: bytes) -> int:
    """5 header fields for ARC version 1, 10 for version 2 (from the filedesc version line)."""
    return 10 if version_block.startswith(b"2 ") else 5


@register_reader("arc", WarcConfig, default_source="web")
def read_arc(path: str, fileobj: IO[bytes], source: str, config: WarcConfig) -> Iterator[Union[Item, ReadStat]]:
    name = path.rsplit("/", 1)[-1]
    stream = _ArcStream(decompressed(fileobj, path, buffered=False))
    fields = 5
    pos = 0
    # records up to this size are checked before they are read, so that a record
    # whose declared length runs into the next header is read without that header
    precheck = config.max_body_bytes + MAX_HTTP_HEADER_BYTES
    nxt: Optional[int]
    try:
        while True:
            stream.seek(pos)
            pos += _blank_len(stream.window(pos, pos + LOOK_AHEAD))
            if not stream.window(pos, pos + 1):
                if stream.failure is not None:
                    raise stream.failure
                return
            header = _header_at(stream, pos, fields)
            if header is None:
                nxt = _scan_forward(stream, pos, fields)
                yield from _skipped(stream, path, source, pos, nxt, "no ARC record header where one must start")
                pos = nxt
                continue
            body_start = pos + header.line_len
            end = body_start + header.length
            nxt = None  # where the next record starts, once known
            if header.length <= precheck and not _is_boundary(stream, end, fields):
                nxt = _next_header_near(stream, body_start, end, fields)
                if nxt is not None and nxt < end:
                    # the declared length runs into the next record's header: the record
                    # ends before it (and before the newline that separates records)
                    end = nxt - 1 if nxt > body_start and stream.window(nxt - 1, nxt) == b"\n" else nxt
                    yield ReadStat("arc_length_corrected")
            if header.url.startswith("filedesc://"):
                fields = _fields_for(stream.window(body_start, body_start + 16))
            stream.seek(body_start)
            body = LimitReader(stream, end - body_start)
            item = _read_record(_warc_record(header, pos, body), path, name, pos, source, config)
            yield item
            if isinstance(item, ErrorRecord):  # the data ends inside the record
                return
            while body.read(_CHUNK):  # what the record logic left unread
                pass
            if nxt is None and not _is_boundary(stream, end, fields):
                nxt = _next_header_near(stream, body_start, end, fields)
                if nxt is not None and nxt < end:
                    yield ReadStat("arc_length_corrected")  # found after a too_large record
                elif nxt is None:
                    nxt = _scan_forward(stream, end, fields)
            if nxt is not None and nxt > end:
                gap = end + _blank_len(stream.window(end, nxt))  # the newline(s) after a record are no gap
                if nxt > gap:
                    yield from _skipped(
                        stream, path, source, gap, nxt, "bytes after the record's declared length are not an ARC record"
                    )
            pos = nxt if nxt is not None else end
    except Exception as e:  # the data itself broke off (a cut or corrupt gzip member)
        at = stream.tell()
        yield read_error(path, f"offset:{at}", source, f"ARC data unreadable at offset {at}: {data_error_text(e)}")


def _skipped(
    stream: _ArcStream, path: str, source: str, start: int, stop: int, why: str
) -> Iterator[Union[ErrorRecord, ReadStat]]:
    """One error for bytes [start, stop) that hold no record, and their count; nothing
    when they run into a failure of the input (which is reported itself)."""
    if stop == stream.data_end() and stream.failure is not None:
        return
    then = (
        "the data ends there"
        if stop == stream.data_end()
        else f"reading resumed at the next record header (offset {stop})"
    )
    yield read_error(
        path, f"offset:{start}", source, f"{stop - start} bytes at offsets {start}-{stop} skipped: {why}; {then}"
    )
    yield ReadStat("arc_bytes_skipped", stop - start)
