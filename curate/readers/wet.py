"""WET files (Common Crawl's extracted plain text): one document per ``conversion`` record.

The text is already extracted, so documents carry ``text`` (not ``html``) and skip the
extraction stage's work. The record's URL, WARC record id and date go into the
provenance; Common Crawl's ``WARC-Identified-Content-Language`` header (its CLD2
guess, ISO 639-3 codes, comma-separated) goes into ``metadata["wet_languages"]``.

Records are read with the WARC reader's iterator (bounded header lines, clean error
messages); a body over ``max_body_bytes`` is dropped as ``too_large`` without being
read into memory.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator, Optional

from curate.document import Document, document_id
from curate.params import param
from curate.readers.common import decompressed, read_error, read_reject
from curate.readers.warc import (
    WarcIterator,
    charset_from_content_type,
    data_error_text,
    drain,
    record_type,
    skipped_bytes,
    valid_length,
)
from curate.registry import register_reader


@dataclasses.dataclass
class WetConfig:
    # Keep only records whose WET language header names one of these ISO 639-3 codes
    # (e.g. ["eng"]); null keeps every record. Records without the header are dropped
    # when a list is given.
    languages: Optional[list[str]] = None
    max_body_bytes: int = param(5_000_000, min=1)  # a longer text is dropped (``too_large``) unread


def archive_records(fileobj, path: str, source: str, max_body_bytes: int):
    """(offset, record, content bytes, or None when over ``max_body_bytes``) for each
    WARC record, read with the WARC reader's iterator.

    The stream is decompressed first (``decompressed``), so both per-record gzip
    members and a file gzipped whole are read; offsets are in the uncompressed
    stream. A read failure (truncated or corrupt input) yields one ErrorRecord at
    its offset and ends the file: warcio cannot resynchronise after it. Bytes between
    records that are no record header give one ErrorRecord and a ReadStat
    (``skipped_bytes``), and reading goes on at the next record.
    """
    it = WarcIterator(decompressed(fileobj, path, buffered=False))
    before = None  # the offset of the record before
    try:
        for record in it:
            offset = it.offset  # this record's start (get_record_offset() would consume it)
            yield from skipped_bytes(it, path, source, before, f"reading resumed at the next record (offset {offset})")
            before = offset
            content = record.raw_stream.read(max_body_bytes + 1)
            if len(content) > max_body_bytes:
                content = None
                drain(record.raw_stream)
            missing = getattr(record.raw_stream, "limit", 0)
            if missing or not valid_length(
                record.rec_headers.get_header("Content-Length")
            ):  # a cut record, as if whole
                yield read_error(
                    path,
                    f"offset:{offset}",
                    source,
                    f"truncated record at offset {offset}: {missing} bytes of its declared length are missing",
                )
                return
            yield offset, record, content
        yield from skipped_bytes(it, path, source, before, "the data ends there")
    except Exception as e:  # warcio raises many types on bad input (ArchiveLoadFailed, EOFError, zlib.error...)
        yield read_error(
            path, f"offset:{it.offset}", source, f"WET data unreadable at offset {it.offset}: {data_error_text(e)}"
        )


def _decode(content: bytes, content_type: Optional[str]) -> str:
    # Common Crawl writes WET text as UTF-8; a charset parameter, if any, wins.
    return content.decode(charset_from_content_type(content_type) or "utf-8", "replace")


@register_reader("wet", WetConfig, "web")
def read_wet(path: str, fileobj, source: str, config: WetConfig) -> Iterator:
    for item in archive_records(fileobj, path, source, config.max_body_bytes):
        if not isinstance(item, tuple):
            yield item
            continue
        offset, record, content = item
        h = record.rec_headers
        record_id = h.get_header("WARC-Record-ID") or f"offset:{offset}"
        languages = [
            c.strip() for c in (h.get_header("WARC-Identified-Content-Language") or "").split(",") if c.strip()
        ]
        doc = Document(
            id=document_id(source, path, record_id),
            text="" if content is None else _decode(content, h.get_header("Content-Type")).strip(),
            source=source,
            provenance={
                "input_file": path,
                "record_id": record_id,
                "offset": offset,
                "url": h.get_header("WARC-Target-URI"),
                "fetch_date": h.get_header("WARC-Date"),
                "refers_to": h.get_header("WARC-Refers-To"),
            },
        )
        if languages:
            doc.metadata["wet_languages"] = languages
        if content is None:
            yield read_reject(doc, "too_large", max_body_bytes=config.max_body_bytes)
        elif record_type(record) == "warcinfo":
            yield read_reject(doc, "warcinfo")
        elif record_type(record) != "conversion":
            yield read_reject(doc, "not_conversion", record_type=record_type(record))
        elif not doc.text:
            yield read_reject(doc, "empty_text")
        elif config.languages is not None and not set(languages) & set(config.languages):
            yield read_reject(doc, "language_not_selected", languages=languages)
        else:
            yield doc
