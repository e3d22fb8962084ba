"""WARC ingestion with warcio.

Every WARC record is one input unit and yields exactly one item:

- an HTML ``response`` with a 2xx status -> a :class:`Document` with ``html`` set
  (the ``extract`` stage turns it into text); so is a ``response`` whose block is a
  bare HTML page with no HTTP message (the record's own Content-Type says HTML; no
  status to check);
- any other record -> :class:`Rejected` at stage ``read`` with a reason
  (``record_request``, ``record_metadata``, ``not_html``, ``http_status``, ...; the
  WARC-Type is read case-blind, without blanks);
- a truncated record, or a file that breaks off mid-stream -> :class:`ErrorRecord`
  after all the records before the damage. Damage in the middle (a corrupt or foreign
  gzip member, garbage where a record must start, a record header block with no valid
  ``Content-Length``) is one :class:`ErrorRecord` naming the bytes skipped, and reading
  resumes at the next record start (``_read_members``); a file gzipped as one stream
  cannot be resumed and its error says so. Error messages name the offset and what is
  wrong with the data, never an exception of the code;
- bytes between two records that are no record header (a Content-Length too short) ->
  one :class:`ErrorRecord`, counted as ``read:warc_bytes_skipped``; reading goes on
  at the next ``WARC/`` line. A record followed directly by the next one (no blank
  lines, as in ClueWeb09) is no damage.

The HTTP headers of a ``response`` are parsed here, not by warcio, whenever the record
says it holds an HTTP response (``Content-Type: application/http; msgtype=response``)
or its target URI is http(s), and the block starts with an ``HTTP/`` status line:
crawlers write targets such as ``hard::``, ``recall::`` or ``dns:`` in front of real
HTTP responses, which warcio would leave unparsed.

Gzip: one member per record, one member for the whole file, or members cut elsewhere
than between records (the latter two are read again as one gunzipped stream).

Bounded memory: a line where a WARC header is expected is at most ``MAX_HEADER_LINE``
bytes and a header block at most ``MAX_HEADER_BLOCK`` (else the stream is reported
unreadable there); HTTP headers at most ``MAX_HTTP_HEADER_BYTES`` (else ``too_large``);
a body is decoded only up to ``max_body_bytes`` + 1 bytes, and skipped records are
drained undecoded in blocks.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import re
import zlib
from typing import IO, Any, Callable, Generator, Iterator, Optional, Union, cast

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser

from curate.document import Document, ErrorRecord, Rejected, document_id
from curate.params import param
from curate.readers.common import GZIP_MAGIC, ReadStat, data_error_text, decompressed, read_error
from curate.registry import register_reader

Item = Union[Document, Rejected, ErrorRecord]
# The item of one record: (warcio record, its offset in the file) -> a document, a drop or a
# record error. The WARC reader's is _read_record; the WET reader's makes text documents.
RecordReader = Callable[[Any, int], Item]

MAX_HEADER_LINE = 1 << 20  # bytes in one line where a WARC record header is expected
MAX_HEADER_BLOCK = 4 << 20  # bytes of header lines read in a row (WARC and HTTP headers)
MAX_HTTP_HEADER_BYTES = 256 << 10  # a response's HTTP status line and headers
INFLATE_STEP = 1 << 20  # bytes of gzip output produced at a time
_DRAIN = 1 << 16


@dataclasses.dataclass
class WarcConfig:
    max_body_bytes: int = param(5_000_000, min=1)  # larger payloads are skipped (reason ``too_large``)
    accept_status: list[int] = param(factory=lambda: [200, 203], min=100, max=599)
    content_types: list[str] = dataclasses.field(default_factory=lambda: ["text/html", "application/xhtml+xml"])


@dataclasses.dataclass
class WarcReadConfig(WarcConfig):
    # > 0: read one per-record-gzipped file in ranges of this many compressed bytes, in
    # parallel (see read_warc_range); 0: each file is read whole by one worker.
    split_bytes: int = param(0, min=0)


# WHATWG encoding aliases that matter in practice: pages labelled with the narrow
# legacy charset routinely contain the superset's characters.
_CHARSET_SUPERSETS = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "tis-620": "cp874",
    "iso-8859-9": "cp1254",
}
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_CT_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)


def _valid_charset(name: Optional[str]) -> Optional[str]:
    if not name:
        return None
    name = name.strip().lower()
    name = _CHARSET_SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def charset_from_content_type(content_type: Optional[str]) -> Optional[str]:
    if not content_type:
        return None
    m = _CT_CHARSET_RE.search(content_type)
    return _valid_charset(m.group(1)) if m else None


def charset_from_meta(body: bytes) -> Optional[str]:
    m = _META_CHARSET_RE.search(body[:4096])
    return _valid_charset(m.group(1).decode("ascii", "ignore")) if m else None


def decode_html(body: bytes, content_type: Optional[str] = None) -> tuple[str, str, int]:
    """Decode an HTML payload: BOM, then HTTP charset, then ``<meta>``, then UTF-8,
    then cp1252 as the last resort. Never raises: undecodable bytes become U+FFFD.

    Returns ``(text, charset used, number of replaced characters)``.
    """
    if body.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8"]
        body = body[3:]
    else:
        candidates = [c for c in (charset_from_content_type(content_type), charset_from_meta(body)) if c]
        candidates += ["utf-8"]
    for charset in dict.fromkeys(candidates):
        try:
            return body.decode(charset), charset, 0
        except (UnicodeDecodeError, LookupError):
            continue
    # The declared charsets all failed: keep the first one (what the page claims),
    # replacing the bytes that do not fit it.
    charset = candidates[0]
    text = body.decode(charset, errors="replace")
    return text, charset, text.count("\ufffd")


def _clean_uri(uri: Optional[str]) -> Optional[str]:
    # wget writes WARC 1.1 target URIs wrapped in <...>.
    if uri and uri.startswith("<") and uri.endswith(">"):
        return uri[1:-1]
    return uri


def _media_type(content_type: Optional[str]) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _holds_http_response(content_type: Optional[str]) -> bool:
    """``application/http`` with ``msgtype=response`` (or no msgtype): an HTTP response."""
    if _media_type(content_type) != "application/http":
        return False
    m = re.search(r"msgtype\s*=\s*\"?([A-Za-z]+)", content_type or "")
    return m is None or m.group(1).lower() == "response"


class _More(bytes):
    """Stands for "no new input": the decompressor still holds output (see _decompress)."""


class _HeaderLimitedReader(DecompressingBufferedReader):
    """warcio's reader with bounded memory.

    Header lines: a run of ``readline`` calls with no ``read`` between them (WARC
    headers, the blank lines after a record) ends in an error past MAX_HEADER_BLOCK
    bytes, and one line is read in pieces of at most MAX_HEADER_LINE, so a stream with
    no line ends (a gzip bomb of one byte value) is never gathered into one line.

    Inflation: warcio inflates each block of compressed input whole (16 KB of a gzip
    bomb is 16 MB); here at most INFLATE_STEP bytes at a time, the rest of the input
    kept for the next fill."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.line_run = 0
        self.member_cut = False  # the input ended inside a gzip member (its trailer missing)

    def close_decompressor(self):
        d = self.decompressor
        if d is not None and hasattr(d, "eof") and not d.eof and self.num_read:
            self.member_cut = True
        super().close_decompressor()

    def read(self, length=None):
        self.line_run = 0
        return super().read(length)

    def read_next_member(self):
        # A member that ends while its data is still unread holds more than one record
        # (a small whole-file gzip with bytes after it): warcio went on to the next
        # member and gave the records after the first negative offsets (-27254). No
        # next member here: warcio reports the file as non-chunked, read whole.
        if not self.empty():
            return False
        return super().read_next_member()

    def _decompress(self, data):
        d = self.decompressor
        if d is None or not data or not hasattr(d, "unconsumed_tail"):
            return super()._decompress(data)
        try:
            out = d.decompress(b"" if isinstance(data, _More) else data, INFLATE_STEP)
        except zlib.error:
            if self.num_block_read or data[:2] == GZIP_MAGIC or (self.num_read and not _padding(data)):
                # Corrupt data inside a member, a corrupt member, or bytes that are no
                # member where one must start: damage, which the reader resynchronises
                # past. warcio wrote a mid-member error to stderr and returned b"" (the
                # record looked merely truncated, the member's end lost without a word),
                # and read anything else as uncompressed bytes to the end of the file.
                raise
            return super()._decompress(data)  # an uncompressed WARC, or padding after the members
        if d.unconsumed_tail:
            self.starting_data = d.unconsumed_tail  # the next fill goes on with it
        elif len(out) == INFLATE_STEP and not d.eof:
            self.starting_data = _More(b"-")  # all input taken, but output may be pending
        return out

    def readline(self, length=None):
        line = super().readline(MAX_HEADER_LINE if length is None or length < 0 else length)
        self.line_run += len(line)
        if self.line_run > MAX_HEADER_BLOCK:
            raise ArchiveLoadFailed(
                f"more than {MAX_HEADER_BLOCK >> 20} MiB of header lines (no record header block ends there)"
            )
        return line


def _padding(line: bytes) -> bool:
    """A line of nothing but line ends, blanks or NULs (padding between records)."""
    return not line.strip(b" \t\r\n\x00")


class WarcIterator(ArchiveIterator):
    """warcio's iterator with bounded header lines that leaves HTTP headers to
    ``_read_record`` (``no_record_parse``): warcio parses them only for http(s) targets
    and raises on a record cut inside its header block.

    Between records (``_consume_blanklines``), warcio takes the first line after a
    record as a separator whatever it holds. That loses the next record when none
    separates them (ClueWeb09's Content-Length counts the separator, so its records
    follow each other directly: every record after the second of a whole-file gzip was
    lost; webarchive-commons' link-extraction-test.warc, declared 4 bytes long, the
    same), and it skips bytes silently when a Content-Length is short. Here a
    ``WARC/`` line starts the next record, and other lines up to the next one are
    skipped and counted in ``skipped`` (the reader reports them)."""

    def __init__(self, fileobj, **kwargs):
        super().__init__(fileobj, no_record_parse=True, check_digests=False, **kwargs)
        self.reader = self.reader_used = _HeaderLimitedReader(self.fh, block_size=self.reader.block_size)
        self.skipped = 0  # bytes between records that were no record header (taken by take_skipped)
        self.damage: Optional[_Damage] = None  # set by _read_stream when the stream broke off

    def position(self) -> int:
        """The offset of the next byte the reader has not taken (uncompressed input)."""
        return self.fh.tell() - self.reader_used.rem_length()

    def take_skipped(self) -> int:
        n, self.skipped = self.skipped, 0
        return n

    def _consume_blanklines(self):
        empty_size = 0
        while True:
            line = self.reader.readline()
            if not line:
                return None, empty_size
            if line[:5].upper() == b"WARC/":
                return line, empty_size  # the next record's version line
            if _padding(line):
                empty_size += len(line)
            else:
                self.skipped += len(line)
                self.reader.line_run = 0  # skipped line by line, never held: no header-block limit


@dataclasses.dataclass
class _Damage:
    """Where a WARC stream became unreadable: ``at`` (an offset in the stream read) is the
    start of the record that failed or, when ``after`` is set, of the record read last, the
    damage following it; ``what`` says what is wrong; ``error`` is what was raised."""

    at: int
    after: bool
    what: str
    error: Optional[BaseException] = None

    def described(self, base: int) -> tuple[int, str]:
        """Its offset in the file (the stream starts at byte ``base``) and the message that
        begins its error."""
        at = base + self.at
        where = f"after the record at offset {at}" if self.after else f"at offset {at}"
        return at, f"WARC data unreadable {where}: {self.what}"


class _HeadersTooLarge(Exception):
    pass


class _CappedLines:
    """``readline`` of a record's stream, at most ``cap`` bytes in all."""

    def __init__(self, stream, cap: int):
        self.stream, self.left = stream, cap

    def readline(self, length=None):
        if self.left <= 0:
            raise _HeadersTooLarge()
        line = self.stream.readline(self.left if length is None else min(length, self.left))
        self.left -= len(line)
        return line


_HTTP_PARSER = StatusAndHeadersParser(["HTTP/1.0", "HTTP/1.1"], verify=False)  # as warcio's ArchiveIterator


_HTTP_STATUS_LINE = re.compile(rb"HTTP/\d", re.I)


def _http_headers(record, uri: Optional[str]) -> tuple[Optional[StatusAndHeaders], bytes]:
    """The HTTP status line and headers at the start of a response record's block, and
    b"". When the block holds no HTTP message (or nothing at all): None, and the bytes
    read from it to find out (its first line, the start of the payload).

    A block is an HTTP message when the record says so (http(s) target, or
    ``application/http``) and it starts with an ``HTTP/`` status line: tools write
    response records whose block is the bare page (a Wayback scraper's WARCs, with the
    HTTP headers among the WARC headers), or CDX text; parsed as HTTP headers, their
    lines became the headers (``not_html`` for 128 HTML pages; ``too_large`` past 256 KB
    of lines). Raises _HeadersTooLarge past MAX_HTTP_HEADER_BYTES."""
    if record.http_headers is not None or record.length == 0:
        return record.http_headers, b""
    if not (
        (uri or "").startswith(("http:", "https:"))
        or _holds_http_response(record.rec_headers.get_header("Content-Type"))
    ):
        return None, b""
    lines = _CappedLines(record.raw_stream, MAX_HTTP_HEADER_BYTES)
    first = lines.readline()
    if not _HTTP_STATUS_LINE.match(first):
        return None, first  # empty: the record is cut short (reported as truncated)
    record.http_headers = _HTTP_PARSER.parse(lines, full_statusline=first)
    return record.http_headers, b""


def record_type(record) -> str:
    """The record's WARC-Type as the spec writes it: jwat's valid test files have
    ``RESPONSE`` and types with blanks before them, which were dropped as
    ``record_RESPONSE`` (an HTML page among them would be lost)."""
    return (record.rec_type or "").strip().lower() or "unknown"


def drain(stream) -> None:
    """Read a stream to its end in blocks (nothing decoded, nothing kept)."""
    while stream.read(_DRAIN):
        pass


@register_reader("warc", WarcReadConfig, default_source="web")
def read_warc(path: str, fileobj: IO[bytes], source: str, config: WarcConfig) -> Iterator[Union[Item, ReadStat]]:
    """Read one WARC (or WARC.gz) stream. See the module docstring for what it yields."""
    return read_records(path, fileobj, source, _warc_record_reader(path, source, config))


def read_records(
    path: str, fileobj: IO[bytes], source: str, read_record: RecordReader
) -> Iterator[Union[Item, ReadStat]]:
    """The items of every record of a WARC (or WARC.gz) stream, each made by
    ``read_record``, with the errors and counts of the damage between them: the record loop
    of every reader of WARC files (WARC, WET), so that all resynchronise alike."""
    for _, item in _read_members(path, fileobj, source, read_record, base=0):
        yield item


def _warc_record_reader(path: str, source: str, config: WarcConfig) -> RecordReader:
    name = os.path.basename(path)
    return lambda record, offset: _read_record(record, path, name, offset, source, config)


def _read_members(
    path: str, fileobj: IO[bytes], source: str, read_record: RecordReader, base: int, file_size: Optional[int] = None
) -> Iterator[tuple[Optional[int], Union[Item, ReadStat]]]:
    """``(position, item)`` for every record of ``fileobj``, which starts at byte ``base`` of
    the file (offsets in provenance and errors are the file's). ``position`` is the record's
    offset, the start of an unreadable tail, or None for an error (or a ReadStat) that
    follows the record before it.

    Damage (a corrupt or foreign gzip member, garbage where a record must start, a record
    header block with no valid Content-Length) is one error naming the bytes skipped, and
    reading resumes at the next record start after it (:func:`next_record_start`), as the
    ARC reader does: before, every record after the damage was lost (one bad member of a
    40,000-record Common Crawl file lost the rest of it). A file gzipped as one stream
    cannot be resumed past its damage: there the error says so. ``file_size``: where the
    file ends, when ``fileobj`` is a range of it (a record starts where the range ends).

    Undamaged files pay nothing (the finders run only after damage): ``nice -n 10 python
    bench/bench_warc_split.py``, 13.6 MB, 5,000 records, best of 7 runs interleaved with
    the reader before: whole file 0.60 s (before 0.70 s), ranges 0.66 s (before 0.66 s)."""
    seekable = fileobj.seekable()
    size = fileobj.seek(0, 2) if seekable else 0
    gzipped = False
    if seekable:
        fileobj.seek(0)
        gzipped = fileobj.read(len(GZIP_MAGIC)) == GZIP_MAGIC
        fileobj.seek(0)
    start = 0  # where the part being read begins (after damage: the record reading resumed at)
    while True:
        part = fileobj if start == 0 else cast(IO[bytes], _Window(fileobj, start, size))
        done = yield from _read_part(path, part, source, read_record, base + start)
        if done is None:
            return  # read as one gunzipped stream, its damage reported
        it, last_failed = done
        if it.damage is None:
            yield from _tail(path, part, source, it, last_failed, base + start)
            return
        d = it.damage
        at, message = d.described(base + start)
        if not seekable:
            yield None, read_error(path, f"offset:{at}", source, message)
            return
        # after a record read whole, uncompressed: from where the reader stopped (a
        # record start in the record's own block is no resync point)
        scan = start + d.at + 1 if gzipped or not d.after else max(start + d.at + 1, start + it.position())
        resume = next_record_start(fileobj, scan, size, gzipped)
        end = base + resume  # where the bytes skipped end
        if resume >= size and (file_size is None or end >= file_size):
            then = "no record starts after it"
        else:
            then = "reading resumed at the next record there"
        skipped = f"the bytes after it up to offset {end}" if d.after else f"{end - at} bytes at offsets {at}-{end}"
        yield None, read_error(path, f"offset:{at}", source, f"{message}; {skipped} skipped, {then}")
        if resume >= size:
            return
        start = resume


def _read_part(
    path: str, fileobj: IO[bytes], source: str, read_record: RecordReader, base: int
) -> Generator[tuple[Optional[int], Union[Item, ReadStat]], None, Optional[tuple[WarcIterator, bool]]]:
    """The items of ``fileobj`` up to its end or its first damage; returns the iterator
    (its ``damage``, its end) and whether the last record was an error, or None when the
    part was read again as one gunzipped stream (to its end: no resync there)."""
    emitted = 0
    last_failed = False
    it = WarcIterator(fileobj)
    for item in _read_stream(it, path, source, read_record, base=base):
        if _runs_on_in_next_member(item, it, fileobj) and fileobj.seekable():
            yield from _read_gunzipped(path, fileobj, source, read_record, base, emitted)
            return None
        emitted += 1
        # it.offset is still this record's start; an error for bytes skipped between
        # records follows the record before it.
        if isinstance(item, ReadStat) or (isinstance(item, ErrorRecord) and item.doc_id is None):
            yield None, item
        else:
            last_failed = isinstance(item, ErrorRecord)
            yield base + it.offset, item
    if it.damage is not None and _needs_whole_file_gunzip(it.damage.error) and fileobj.seekable():
        yield from _read_gunzipped(path, fileobj, source, read_record, base, emitted)
        return None
    return it, last_failed


def _read_gunzipped(
    path: str, fileobj: IO[bytes], source: str, read_record: RecordReader, base: int, emitted: int
) -> Iterator[tuple[Optional[int], Union[Item, ReadStat]]]:
    """Gzipped as one member instead of one per record (warcio refuses to go on), or in
    members cut elsewhere than between records: read again through a gunzipping stream,
    skipping the ``emitted`` items yielded already. GzipMembers, not gzip.GzipFile: a
    cut-short stream must end in an error record, which GzipFile (an EOFError that warcio
    takes for the end) loses. Offsets are the gunzipped stream's, so damage cannot be
    resynchronised past (a record start is not found in the compressed bytes)."""
    fileobj.seek(0)
    it = WarcIterator(decompressed(fileobj, path, buffered=False))
    for i, again in enumerate(_read_stream(it, path, source, read_record, base=base)):
        if i >= emitted:
            yield None, again
    if it.damage is not None:
        at, message = it.damage.described(base)
        yield (
            None,
            read_error(
                path,
                f"offset:{at}",
                source,
                f"{message}; reading cannot resume after it: the file's gzip members do not each start "
                "a record (one member for the whole file, or members cut inside records)",
            ),
        )


def _tail(
    path: str, fileobj: IO[bytes], source: str, it: WarcIterator, last_failed: bool, base: int
) -> Iterator[tuple[Optional[int], Union[Item, ReadStat]]]:
    """After a part read to its end: an error for bytes warcio did not read, or for a last
    gzip member that lacks its end; nothing when there are none."""
    tail = _unread_tail(fileobj, it.offset)
    end = base + it.offset
    if tail:
        # warcio ends quietly when the last gzip member is cut short: the records in
        # it would vanish without a trace.
        damage = f"{tail} bytes after offset {end} could not be read as WARC records (truncated or corrupt gzip member)"
    elif not last_failed and it.reader_used.member_cut:
        # cut inside the last member's trailer: its records are whole, the file is not
        damage = f"the data ends at offset {end} inside a gzip member (its end is missing): the file is truncated"
    else:
        return
    yield end, read_error(path, f"offset:{end}", source, damage)


# --- Reading one per-record-gzipped WARC in byte ranges -------------------------------
# A range [start, stop) of compressed bytes owns the gzip members that start in it: it
# reads from its first member start up to the first member start at or after ``stop``
# (where the next range begins), so the ranges tile the file and every record, skipped
# record and error is read by exactly one range, whatever the split points.

_GZIP_MAGIC = b"\x1f\x8b\x08"
_SCAN_BLOCK = 1 << 20


def _is_member_start(fileobj: IO[bytes], pos: int, size: int) -> bool:
    """Does a gzip member holding a WARC record start at ``pos``? The magic bytes also occur
    inside compressed data: a real member decompresses to ``WARC/``. A member cut short
    by the end of the file counts when what it yields is a prefix of ``WARC/`` (the
    reader then reports it as the unreadable tail)."""
    fileobj.seek(pos)
    z = zlib.decompressobj(wbits=31)
    out = b""
    while len(out) < 5:
        chunk = fileobj.read(4096)
        if not chunk:
            return b"WARC/".startswith(out)
        try:
            out += z.decompress(chunk, 5 - len(out))
        except zlib.error:
            return False
        if z.eof or z.unconsumed_tail:
            break
    return out[:5] == b"WARC/"


def next_member_start(fileobj: IO[bytes], pos: int, size: int) -> int:
    """The first member start at or after ``pos``, or ``size`` when there is none."""
    while pos < size:
        fileobj.seek(pos)
        block = fileobj.read(_SCAN_BLOCK + len(_GZIP_MAGIC) - 1)
        i = block.find(_GZIP_MAGIC)
        while i != -1:
            if _is_member_start(fileobj, pos + i, size):
                return pos + i
            i = block.find(_GZIP_MAGIC, i + 1)
        pos += _SCAN_BLOCK
    return size


# a version line at a line start, then a header line
_RECORD_LINE = re.compile(rb"\n((?i:WARC)/\d+\.\d+[ \t]*\r?\n[A-Za-z0-9!#$%&'*+.^_`|~-]+[ \t]*:)")
_RECORD_LINE_MAX = 256  # bytes of a version line and the first header name, at most


def next_record_line(fileobj: IO[bytes], pos: int, size: int) -> int:
    """The first record start of an uncompressed WARC at or after ``pos`` (> 0): a line
    that is a version line (``WARC/1.0``), then a header line; ``size`` when there is
    none. Read in blocks: a long damaged stretch is not held in memory."""
    at = pos - 1  # from the line end before it
    while at < size:
        fileobj.seek(at)
        m = _RECORD_LINE.search(fileobj.read(_SCAN_BLOCK + _RECORD_LINE_MAX))
        if m:
            return at + m.start(1)
        at += _SCAN_BLOCK
    return size


def next_record_start(fileobj: IO[bytes], pos: int, size: int, gzipped: bool) -> int:
    """Where reading resumes after damage: the first record start at or after ``pos`` (a
    gzip member that starts a record, as the ranges are cut, or a record's version line),
    or ``size``."""
    return next_member_start(fileobj, pos, size) if gzipped else next_record_line(fileobj, pos, size)


def splits_by_member(fileobj: IO[bytes], size: int, probe_bytes: int) -> bool:
    """Is this a WARC gzipped per record, so that it can be read in ranges? False for an
    uncompressed WARC and for one gzip member over the whole file (or a first member
    longer than ``probe_bytes``): those are read whole."""
    if size == 0 or not _is_member_start(fileobj, 0, size):
        return False
    fileobj.seek(0)
    z = zlib.decompressobj(wbits=31)
    read = 0
    while not z.eof and read < probe_bytes:
        chunk = fileobj.read(min(1 << 16, probe_bytes - read))
        if not chunk:
            return False
        read += len(chunk)
        try:
            while chunk and not z.eof:
                z.decompress(chunk, 1 << 16)
                chunk = z.unconsumed_tail
        except zlib.error:
            return False
    if not z.eof:
        return False
    end = read - len(z.unused_data)
    return end < size and _is_member_start(fileobj, end, size)


class _Window:
    """Bytes [start, stop) of a seekable file as a seekable file of its own."""

    def __init__(self, fileobj: IO[bytes], start: int, stop: int):
        self.f, self.start, self.stop, self.pos = fileobj, start, stop, 0

    def read(self, n: int = -1) -> bytes:
        left = self.stop - self.start - self.pos
        n = left if n is None or n < 0 else min(n, left)
        if n <= 0:
            return b""
        self.f.seek(self.start + self.pos)
        data = self.f.read(n)
        self.pos += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.stop - self.start}[whence]
        self.pos = max(0, base + pos)
        return self.pos


def read_warc_range(
    path: str, fileobj: IO[bytes], source: str, config: WarcConfig, start: int, stop: int, size: int
) -> Iterator[tuple[Optional[int], Union[Item, ReadStat]]]:
    """``(position, item)`` for the gzip members of a per-record-gzipped WARC (see
    :func:`splits_by_member`) that start in bytes [start, stop) of the file, in file order;
    the items are exactly those :func:`read_warc` yields for these records. ``position``:
    see ``_read_members`` (a Beam reader claims it before emitting the item)."""
    first = next_member_start(fileobj, start, size)
    if first >= stop:
        return
    end = next_member_start(fileobj, stop, size) if stop < size else size
    window = cast(IO[bytes], _Window(fileobj, first, end))  # a file-like window on the file
    yield from _read_members(
        path, window, source, _warc_record_reader(path, source, config), base=first, file_size=size
    )


def _unread_tail(fileobj: IO[bytes], end: int) -> int:
    """How many bytes of a seekable file lie after ``end``, if any of them is more than
    padding (NULs, line ends, or gzip members of them). Read in blocks: the tail of a
    damaged 1 GB file is not loaded into memory."""
    try:
        if not fileobj.seekable():
            return 0
        size = fileobj.seek(0, 2)
        if end >= size:
            return 0  # no read of a block at the end: it cost 27 us a file (a 1 MB buffer)
        fileobj.seek(end)
        while True:
            block = fileobj.read(_SCAN_BLOCK)
            if not block:
                return 0
            if block.strip(b"\r\n\x00"):
                return 0 if _gzipped_padding(fileobj, end) else size - end
    except (OSError, ValueError):
        return 0


def _gzipped_padding(fileobj: IO[bytes], start: int) -> bool:
    """Do the bytes from ``start`` on hold whole gzip members of nothing but padding? An
    empty WARC.gz (gowarc's ``empty.warc.gz``: one member of no bytes, which warcio
    passes over) is no damage. Input is fed 4 KB at a time: a bomb inflates at most
    ~4 MB at once."""
    fileobj.seek(start)
    z = None  # the decompressor of the member being read
    while True:
        data = fileobj.read(4096)
        if not data:
            return z is None  # else the data ends inside a member
        while data:
            if z is None:
                data = data.lstrip(b"\r\n\x00")
                if not data:
                    break
                z = zlib.decompressobj(wbits=31)
            try:
                out = z.decompress(data)
            except zlib.error:
                return False
            if out.strip(b"\r\n\x00"):
                return False
            data = z.unused_data if z.eof else b""
            if z.eof:
                z = None


def _runs_on_in_next_member(item, it: WarcIterator, fileobj: IO[bytes]) -> bool:
    """Is ``item`` a record cut short by the end of its gzip member, whose data goes on in
    the next member? (The next member holds no ``WARC/`` header: a writer cut the gzip
    members elsewhere than between records, as in warcio's example-wrong-chunks.warc.gz,
    where the response, its headers in one member and its page in the next, was two
    errors.) A record truly cut short is followed by a member with a record header."""
    if not (isinstance(item, ErrorRecord) and item.doc_id is not None and item.message.startswith("truncated")):
        return False
    d = it.reader_used.decompressor
    if d is None or not getattr(d, "eof", False) or not fileobj.seekable():
        return False
    pos = fileobj.tell()
    try:
        start = pos - len(d.unused_data)  # the next member's first byte
        fileobj.seek(start)
        data = fileobj.read(4096)
        if not data:
            return False  # the last member: the record is cut short
        z = zlib.decompressobj(wbits=31)
        try:
            head = z.decompress(data, 64).lstrip(b"\r\n")
        except zlib.error:
            return False  # no gzip member follows: the record is cut short
        if not head:  # an empty member: the record is cut short; a member cut in its header: read on
            return not z.eof
        return head[:5] != b"WARC/"[: len(head)]
    finally:
        fileobj.seek(pos)


def _needs_whole_file_gunzip(error: Optional[BaseException]) -> bool:
    return isinstance(error, ArchiveLoadFailed) and "non-chunked gzip" in str(error)


def _read_stream(
    it: WarcIterator, path: str, source: str, read_record: RecordReader, base: int = 0
) -> Iterator[Union[Item, ReadStat]]:
    """The items of the records of ``it`` up to its end or its first damage, which sets
    ``it.damage`` (the caller reports it, once it knows where reading resumes)."""
    before: Optional[int] = None  # the offset of the record before
    try:
        for record in it:
            offset = base + it.offset  # start of this record (get_record_offset() would consume it)
            if not valid_length(record.rec_headers.get_header("Content-Length")):
                # A cut inside the header block leaves it without its (mandatory) length;
                # so does damage. Without it the record's end is unknown: damage.
                what = "a record header block with no valid Content-Length (a truncated or malformed record: its end is unknown)"
                skipped = it.take_skipped()
                if skipped and before is not None:
                    # a WARC/ line among bytes that are no record (damage): one stretch
                    what = f"{skipped} bytes that are no record header, then {what}"
                    it.damage = _Damage(before - base, True, what)
                else:
                    it.damage = _Damage(it.offset, False, what)
                return
            yield from skipped_bytes(it, path, source, before, f"reading resumed at the next record (offset {offset})")
            yield read_record(record, offset)
            before = offset
        yield from skipped_bytes(it, path, source, before, "the data ends there")
    except Exception as e:  # the stream broke off: what came before stands
        at = base + it.offset  # where the record that failed begins (or the last one read)
        skipped = it.take_skipped()
        also = f" ({skipped} bytes before the damage were no record header)" if skipped else ""
        # after the last record read: it stands (its item is out), the damage is after it
        it.damage = _Damage(it.offset, at == before, f"{data_error_text(e)}{also}", e)


def skipped_bytes(
    it: WarcIterator, path: str, source: str, before: Optional[int], then: str
) -> Iterator[Union[ErrorRecord, ReadStat]]:
    """One error for the bytes ``it`` skipped between records (a wrong Content-Length),
    and their count (``read:warc_bytes_skipped``); nothing when there were none."""
    n = it.take_skipped()
    if not n:
        return
    at = before or 0  # bytes are skipped only after a record
    yield read_error(
        path,
        f"offset:{at}",
        source,
        f"{n} bytes after the record at offset {at} skipped: they are no WARC record header "
        f"(a Content-Length is wrong); {then}",
    )
    yield ReadStat("warc_bytes_skipped", n)


def valid_length(value: Optional[str]) -> bool:
    return value is not None and value.strip().isdigit()


def truncated_error(record, path: str, record_id: str, offset: int, source: str, doc_id: str) -> Optional[ErrorRecord]:
    """After a record's block is read: an error for the bytes it declared but the file
    lacks (the record is cut short), or None. The record loop recognises it (a record cut
    by the end of its gzip member may go on in the next: ``_runs_on_in_next_member``)."""
    remaining = getattr(record.raw_stream, "limit", 0)
    if not remaining:
        return None
    return ErrorRecord(
        input_file=path,
        locator=record_id,
        stage="read",
        message=f"truncated record at offset {offset}: {remaining} bytes of its declared length are missing",
        source=source,
        doc_id=doc_id,
    )


def _read_record(record, path: str, name: str, offset: int, source: str, config: WarcConfig) -> Item:
    headers = record.rec_headers
    record_id = headers.get_header("WARC-Record-ID") or f"offset:{offset}"
    url = _clean_uri(headers.get_header("WARC-Target-URI"))
    provenance = {
        "input_file": path,
        "record_id": record_id,
        "offset": offset,
        "url": url,
        "fetch_date": headers.get_header("WARC-Date"),
    }
    doc_id = document_id(source, path, record_id)

    def truncated() -> Optional[ErrorRecord]:
        return truncated_error(record, path, record_id, offset, source, doc_id)

    def skip(reason: str, **details) -> Union[Rejected, ErrorRecord]:
        # Skipped records carry no text: only their identity, for the rejected/ output.
        # A truncated record is an error whatever it holds: a cut inside the HTTP
        # headers can make a page look like another content type. The rest of the
        # record is drained undecoded (a gzip-encoded body is never inflated).
        drain(record.raw_stream)
        return truncated() or Rejected(Document(doc_id, "", source, provenance), "read", reason, details)

    rec_type = record_type(record)
    if rec_type != "response":
        return skip(f"record_{rec_type}")
    try:
        http, head = _http_headers(record, url)
    except _HeadersTooLarge:
        return skip("too_large", http_header_bytes_over=MAX_HTTP_HEADER_BYTES)
    if http is None:
        # No HTTP message: the block is the payload, typed by the record's Content-Type
        # (a bare HTML page is a document; it has no HTTP status to check).
        content_type = headers.get_header("Content-Type")
        if _media_type(content_type) not in config.content_types:
            return skip("no_http_headers")
        provenance["content_type"] = content_type
        rest = config.max_body_bytes + 1 - len(head)
        body = head + (record.raw_stream.read(rest) if rest > 0 else b"")
    else:
        content_type = http.get_header("Content-Type")
        provenance["content_type"] = content_type
        if _media_type(content_type) not in config.content_types:
            return skip("not_html", content_type=content_type)
        try:
            status = int(http.get_statuscode() or 0)
        except ValueError:
            status = 0
        provenance["http_status"] = status
        if status not in config.accept_status:
            return skip("http_status", status=status)
        body = record.content_stream().read(config.max_body_bytes + 1)
    if len(body) > config.max_body_bytes:
        return skip("too_large", max_body_bytes=config.max_body_bytes)
    err = truncated()
    if err is not None:
        return err
    html, charset, replaced = decode_html(body, content_type)
    provenance["charset"] = charset
    if replaced:
        provenance["decode_errors"] = replaced
    return Document(doc_id, "", source, provenance, html=html)
