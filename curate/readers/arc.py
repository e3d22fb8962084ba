"""ARC files (the Internet Archive's format before WARC; Common Crawl 2008-2012): HTML
responses become documents with ``html`` set, for the extraction stage to turn into
text, as WARC responses do.

warcio reads ARC version 1 (five-field record headers: URL, IP, date, content type,
length) with ``arc2warc=True``, which presents each record as a WARC ``response``.
ARC records have no record id (warcio invents a random one: never used here), so a
document's id comes from its URL, archive date and offset in the file.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterator, Optional

from curate.config import ConfigError
from curate.document import Document, make_id
from curate.readers.common import archive_records, header_charset, known_codec, read_reject
from curate.registry import register_reader

HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)


@dataclasses.dataclass
class ArcConfig:
    max_html_bytes: int = 10_000_000  # larger bodies are dropped (too_large), not parsed

    def validate(self, key: str) -> None:
        if self.max_html_bytes < 1:
            raise ConfigError(f"{key}.max_html_bytes: must be >= 1, got {self.max_html_bytes}")


def decode_html(body: bytes, content_type: Optional[str]) -> str:
    """HTTP charset, else a ``<meta charset>`` in the first 4 KB, else UTF-8 if it
    decodes, else windows-1252 (what browsers assume for unlabelled Western pages)."""
    charset = header_charset(content_type)
    if charset is None:
        m = _META_CHARSET.search(body[:4096])
        charset = known_codec(m.group(1)) if m else None
    if charset is not None:
        return body.decode(charset, "replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", "replace")


def is_html(content_type: Optional[str], body: bytes) -> bool:
    """By the HTTP content type; when it is missing, by the body's first tag."""
    if content_type:
        return content_type.split(";")[0].strip().lower() in HTML_TYPES
    return bool(_HTML_START.match(body[:1024]))


@register_reader("arc", ArcConfig, "web")
def read_arc(path: str, fileobj, source: str, config: ArcConfig) -> Iterator:
    for item in archive_records(fileobj, path, source, arc2warc=True):
        if not isinstance(item, tuple):
            yield item
            continue
        offset, record, body = item
        h = record.rec_headers
        url = h.get_header("WARC-Target-URI") or h.get_header("WARC-Filename")
        date = h.get_header("WARC-Date")
        doc = Document(
            id=make_id(source, url or "", date or "", offset),
            text="",
            source=source,
            provenance={"input_file": path, "record_id": f"offset:{offset}", "url": url, "fetch_date": date},
        )
        http = record.http_headers
        if record.rec_type == "warcinfo":  # the file's version block (filedesc://)
            yield read_reject(doc, "version_block")
            continue
        if http is None or not http.statusline:
            yield read_reject(doc, "not_http")  # dns: records, or records without HTTP headers
            continue
        status = http.get_statuscode()
        content_type = http.get_header("Content-Type")
        if not (status or "").startswith("2"):
            yield read_reject(doc, "http_status", status=status)
        elif not is_html(content_type, body):
            yield read_reject(doc, "not_html", content_type=content_type)
        elif not body.strip():
            yield read_reject(doc, "empty_body")
        elif len(body) > config.max_html_bytes:
            yield read_reject(doc, "too_large", bytes=len(body))
        else:
            doc.html = decode_html(body, content_type)
            doc.provenance["http_status"] = int(status[:3]) if status[:3].isdigit() else status
            yield doc
