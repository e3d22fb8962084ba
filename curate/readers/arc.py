"""ARC files (the Internet Archive's format before WARC; Common Crawl 2008-2012): read
exactly as WARC responses are (``curate.readers.warc``): HTML responses with an
accepted status become documents with ``html`` set for the extraction stage; every
other record is skipped with the WARC reader's reasons (the file's version block is
``record_warcinfo``, ``dns:`` records are ``no_http_headers``).

warcio reads ARC version 1 (five-field record headers: URL, IP, date, content type,
length) with ``arc2warc=True``, presenting each record as a WARC record. ARC records
have no record id and warcio invents a random one, so it is replaced by a stable one
built from the URL, the archive date and the offset before the WARC logic sees it.
Gzip is decompressed before warcio (per-record members or the whole file); offsets
are positions in the uncompressed stream.
"""

from __future__ import annotations

from typing import IO, Iterator

from warcio.archiveiterator import ArchiveIterator

from curate.readers.common import decompressed
from curate.readers.warc import Item, WarcConfig, _read_stream
from curate.registry import register_reader


class _StableRecordIds:
    """warcio's ARC iterator with each record's random WARC-Record-ID replaced."""

    def __init__(self, it: ArchiveIterator):
        self.it = it

    @property
    def offset(self) -> int:
        return self.it.offset

    def __iter__(self):
        for record in self.it:
            h = record.rec_headers
            uri = h.get_header("WARC-Target-URI") or h.get_header("WARC-Filename") or ""
            h.replace_header("WARC-Record-ID", f"<arc:{uri} {h.get_header('WARC-Date') or ''} @{self.it.offset}>")
            yield record


@register_reader("arc", WarcConfig, default_source="web")
def read_arc(path: str, fileobj: IO[bytes], source: str, config: WarcConfig) -> Iterator[Item]:
    it = ArchiveIterator(decompressed(fileobj, path, buffered=False), arc2warc=True, check_digests=False)
    yield from _read_stream(_StableRecordIds(it), path, source, config)
