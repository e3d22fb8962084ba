"""Small WARC files built in code for the reader and pipeline tests."""

from __future__ import annotations

import gzip
import io

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def response(
    url: str, body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK", rid: str = None
):
    return ("response", url, body, content_type, status, rid)


def other(rec_type: str, url: str, rid: str = None):
    return (rec_type, url, b"x: y\n", None, None, rid)


def warc_bytes(records, compress: bool = True) -> bytes:
    """A WARC of the given records, one gzip member per record when ``compress``."""
    out = io.BytesIO()
    for i, (rec_type, url, body, content_type, status, rid) in enumerate(records):
        buf = io.BytesIO()
        w = WARCWriter(buf, gzip=False)
        headers = {
            "WARC-Date": "2026-01-01T00:00:00Z",
            "WARC-Record-ID": rid or f"<urn:uuid:00000000-0000-0000-0000-{i:012d}>",
        }
        if rec_type == "response":
            http = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
            rec = w.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=http,
                warc_headers_dict=headers,
            )
        elif rec_type == "request":
            http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.org")], is_http_request=True)
            rec = w.create_warc_record(url, "request", http_headers=http, warc_headers_dict=headers)
        else:
            rec = w.create_warc_record(
                url,
                rec_type,
                payload=io.BytesIO(body),
                length=len(body),
                warc_content_type="application/warc-fields",
                warc_headers_dict=headers,
            )
        w.write_record(rec)
        data = buf.getvalue()
        out.write(gzip.compress(data, mtime=0) if compress else data)
    return out.getvalue()


def html_page(title: str, paragraphs: list[str], meta_charset: str = "utf-8") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f'<html><head><meta charset="{meta_charset}"><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>'
