"""WET files (Common Crawl's extracted plain text): one document per ``conversion`` record.

The text is already extracted, so documents carry ``text`` (not ``html``) and skip the
extraction stage's work. The record's URL, WARC record id and date go into the
provenance; Common Crawl's ``WARC-Identified-Content-Language`` header (its CLD2
guess, ISO 639-3 codes, comma-separated) goes into ``metadata["wet_languages"]``.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator, Optional

from curate.document import Document, make_id
from curate.readers.common import archive_records, read_reject
from curate.readers.warc import charset_from_content_type
from curate.registry import register_reader


@dataclasses.dataclass
class WetConfig:
    # Keep only records whose WET language header names one of these ISO 639-3 codes
    # (e.g. ["eng"]); null keeps every record. Records without the header are dropped
    # when a list is given.
    languages: Optional[list[str]] = None


def _decode(content: bytes, content_type: Optional[str]) -> str:
    # Common Crawl writes WET text as UTF-8; a charset parameter, if any, wins.
    return content.decode(charset_from_content_type(content_type) or "utf-8", "replace")


@register_reader("wet", WetConfig, "web")
def read_wet(path: str, fileobj, source: str, config: WetConfig) -> Iterator:
    for item in archive_records(fileobj, path, source):
        if not isinstance(item, tuple):
            yield item
            continue
        offset, record, content = item
        h = record.rec_headers
        record_id = h.get_header("WARC-Record-ID") or f"offset:{offset}"
        languages = [c.strip() for c in (h.get_header("WARC-Identified-Content-Language") or "").split(",") if c.strip()]
        doc = Document(
            id=make_id(source, record_id),
            text=_decode(content, h.get_header("Content-Type")).strip(),
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
        if record.rec_type == "warcinfo":
            yield read_reject(doc, "warcinfo")
        elif record.rec_type != "conversion":
            yield read_reject(doc, "not_conversion", record_type=record.rec_type)
        elif not doc.text:
            yield read_reject(doc, "empty_text")
        elif config.languages is not None and not set(languages) & set(config.languages):
            yield read_reject(doc, "language_not_selected", languages=languages)
        else:
            yield doc
