import gzip
import io

import pytest

from curate.document import Document, ErrorRecord, Rejected
from curate.readers.warc import WarcConfig, decode_html, read_warc
from tests.warc_fixtures import html_page, other, response, warc_bytes


def read(data: bytes, path="t.warc.gz"):
    return list(read_warc(path, io.BytesIO(data), "web", WarcConfig()))


def test_every_record_yields_exactly_one_item_with_a_reason():
    page = html_page("Hi", ["Hello there."]).encode()
    items = read(
        warc_bytes(
            [
                other("warcinfo", ""),
                other("request", "http://a.org/"),
                response("http://a.org/", page),
                other("metadata", "http://a.org/"),
                response("http://a.org/logo.png", b"\x89PNG", content_type="image/png"),
                response("http://a.org/gone", page, status="404 Not Found"),
                response("http://a.org/plain", page, content_type="text/html"),
            ]
        )
    )
    assert len(items) == 7
    reasons = [i.reason for i in items if isinstance(i, Rejected)]
    assert reasons == ["record_warcinfo", "record_request", "record_metadata", "not_html", "http_status"]
    docs = [i for i in items if isinstance(i, Document)]
    assert [d.provenance["url"] for d in docs] == ["http://a.org/", "http://a.org/plain"]
    assert docs[0].html.startswith("<html>") and docs[0].text == ""
    assert docs[0].provenance["fetch_date"] == "2026-01-01T00:00:00Z"
    assert docs[0].provenance["record_id"] == "<urn:uuid:00000000-0000-0000-0000-000000000002>"


def test_ids_are_stable_and_do_not_depend_on_order_or_directory():
    page = html_page("Hi", ["Hello."]).encode()
    recs = [response("http://a.org/1", page, rid="<urn:uuid:a>"), response("http://a.org/2", page, rid="<urn:uuid:b>")]
    ids1 = sorted(d.id for d in read(warc_bytes(recs), "x/t.warc.gz"))
    ids2 = sorted(d.id for d in read(warc_bytes(recs[::-1]), "y/t.warc.gz"))
    assert ids1 == ids2 and len(set(ids1)) == 2


def test_charset_from_header_meta_and_fallback():
    text = "Caf\u00e9 \u201cquoted\u201d"
    # HTTP header wins.
    assert decode_html(text.encode("cp1252"), "text/html; charset=windows-1252")[:2] == (text, "cp1252")
    # <meta> when the header has none; ISO-8859-1 read as its superset windows-1252.
    body = f'<meta charset="iso-8859-1"><p>{text}</p>'.encode("cp1252")
    decoded, charset, errors = decode_html(body, "text/html")
    assert text in decoded and charset == "cp1252" and errors == 0
    # No declaration: UTF-8.
    assert decode_html(text.encode("utf-8"), None)[1] == "utf-8"
    # Bytes invalid in the declared charset are replaced and counted, never fatal.
    decoded, charset, errors = decode_html(b"ok \xff\xfe ok", "text/html; charset=utf-8")
    assert charset == "utf-8" and errors == 2 and decoded.startswith("ok ")
    # An unknown charset name falls through to UTF-8.
    assert decode_html("é".encode(), "text/html; charset=x-no-such")[:2] == ("é", "utf-8")


@pytest.mark.parametrize("packing", ["uncompressed", "gzip_per_record", "gzip_whole_file"])
def test_truncated_record_gives_records_before_it_and_an_error(packing):
    page = html_page("Hi", ["Hello there, friend."] * 50).encode()
    recs = [response("http://a.org/0", page), response("http://a.org/1", page), response("http://a.org/2", page)]
    if packing == "gzip_per_record":
        data = warc_bytes(recs)
        clipped = data[: len(data) - 100]  # the last gzip member loses its tail
    else:
        raw = warc_bytes(recs, compress=False)
        clipped = raw[: len(raw) - 500]  # the last record loses its tail
        if packing == "gzip_whole_file":
            clipped = gzip.compress(clipped, mtime=0)
    items = read(clipped)
    assert [type(i).__name__ for i in items] == ["Document", "Document", "ErrorRecord"]
    assert [d.provenance["url"] for d in items[:2]] == ["http://a.org/0", "http://a.org/1"]
    assert items[2].stage == "read"
    assert "truncated" in items[2].message or "unreadable" in items[2].message


def test_whole_file_gzip_reads_every_record():
    page = html_page("Hi", ["Hello."]).encode()
    raw = warc_bytes([response(f"http://a.org/{i}", page) for i in range(3)], compress=False)
    items = read(gzip.compress(raw, mtime=0))
    assert [d.provenance["url"] for d in items] == [f"http://a.org/{i}" for i in range(3)]


def test_garbage_after_valid_records_is_an_error_not_a_crash():
    page = html_page("Hi", ["Hello."]).encode()
    data = warc_bytes([response("http://a.org/1", page)]) + b"this is not a WARC record\r\n\r\n" * 3
    items = read(data)
    assert isinstance(items[0], Document)
    assert isinstance(items[-1], ErrorRecord) and "offset" in items[-1].locator


def test_last_gzip_member_cut_short_is_reported_not_lost():
    page = html_page("Hi", ["Hello."]).encode()
    one = len(warc_bytes([response("http://a.org/0", page)]))
    data = warc_bytes([response(f"http://a.org/{i}", page) for i in range(3)])
    items = read(data[: 2 * one + 30])  # two whole members and the start of a third
    assert [type(i).__name__ for i in items] == ["Document", "Document", "ErrorRecord"]
    assert "could not be read" in items[2].message
    assert [type(i).__name__ for i in read(data)] == ["Document"] * 3  # an intact file: no error


@pytest.mark.parametrize("what", ["png", "404", "http_headers"])
def test_truncated_skipped_record_is_an_error_not_a_drop(what):
    page = html_page("Hi", ["Hello there, friend."] * 50).encode()
    if what == "png":
        last = response("http://a.org/logo.png", b"\x89PNG" + b"x" * 2000, content_type="image/png")
    elif what == "404":
        last = response("http://a.org/gone", page, status="404 Not Found")
    else:
        last = response("http://a.org/2", page)
    raw = warc_bytes([response("http://a.org/0", page), last], compress=False)
    first = len(warc_bytes([response("http://a.org/0", page)], compress=False))
    # keep only the first bytes of the last record: inside its payload, or (for
    # http_headers) inside its HTTP headers
    http_start = raw.index(b"HTTP/1.1", first)
    cut = raw.index(b"Content-Type:", http_start) + 15 if what == "http_headers" else first + 700
    items = read(raw[:cut])
    assert [type(i).__name__ for i in items] == ["Document", "ErrorRecord"]
    assert "truncated" in items[1].message


def test_whole_file_gzip_cut_short_keeps_what_came_before_and_reports_the_cut():
    page = html_page("Hi", ["Hello there, friend."] * 20).encode()
    raw = warc_bytes([response(f"http://a.org/{i}", page) for i in range(60)], compress=False)
    gz = gzip.compress(raw, mtime=0)
    items = read(gz[: len(gz) // 2])
    docs = [i for i in items if isinstance(i, Document)]
    assert len(docs) > 1 and [d.provenance["url"] for d in docs] == [f"http://a.org/{i}" for i in range(len(docs))]
    assert isinstance(items[-1], ErrorRecord) and len(items) == len(docs) + 1


def test_damage_mid_file_is_reported_once():
    page = html_page("Hi", ["Hello."]).encode()
    data = warc_bytes([response(f"http://a.org/{i}", page) for i in range(4)])
    one = len(warc_bytes([response("http://a.org/0", page)]))
    damaged = data[:one] + b"\x1f\x8b\x08 not really gzip" + data[2 * one :]
    items = read(damaged)
    assert isinstance(items[0], Document)
    assert sum(isinstance(i, ErrorRecord) for i in items) == 1
