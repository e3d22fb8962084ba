"""WET and ARC readers on fixtures written in code, and the real whirlwind WET."""

from __future__ import annotations

import collections
import gzip
import io

from curate.config import build
from curate.document import Document, ErrorRecord, Rejected
from curate.readers.arc import read_arc
from curate.readers.warc import WarcConfig
from curate.readers.wet import WetConfig, read_wet
from tests.conftest import shared_path


def summary(items):
    return collections.Counter(
        "doc" if isinstance(i, Document) else f"drop:{i.reason}" if isinstance(i, Rejected) else "error" for i in items
    )


# ----------------------------------------------------------------------------- WET


def warc_record(rec_type: str, body: bytes, **headers) -> bytes:
    lines = ["WARC/1.0", f"WARC-Type: {rec_type}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body + b"\r\n\r\n"


def wet_fixture():
    return [
        warc_record(
            "warcinfo", b"isPartOf: TEST\r\n", WARC_Record_ID="<urn:uuid:info>", Content_Type="application/warc-fields"
        ),
        warc_record(
            "conversion",
            "Hello wörld.\nSecond line.\n".encode(),
            WARC_Record_ID="<urn:uuid:one>",
            WARC_Target_URI="https://example.com/a",
            WARC_Date="2024-05-18T01:58:10Z",
            WARC_Identified_Content_Language="eng,deu",
            Content_Type="text/plain",
        ),
        warc_record(
            "conversion",
            "caf\xe9".encode("latin-1"),
            WARC_Record_ID="<urn:uuid:two>",
            WARC_Target_URI="https://example.com/b",
            Content_Type="text/plain; charset=iso-8859-1",
            WARC_Identified_Content_Language="fra",
        ),
        warc_record("conversion", b"  \n ", WARC_Record_ID="<urn:uuid:empty>", Content_Type="text/plain"),
        warc_record("metadata", b"fetchTimeMs: 12\r\n", WARC_Record_ID="<urn:uuid:meta>"),
    ]


def read_wet_bytes(data: bytes, **options):
    return list(read_wet("x.wet.gz", io.BytesIO(data), "web", build(WetConfig, options)))


def test_wet_records_become_documents_with_provenance():
    records = wet_fixture()
    per_member = b"".join(gzip.compress(r) for r in records)  # how Common Crawl writes WET
    for data in (b"".join(records), per_member, gzip.compress(b"".join(records))):
        out = read_wet_bytes(data)
        assert summary(out) == {"doc": 2, "drop:warcinfo": 1, "drop:empty_text": 1, "drop:not_conversion": 1}
        one, two = [d for d in out if isinstance(d, Document)]
        assert one.text == "Hello wörld.\nSecond line." and one.html is None
        assert one.provenance["url"] == "https://example.com/a"
        assert one.provenance["record_id"] == "<urn:uuid:one>"
        assert one.provenance["fetch_date"] == "2024-05-18T01:58:10Z"
        assert one.metadata["wet_languages"] == ["eng", "deu"]
        assert two.text == "café"  # the charset parameter is honoured
    assert [d.id for d in read_wet_bytes(per_member) if isinstance(d, Document)] == [one.id, two.id]


def test_wet_language_selection():
    out = read_wet_bytes(b"".join(wet_fixture()), languages=["deu"])
    assert summary(out)["doc"] == 1 and summary(out)["drop:language_not_selected"] == 1


def test_wet_truncated_file_keeps_what_came_before_and_records_one_error():
    data = b"".join(gzip.compress(r) for r in wet_fixture()[:2])
    out = read_wet_bytes(data + gzip.compress(wet_fixture()[2])[:30])
    assert summary(out) == {"drop:warcinfo": 1, "doc": 1, "error": 1}
    err = out[-1]
    assert isinstance(err, ErrorRecord) and err.stage == "read" and err.input_file == "x.wet.gz"


def test_whirlwind_wet():
    path = shared_path("warc", "cc-main-2024-22-whirlwind.warc.wet.gz")
    with open(path, "rb") as f:
        out = list(read_wet(str(path), f, "web", WetConfig()))
    assert summary(out) == {"drop:warcinfo": 1, "doc": 1}
    doc = out[1]
    assert doc.provenance["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert doc.provenance["record_id"] == "<urn:uuid:ba729a40-ff84-4085-8d48-0a5b2ee0c42d>"
    assert doc.metadata["wet_languages"] == ["spa"]
    assert doc.provenance["offset"] == 466  # its gzip member's start in the file
    assert doc.text.startswith("Escopete - Biquipedia") and len(doc.text) > 4000


# ----------------------------------------------------------------------------- ARC


def arc_record(url: str, date: str, arc_type: str, body: bytes, ip: str = "1.2.3.4") -> bytes:
    """An ARC v1 record: a five-field header line, the body, a newline."""
    return f"{url} {ip} {date} {arc_type} {len(body)}\n".encode() + body + b"\n"


def http(body: bytes, status="200 OK", content_type="text/html") -> bytes:
    head = f"HTTP/1.0 {status}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


VERSION_BLOCK = b"1 0 Test Crawler\nURL IP-address Archive-date Content-type Archive-length\n"
LATIN_PAGE = b"<html><head><meta charset='iso-8859-1'></head><body><p>Caf\xe9 ol\xe9</p></body></html>"


def arc_fixture():
    return [
        arc_record("filedesc://test.arc", "19961104142103", "text/plain", VERSION_BLOCK, ip="0.0.0.0"),
        arc_record("http://ex.com/", "19961104142103", "text/html", http(LATIN_PAGE)),
        arc_record(
            "http://ex.com/utf8",
            "19961104142104",
            "text/html",
            http("<p>naïve — ok</p>".encode(), content_type="text/html; charset=utf-8"),
        ),
        arc_record(
            "http://ex.com/bare",
            "19961104142105",
            "text/html",
            http(b"<!DOCTYPE html><html><body>no type</body></html>", content_type=None),
        ),
        arc_record("http://ex.com/a.gif", "19961104142106", "image/gif", http(b"GIF89a", content_type="image/gif")),
        arc_record(
            "http://ex.com/missing", "19961104142107", "text/html", http(b"<p>nope</p>", status="404 Not Found")
        ),
        arc_record("dns:ex.com", "19961104142108", "text/dns", b"ex.com. 300 IN A 1.2.3.4\n"),
        arc_record("http://ex.com/empty", "19961104142109", "text/html", http(b"")),
    ]


def read_arc_bytes(data: bytes, **options):
    return list(read_arc("x.arc.gz", io.BytesIO(data), "web", build(WarcConfig, options)))


def test_arc_html_responses_become_documents_with_html_as_warc_does():
    records = arc_fixture()
    for data in (b"".join(records), b"".join(gzip.compress(r) for r in records), gzip.compress(b"".join(records))):
        out = read_arc_bytes(data)
        assert summary(out) == {
            "doc": 3,
            "drop:record_warcinfo": 1,
            "drop:not_html": 2,
            "drop:http_status": 1,
            "drop:no_http_headers": 1,
        }
        latin, utf8, empty = [d for d in out if isinstance(d, Document)]
        assert "Café olé" in latin.html and latin.text == ""  # extraction fills text later
        assert "naïve — ok" in utf8.html
        assert empty.html == ""  # the extraction stage drops it
        assert latin.provenance["url"] == "http://ex.com/"
        assert latin.provenance["fetch_date"] == "1996-11-04T14:21:03Z"
        assert latin.provenance["http_status"] == 200
        bare = next(i for i in out if isinstance(i, Rejected) and i.doc.provenance["url"] == "http://ex.com/bare")
        assert bare.reason == "not_html"  # no Content-Type: skipped, as the WARC reader does
    # ids are stable (warcio's random ARC record ids are replaced) and distinct
    ids = lambda items: [i.id if isinstance(i, Document) else i.doc.id for i in items]  # noqa: E731
    assert ids(read_arc_bytes(b"".join(records))) == ids(read_arc_bytes(b"".join(records)))
    assert len(set(ids(read_arc_bytes(b"".join(records))))) == len(records)


def test_arc_too_large_and_truncated():
    out = read_arc_bytes(b"".join(arc_fixture()[:3]), max_body_bytes=50)
    assert summary(out) == {"drop:record_warcinfo": 1, "drop:too_large": 1, "doc": 1}
    data = b"".join(gzip.compress(r) for r in arc_fixture()[:2])
    out = read_arc_bytes(data + gzip.compress(arc_fixture()[2])[:25])
    assert summary(out) == {"drop:record_warcinfo": 1, "doc": 1, "error": 1}
    out = read_arc_bytes(b"".join(arc_fixture()[:2])[:-40])  # uncompressed, cut inside the body
    assert summary(out) == {"drop:record_warcinfo": 1, "error": 1}


def test_arc_written_from_a_real_warc_reads_as_the_warc_does():
    """The real Common Crawl WARC's responses rewritten as ARC v1 (one gzip member per
    record, as archives did): the ARC reader gives the WARC reader's documents."""
    import re

    from warcio.archiveiterator import ArchiveIterator

    from curate.readers.warc import read_warc

    path = shared_path("warc", "cc-main-2020-34-sample.warc.gz")
    records = [arc_record("filedesc://sample.arc", "20200808000000", "text/plain", VERSION_BLOCK, ip="0.0.0.0")]
    with open(path, "rb") as f:
        for r in ArchiveIterator(f):
            if r.rec_type != "response":
                continue
            h = r.rec_headers
            date = re.sub(r"\D", "", h.get_header("WARC-Date"))[:14]
            ctype = (r.http_headers.get_header("Content-Type") or "unknown").split(";")[0].strip()
            block = r.http_headers.to_bytes() + r.raw_stream.read()
            records.append(
                arc_record(
                    h.get_header("WARC-Target-URI"), date, ctype, block, ip=h.get_header("WARC-IP-Address") or "0.0.0.0"
                )
            )
    arc_docs = [d for d in read_arc_bytes(b"".join(gzip.compress(r) for r in records)) if isinstance(d, Document)]
    with open(path, "rb") as f:
        warc_docs = [d for d in read_warc(str(path), f, "web", WarcConfig()) if isinstance(d, Document)]
    assert len(arc_docs) == len(warc_docs) == 16
    for a, w in zip(arc_docs, warc_docs):
        assert (a.html, a.provenance["url"], a.provenance["fetch_date"]) == (
            w.html,
            w.provenance["url"],
            w.provenance["fetch_date"],
        )
