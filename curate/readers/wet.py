"""WET files (Common Crawl's extracted plain text): one document per ``conversion`` record.

The text is already extracted, so documents carry ``text`` (not ``html``) and skip the
extraction stage's work. The record's URL, WARC record id and date go into the
provenance; Common Crawl's ``WARC-Identified-Content-Language`` header (its CLD2
guess, ISO 639-3 codes, comma-separated) goes into ``metadata["wet_languages"]``.

Records are read by the WARC reader's record loop (``read_records``): bounded header
lines, clean error messages, and the same resynchronisation after damage. A corrupt or
foreign gzip member, garbage where a record must start, or a record without a valid
Content-Length is one ErrorRecord naming the bytes skipped and what was wrong, and reading
resumes at the next record start (the next gzip member that holds one, or a ``WARC/x.y``
line followed by a header line); the records after it keep the offsets and ids they have in
an undamaged copy. A WET file gzipped as one stream cannot be resumed past its damage: its
error says so. Offsets are the record's start in the file (a gzip member's start, as in
Common Crawl's CDX index; before, the offset in the gunzipped stream). Bytes between
records that are no record header give one ErrorRecord and a ReadStat
(``warc_bytes_skipped``). A body over ``max_body_bytes`` is dropped as ``too_large``
without being read into memory.

Undamaged files read no slower than with the WET reader's own loop before (which gunzipped
the file first): ``nice -n 10 python bench/bench_wet_read.py 1000 5`` alternately on this
code and on 05ed7f9 (``PYTHONPATH``), 7 pairs, best: the real whirlwind WET 0.110 ms a read
(before 0.123); a 5.0 MB WET of its conversion record 2,000 times (per-record gzip,
``... 1 1 PATH``, 5 pairs) 110 ms (before 112).
"""

from __future__ import annotations

import dataclasses
from typing import Iterator, Optional

from curate.document import Document, document_id
from curate.params import param
from curate.readers.common import read_reject
from curate.readers.warc import charset_from_content_type, drain, read_records, record_type, truncated_error
from curate.registry import register_reader


@dataclasses.dataclass
class WetConfig:
    # Keep only records whose WET language header names one of these ISO 639-3 codes
    # (e.g. ["eng"]); null keeps every record. Records without the header are dropped
    # when a list is given.
    languages: Optional[list[str]] = None
    max_body_bytes: int = param(5_000_000, min=1)  # a longer text is dropped (``too_large``) unread


def _decode(content: bytes, content_type: Optional[str]) -> str:
    # Common Crawl writes WET text as UTF-8; a charset parameter, if any, wins.
    return content.decode(charset_from_content_type(content_type) or "utf-8", "replace")


@register_reader("wet", WetConfig, "web")
def read_wet(path: str, fileobj, source: str, config: WetConfig) -> Iterator:
    return read_records(
        path, fileobj, source, lambda record, offset: _read_record(record, path, offset, source, config)
    )


def _read_record(record, path: str, offset: int, source: str, config: WetConfig):
    """The item of one WET record: a text document, a drop, or an error for a cut record."""
    body: bytes = record.raw_stream.read(config.max_body_bytes + 1)
    content: Optional[bytes] = body
    if len(body) > config.max_body_bytes:
        content = None
        drain(record.raw_stream)
    h = record.rec_headers
    record_id = h.get_header("WARC-Record-ID") or f"offset:{offset}"
    doc_id = document_id(source, path, record_id)
    error = truncated_error(record, path, record_id, offset, source, doc_id)
    if error is not None:
        return error
    languages = [c.strip() for c in (h.get_header("WARC-Identified-Content-Language") or "").split(",") if c.strip()]
    doc = Document(
        id=doc_id,
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
        return read_reject(doc, "too_large", max_body_bytes=config.max_body_bytes)
    rec_type = record_type(record)
    if rec_type == "warcinfo":
        return read_reject(doc, "warcinfo")
    if rec_type != "conversion":
        return read_reject(doc, "not_conversion", record_type=rec_type)
    if not doc.text:
        return read_reject(doc, "empty_text")
    if config.languages is not None and not set(languages) & set(config.languages):
        return read_reject(doc, "language_not_selected", languages=languages)
    return doc
