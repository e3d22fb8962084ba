"""Real archive quirks (issue 8): ARC files whose declared lengths are off, bodies with
chunked transfer and gzip content encoding, WARC responses under non-http target URIs,
and cuts anywhere in real WARC and ARC files. Fixtures are built in code; the real
files come from ../shared/data and the extra real ARC and WARC files
(tests.conftest.extra_path)."""

from __future__ import annotations

import collections
import gzip
import io
import re
import zlib

import pytest

from curate.document import Document, ErrorRecord, Rejected
from curate.readers.arc import read_arc
from curate.readers.common import ReadStat
from curate.readers.warc import WarcConfig, read_warc
from tests.conftest import extra_path, shared_path
from tests.test_web_formats import VERSION_BLOCK, arc_record, http, warc_record

PAGE = b"<html><body><article><p>" + b"A paragraph about harbours and ships. " * 20 + b"</p></article></body></html>"


def read(reader, data: bytes, path: str = "x.arc", **options):
    return list(reader(path, io.BytesIO(data), "web", WarcConfig(**options)))


def summary(items):
    """Items by kind; ReadStat counts under ``stat:<name>``."""
    c = collections.Counter()
    for i in items:
        if isinstance(i, ReadStat):
            c[f"stat:{i.name}"] += i.n
        else:
            c["doc" if isinstance(i, Document) else f"drop:{i.reason}" if isinstance(i, Rejected) else "error"] += 1
    return dict(c)


def urls(items):
    return [i.provenance["url"] for i in items if isinstance(i, Document)]


# Internal exceptions that must never be the text of an error record.
_INTERNAL = re.compile(
    r"\b(AttributeError|TypeError|KeyError|IndexError|NameError|NoneType|Traceback|object has no attribute)\b"
)


def assert_clean_errors(items, path: str):
    for e in items:
        if isinstance(e, ErrorRecord):
            assert e.input_file == path and e.stage == "read", e
            assert re.search(r"offsets? \d+", e.message), e.message  # says where
            assert not _INTERNAL.search(e.message), e.message


# ----------------------------------------------------------------------------- ARC framing


def filedesc(declared_extra: int = 0, separator: bytes = b"\n") -> bytes:
    line = f"filedesc://q.arc 0.0.0.0 20100106234911 text/plain {len(VERSION_BLOCK) + declared_extra}\n"
    return line.encode() + VERSION_BLOCK + separator


def page_record(n: int, declared_extra: int = 0) -> bytes:
    block = http(PAGE)
    line = f"http://ex.com/{n} 1.2.3.4 2009112100450{n} text/html {len(block) + declared_extra}\n"
    return line.encode() + block + b"\n"


def test_common_crawl_filedesc_length_counts_the_newline_after_it():
    """Common Crawl 2008-2012: the version block's declared length includes the newline
    that separates it from the next record, and no further newline follows, so warcio
    (expecting one) loses every record after the first."""
    data = filedesc(declared_extra=1, separator=b"\n") + page_record(1) + page_record(2)
    items = read(read_arc, data)
    assert summary(items) == {"drop:record_warcinfo": 1, "doc": 2}
    assert urls(items) == ["http://ex.com/1", "http://ex.com/2"]


def test_heritrix_version_block_without_its_newline():
    data = filedesc(separator=b"") + page_record(1)
    assert summary(read(read_arc, data)) == {"drop:record_warcinfo": 1, "doc": 1}


@pytest.mark.parametrize("extra", [2, 3, 37, 400])
def test_declared_length_past_the_next_header_is_corrected(extra):
    """Declared longer than the record and its newline: the next header is found before
    the declared end (a byte into it, as in ``ttp://`` for ``http://``, or hundreds)."""
    data = filedesc(declared_extra=extra) + page_record(1, declared_extra=extra) + page_record(2) + page_record(3)
    items = read(read_arc, data)
    assert summary(items) == {"drop:record_warcinfo": 1, "doc": 3, "stat:arc_length_corrected": 2}
    first = next(i for i in items if isinstance(i, Document))
    assert first.html == PAGE.decode()  # read up to the next header, not into it
    assert urls(items) == ["http://ex.com/1", "http://ex.com/2", "http://ex.com/3"]


def test_bytes_between_records_are_one_error_and_counted():
    garbage = b"this is not an ARC record\n" * 3
    data = filedesc() + page_record(1) + garbage + page_record(2)
    items = read(read_arc, data)
    assert summary(items) == {"drop:record_warcinfo": 1, "doc": 2, "error": 1, "stat:arc_bytes_skipped": len(garbage)}
    (err,) = [i for i in items if isinstance(i, ErrorRecord)]
    start = len(filedesc()) + len(page_record(1))
    assert (
        err.locator == f"offset:{start}"
        and f"{len(garbage)} bytes at offsets {start}-{start + len(garbage)}" in err.message
    )
    assert_clean_errors(items, "x.arc")
    # garbage in front of the first record: the same
    items = read(read_arc, garbage + filedesc() + page_record(1))
    assert summary(items) == {"error": 1, "stat:arc_bytes_skipped": len(garbage), "drop:record_warcinfo": 1, "doc": 1}


def test_declared_length_short_of_the_record_skips_to_the_next_header():
    block = http(PAGE)
    short = f"http://ex.com/1 1.2.3.4 20091121004501 text/html {len(block) - 100}\n".encode() + block + b"\n"
    items = read(read_arc, filedesc() + short + page_record(2))
    # the first record is read as declared (its page cut: still HTML), then its last
    # 100 bytes (and the newline) are skipped to the next header
    assert summary(items) == {"drop:record_warcinfo": 1, "doc": 2, "error": 1, "stat:arc_bytes_skipped": 101}
    assert urls(items)[-1] == "http://ex.com/2"


def chunked(data: bytes, size: int = 100) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size]) for i in range(0, len(data), size))
    return out + b"0\r\n\r\n"


def test_chunked_and_gzip_encoded_bodies_are_decoded():
    head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    bodies = {
        "gzip": (head + "Content-Encoding: gzip\r\n\r\n").encode() + gzip.compress(PAGE, mtime=0),
        "chunked": (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunked(PAGE),
        "both": (head + "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n").encode()
        + chunked(gzip.compress(PAGE, mtime=0)),
        # labelled so but stored decoded, as in Common Crawl's ARCs: read as is
        "labelled": (head + "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n").encode() + PAGE,
    }
    records = [arc_record(f"http://ex.com/{k}", "20091121004501", "text/html", v) for k, v in bodies.items()]
    docs = read(read_arc, filedesc() + b"".join(records))[1:]
    assert [d.html for d in docs] == [PAGE.decode()] * 4


def test_real_common_crawl_arc_reads_every_record():
    """warcio (and this reader before) read the version block, then failed on the whole file."""
    path = shared_path("warc", "cc-arc-1262850551027_8.arc")
    with open(path, "rb") as f:
        items = list(read_arc(str(path), f, "web", WarcConfig()))
    assert summary(items) == {"drop:record_warcinfo": 1, "doc": 8}
    docs = [i for i in items if isinstance(i, Document)]
    assert all(d.provenance["url"].startswith("http://www.coursehero.com/prefix/") for d in docs)
    for d in docs:  # whole pages: no chunk-size lines, no next header, all decoded
        assert d.html.rstrip().lower().endswith("</html>")
        assert "174.143.218.177" not in d.html


# Extra real ARC files from web-archiving projects' test data (see extra-data/arc/README.md):
# what each gives. Before this reader, the first five lost every record after the first
# (warcio: "Unknown archive format").
EXTRA_ARCS = {
    "cc-arc-1213893279526_0.arc": {"drop:record_warcinfo": 1, "doc": 125, "drop:not_html": 6, "drop:http_status": 14},
    "IAH-20080430204825-00000-blackbook-truncated.arc": {
        "drop:record_warcinfo": 1,
        "drop:no_http_headers": 1,
        "drop:not_html": 5,
        "doc": 2,
    },
    "IAH-20080430204825-00000-blackbook-truncated.arc.gz": {
        "drop:record_warcinfo": 1,
        "drop:no_http_headers": 1,
        "drop:not_html": 5,
        "doc": 2,
    },
    # declared lengths hundreds of bytes too long; the last record runs past the end of the file
    "aut-badexample.arc.gz": {
        "drop:record_warcinfo": 1,
        "drop:no_http_headers": 1,
        "drop:not_html": 1,
        "doc": 2,
        "error": 1,
        "stat:arc_length_corrected": 2,
    },
    "invalid-arcfile-record-then-garbage.arc": {"doc": 1, "error": 1, "stat:arc_bytes_skipped": 25},
    "IAH-20080430204825-00000-blackbook.arc.gz": {
        "drop:record_warcinfo": 1,
        "drop:no_http_headers": 38,
        "drop:not_html": 121,
        "doc": 94,
        "drop:http_status": 46,
    },
    "1-1-20110922131213-00000-svc-VirtualBox.arc": {
        "drop:record_warcinfo": 1,
        "drop:no_http_headers": 5,
        "drop:http_status": 69,
        "doc": 12,
        "drop:not_html": 15,
    },
    "small_BNF.arc": {"drop:record_warcinfo": 1, "doc": 3, "drop:not_html": 2},
    "test-arc-1.0-dashed-fields.arc": {"drop:record_warcinfo": 1, "doc": 1},
    "test-arc-1.0-invalid-fields.arc": {"error": 1, "doc": 1, "stat:arc_bytes_skipped": 141},  # filedesc length "one"
    "warcio-bad.arc": {"error": 2, "drop:no_http_headers": 1, "stat:arc_bytes_skipped": 271},  # lengths -1 and "abc"
    "warcio-example-space-in-url.arc": {"drop:record_warcinfo": 1, "error": 1},  # 12 bytes short of its length
    "warcio-example.arc": {"drop:record_warcinfo": 1, "doc": 1},
    "warcio-example.arc.gz": {"drop:record_warcinfo": 1, "doc": 1},
}


@pytest.mark.parametrize("name", sorted(EXTRA_ARCS))
def test_extra_real_arc_files(name):
    path = str(extra_path("arc", name))
    with open(path, "rb") as f:
        items = list(read_arc(path, f, "web", WarcConfig()))
    assert summary(items) == EXTRA_ARCS[name]
    assert_clean_errors(items, path)


# Extra real WARC files of web-archiving projects' test data (see extra-data/warc/README.md),
# written by Heritrix, wget, wpull, warcprox, pywb/warcio, jwat, gowarc, Nutch (ClueWeb09)
# and others: what each gives. The records (and response records) counted are the ones
# warcio counts in every file it reads to the end (checked when they were pinned).
EXTRA_WARCS = {
    "IAH-20080430204825-00000-blackbook-truncated.warc": {
        "drop:record_warcinfo": 1,
        "drop:no_http_headers": 1,
        "drop:not_html": 5,
        "drop:record_request": 7,
        "drop:record_metadata": 7,
        "doc": 2,
    },
    "IAH-20080430204825-00000-blackbook-truncated.warc.gz": {
        "drop:record_warcinfo": 1,
        "drop:no_http_headers": 1,
        "drop:not_html": 5,
        "drop:record_request": 7,
        "drop:record_metadata": 7,
        "doc": 2,
    },
    "IAH-20080430204825-00000-blackbook.warc.gz": {
        "drop:record_warcinfo": 1,
        "drop:no_http_headers": 38,
        "drop:not_html": 121,
        "drop:record_request": 261,
        "drop:record_metadata": 261,
        "doc": 94,
        "drop:http_status": 46,
    },
    "aut-example.docs.warc.gz": {"drop:record_warcinfo": 3, "drop:not_html": 9, "drop:record_request": 9},
    "aut-example.pdf.warc.gz": {
        "drop:record_warcinfo": 2,
        "drop:not_html": 32,
        "drop:record_request": 37,
        "drop:record_revisit": 2,
        "doc": 1,
        "drop:http_status": 2,
    },
    "aut-example.txt.warc.gz": {"drop:record_warcinfo": 2, "drop:not_html": 2, "drop:record_request": 2},
    "aut-issue-493.warc": {
        "drop:record_warcinfo": 2,
        "drop:http_status": 1,
        "drop:record_request": 15,
        "drop:not_html": 5,
        "drop:record_revisit": 5,
        "doc": 4,
    },
    "aut-issue-514.warc": {
        "drop:record_warcinfo": 1,
        "drop:record_request": 2,
        "drop:http_status": 1,
        "doc": 1,
        "drop:record_metadata": 1,
        "drop:record_resource": 2,
    },
    # ClueWeb09 gzipped whole, no blank lines between records: before, 1 page and an error
    "copycat-clueweb09-00.warc.gz": {"drop:record_warcinfo": 1, "doc": 23},
    "copycat-clueweb12-0000tw-00.warc.gz": {"drop:record_warcinfo": 1, "doc": 3},
    # bare HTML pages in response records (HTTP headers among the WARC headers): before, 128 not_html
    "copycat-snapshot-wayback-topic-02.warc.gz": {"drop:record_warcinfo": 1, "doc": 128},
    # CDX text in response records: before, 231 not_html and 1 too_large
    "copycat-topic-1--20201003083220753-00000.warc.gz": {"drop:record_warcinfo": 1, "drop:no_http_headers": 238},
    "fastwarc-block-sized-records.warc": {"drop:record_unknown": 3},
    "fastwarc-block-sized-records.warc.gz": {"drop:record_unknown": 3},
    # one gzip member of 12 records (12 WARC-Type lines), then 34 bytes of text: nothing to resync to
    "iagowarc-corrupted-mid-record.warc.gz": {"doc": 12, "error": 1},
    # one gzip member of 30 records, then garbage
    "iagowarc-corrupted-trailing-bytes.warc.gz": {"doc": 30, "error": 1},
    # one empty gzip member: before, an error
    "iagowarc-empty.warc.gz": {},
    "iagowarc-good.warc.gz": {"doc": 50},
    "iagowarc-single-record.warc.gz": {"doc": 1},
    "iagowarc-skip-non-open.warc.gz": {"doc": 10},
    "iagowarc-test.warc.gz": {"drop:record_warcinfo": 1, "drop:record_request": 1, "drop:not_html": 1},
    "jwarc-cc.warc.gz": {"doc": 1},
    "jwarc-gzip_extra_sl.warc.gz": {"drop:record_warcinfo": 1},
    "jwat-invalid-warcfile-contenttype-recommended.warc": {
        "drop:record_warcinfo": 1,
        "drop:record_request": 1,
        "drop:no_http_headers": 1,
        "drop:record_metadata": 1,
        "drop:record_resource": 1,
        "drop:record_conversion": 1,
        "drop:record_revisit": 1,
    },
    "jwat-invalid-warcfile-contenttype-warcinfo-recommended.warc": {"drop:record_warcinfo": 1},
    "jwat-invalid-warcfile-digest-fields.warc": {"doc": 4},
    "jwat-invalid-warcfile-duplicate-fields.warc": {"drop:record_warcinfo": 1},
    "jwat-invalid-warcfile-encoding-headers.warc.gz": {"drop:record_warcinfo": 1, "doc": 2, "drop:not_html": 1},
    # Content-Length empty
    "jwat-invalid-warcfile-fields-empty.warc": {"error": 1},
    # Content-Length "very lengthy"
    "jwat-invalid-warcfile-fields-invalidformat.warc": {"error": 1},
    "jwat-invalid-warcfile-fields-missing.warc": {"error": 1},
    "jwat-invalid-warcfile-lonely-continuation.warc": {"error": 1},
    "jwat-invalid-warcfile-lonely-monkeys.warc": {"error": 1},
    # 4 records (WARC-Type request, response, resource, conversion), none with a Content-Length:
    # one error each, reading resumed at the next WARC/1.0 line (before: 1 error, 3 records lost)
    "jwat-invalid-warcfile-lonely-request-response-resource-conversion.warc": {"error": 4},
    "jwat-invalid-warcfile-lonely-revisit.warc": {"error": 1},
    # 2 records (warcinfo, metadata) without a Content-Length: one error each (before: 1, 1 lost)
    "jwat-invalid-warcfile-lonely-warcinfo-metadata.warc": {"error": 2},
    # before: "no record header" at offset 1135
    "jwat-invalid-warcfile-record-then-garbage.warc": {"drop:not_html": 1, "error": 1, "stat:warc_bytes_skipped": 51},
    "jwat-invalid-warcfile-segment-number-continuation.warc": {"drop:record_continuation": 2},
    "jwat-invalid-warcfile-segment-number-response.warc": {"doc": 2},
    "jwat-valid-warcfile-contenttype-continuation.warc": {"drop:record_continuation": 1},
    "jwat-valid-warcfile-duplicate-concurrentto.warc": {"drop:record_metadata": 1},
    "jwat-valid-warcfile-fields-continuation.warc": {"drop:record_continuation": 1},
    "jwat-valid-warcfile-fields-metainfo.warc": {"drop:record_metadata": 1},
    "jwat-valid-warcfile-fields-warcinfo.warc": {"drop:record_warcinfo": 1},
    "jwat-valid-warcfile-non-warc-headers.warc": {"drop:record_warcinfo": 1},
    # WARC-TYPE: RESPONSE (dns: records): before, record_RESPONSE
    "jwat-valid-warcfile-upper-lower-case.warc": {"drop:record_warcinfo": 1, "drop:no_http_headers": 4},
    "jwat-valid-warcfile-utf8.warc": {"drop:record_warcinfo": 1},
    "pywb-dupes.warc.gz": {
        "drop:record_warcinfo": 1,
        "doc": 1,
        "drop:record_request": 12,
        "drop:not_html": 2,
        "drop:record_revisit": 9,
    },
    # "HTTPX/1.1 200 OK": before, a document
    "pywb-example-extra.warc": {
        "doc": 1,
        "drop:record_request": 2,
        "drop:record_revisit": 2,
        "drop:no_http_headers": 1,
    },
    "pywb-example-url-agnostic-orig.warc.gz": {"drop:record_warcinfo": 1, "doc": 1},
    "pywb-example-url-agnostic-revisit.warc.gz": {"drop:record_warcinfo": 1, "drop:record_revisit": 1},
    "pywb-example-wget-1-14.warc.gz": {
        "drop:record_warcinfo": 1,
        "drop:record_request": 1,
        "doc": 1,
        "drop:record_resource": 3,
    },
    "pywb-example-wpull.warc.gz": {
        "drop:record_warcinfo": 1,
        "drop:record_request": 1,
        "doc": 1,
        "drop:record_resource": 1,
    },
    # a request record 3 bytes longer than its Content-Length: before, skipped silently
    "pywb-example.warc": {
        "drop:record_warcinfo": 1,
        "doc": 1,
        "drop:record_request": 2,
        "drop:record_revisit": 1,
        "error": 1,
        "stat:warc_bytes_skipped": 3,
        "drop:http_status": 1,
    },
    "pywb-example.warc.gz": {
        "drop:record_warcinfo": 1,
        "doc": 1,
        "drop:record_request": 2,
        "drop:record_revisit": 1,
        "drop:http_status": 1,
    },
    "pywb-example2.warc.gz": {"drop:record_warcinfo": 1, "doc": 1, "drop:record_request": 1},
    "pywb-httpbin-resource.warc.gz": {"drop:record_resource": 1},
    "pywb-iana.warc.gz": {
        "drop:record_warcinfo": 1,
        "doc": 16,
        "drop:record_request": 171,
        "drop:not_html": 28,
        "drop:record_revisit": 123,
        "drop:http_status": 4,
    },
    "pywb-missing-status-text.warc": {"drop:not_html": 1},
    "wac-IAH-urls-wget.warc": {
        "drop:record_warcinfo": 1,
        "drop:record_request": 16,
        "drop:http_status": 9,
        "drop:not_html": 5,
        "doc": 2,
        "drop:record_resource": 3,
    },
    "wac-IAH-urls-wget.warc.gz": {
        "drop:record_warcinfo": 1,
        "drop:record_request": 16,
        "drop:http_status": 9,
        "drop:not_html": 5,
        "doc": 2,
        "drop:record_resource": 3,
    },
    # a Content-Length 4 bytes long (no blank lines after it): before, 3 pages and an error
    "wac-link-extraction-test.warc": {"drop:record_warcinfo": 1, "doc": 7},
    "wac-mutliple-headers.warc": {"doc": 1},
    "warcat-at.warc": {
        "drop:record_warcinfo": 1,
        "drop:record_request": 2,
        "drop:http_status": 1,
        "doc": 1,
        "drop:record_resource": 3,
    },
    "warcat-at.warc.gz": {
        "drop:record_warcinfo": 1,
        "drop:record_request": 2,
        "drop:http_status": 1,
        "doc": 1,
        "drop:record_resource": 3,
    },
    "warcat-bad_http_chunked_content.warc": {"drop:not_html": 1},
    "warcat-c1_warcinfo.warc": {"drop:record_warcinfo": 1},
    "warcat-long_url.warc": {"drop:not_html": 1},
    "warcat-not_utf8_http_header.warc": {"drop:not_html": 1},
    "warcio-example-bad-non-chunked.warc.gz": {
        "drop:record_warcinfo": 2,
        "doc": 1,
        "drop:record_request": 2,
        "drop:record_revisit": 1,
    },
    "warcio-example-bad.warc.gz": {
        "drop:record_warcinfo": 1,
        "doc": 1,
        "drop:record_request": 2,
        "drop:record_revisit": 1,
        "drop:http_status": 1,
    },
    "warcio-example-digest.warc": {"drop:record_request": 4},
    "warcio-example-iana.org-chunked.warc": {"drop:record_warcinfo": 1, "doc": 1, "drop:record_request": 1},
    "warcio-example-resource.warc.gz": {"drop:record_warcinfo": 2, "drop:record_resource": 1},
    "warcio-example-space-in-target-uri.warc.gz": {"drop:record_warcinfo": 1, "drop:record_resource": 1},
    "warcio-example-trunc.warc": {"drop:record_warcinfo": 2, "doc": 1, "drop:record_request": 1},
    "warcio-example-wget-bad-target-uri.warc.gz": {
        "drop:record_warcinfo": 1,
        "drop:record_request": 1,
        "doc": 1,
        "drop:record_metadata": 1,
        "drop:record_resource": 2,
    },
    # a response split over two gzip members: before, two errors
    "warcio-example-wrong-chunks.warc.gz": {"doc": 1, "drop:record_request": 1},
    "warcio-example.warc": {"drop:record_warcinfo": 2, "doc": 1, "drop:record_request": 2, "drop:record_revisit": 1},
    "warcio-example.warc.gz": {"drop:record_warcinfo": 2, "doc": 1, "drop:record_request": 2, "drop:record_revisit": 1},
    "warcio-post-test.warc.gz": {"drop:not_html": 3, "drop:record_request": 3},
}


@pytest.mark.parametrize("name", sorted(EXTRA_WARCS))
def test_extra_real_warc_files(name):
    path = str(extra_path("warc", name))
    with open(path, "rb") as f:
        items = list(read_warc(path, f, "web", WarcConfig()))
    assert summary(items) == EXTRA_WARCS[name]
    assert_clean_errors(items, path)
    for doc in items:  # pages only: no HTTP or WARC headers, no chunk sizes
        if isinstance(doc, Document):
            assert not re.match(r"\s*(HTTP/|WARC/|[0-9a-fA-F]{1,6}\r?\n)", doc.html), doc.provenance["url"]


# ----------------------------------------------------------------------------- WARC


def http_response(body: bytes = PAGE) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body


@pytest.mark.parametrize("uri", ["hard::http://ex.com/a", "recall::https://ex.com/b", "dns:ex.com", "urn:x:1"])
def test_http_payload_under_a_non_http_target_uri(uri):
    """Parsed from the payload because the record says it holds an HTTP response."""
    data = warc_record(
        "response",
        http_response(),
        WARC_Target_URI=uri,
        WARC_Record_ID="<urn:uuid:1>",
        Content_Type="application/http; msgtype=response",
    )
    (doc,) = read(read_warc, data, "x.warc")
    assert isinstance(doc, Document) and doc.html == PAGE.decode() and doc.provenance["url"] == uri
    assert doc.provenance["http_status"] == 200


def test_non_http_payloads_stay_skipped():
    dns = warc_record(
        "response",
        b"ex.com. 300 IN A 1.2.3.4\n",
        WARC_Target_URI="dns:ex.com",
        WARC_Record_ID="<urn:uuid:1>",
        Content_Type="text/dns",
    )
    request = warc_record(
        "response",
        b"GET / HTTP/1.1\r\n\r\n",
        WARC_Target_URI="hard::http://ex.com/",
        WARC_Record_ID="<urn:uuid:2>",
        Content_Type="application/http; msgtype=request",
    )
    assert summary(read(read_warc, dns + request, "x.warc")) == {"drop:no_http_headers": 2}


def test_a_cut_anywhere_in_the_first_record_is_an_error():
    """Before: a cut inside the warcinfo header block was one read:record_warcinfo drop."""
    info = warc_record(
        "warcinfo",
        b"software: test\r\nformat: WARC\r\n",
        WARC_Record_ID="<urn:uuid:info>",
        WARC_Date="2024-01-01T00:00:00Z",
        Content_Type="application/warc-fields",
    )
    page = warc_record(
        "response",
        http_response(),
        WARC_Target_URI="http://ex.com/",
        WARC_Record_ID="<urn:uuid:p>",
        Content_Type="application/http; msgtype=response",
    )
    data = info + page
    for cut in range(1, len(info) - 4):  # the last 4 bytes are the record's trailing newlines
        items = read(read_warc, data[:cut], "x.warc")
        assert len(items) == 1 and isinstance(items[0], ErrorRecord), (cut, items)
        assert_clean_errors(items, "x.warc")
    for cut in range(len(info) - 4, len(info) + 1):  # the first record whole
        assert summary(read(read_warc, data[:cut], "x.warc")) == {"drop:record_warcinfo": 1}


def page_warc(n: int, separator: bytes = b"\r\n\r\n", **headers) -> bytes:
    """A response record for http://ex.com/<n> holding PAGE, followed by ``separator``."""
    record = warc_record(
        "response",
        http_response(),
        WARC_Target_URI=f"http://ex.com/{n}",
        WARC_Record_ID=f"<urn:uuid:{n}>",
        Content_Type="application/http; msgtype=response",
        **headers,
    )
    return record[: -len(b"\r\n\r\n")] + separator


@pytest.mark.parametrize("packing", ["uncompressed", "gzip_whole_file", "gzip_per_record"])
def test_records_with_no_blank_lines_between_them_are_all_read(packing):
    """ClueWeb09: a record's Content-Length counts the blank lines after it, so the next
    ``WARC/`` line follows at once. warcio took that line for the separator: every record
    after the second was lost, with an error."""
    records = [page_warc(n, separator=b"") for n in range(4)]
    data = b"".join(records)
    if packing == "gzip_whole_file":
        data = gzip.compress(data, mtime=0)
    elif packing == "gzip_per_record":
        data = b"".join(gzip.compress(r, mtime=0) for r in records)
    items = read(read_warc, data, "x.warc")
    assert summary(items) == {"doc": 4}
    assert urls(items) == [f"http://ex.com/{n}" for n in range(4)]


@pytest.mark.parametrize("packing", ["uncompressed", "gzip_per_record"])
def test_bytes_after_a_short_content_length_are_skipped_and_reported(packing):
    """A Content-Length short of the record: warcio skipped its first line of leftover
    silently and failed on a second; now every leftover line up to the next ``WARC/``
    line is skipped, one error says how many bytes and where, and the next record is read."""
    short = page_warc(1)
    leftover = b"</p></article></body></html>"  # the last bytes of PAGE
    declared = f"Content-Length: {len(http_response())}".encode()
    short = short.replace(declared, f"Content-Length: {len(http_response()) - len(leftover)}".encode())
    records = [page_warc(0), short, page_warc(2)]
    data = b"".join(gzip.compress(r, mtime=0) for r in records) if packing == "gzip_per_record" else b"".join(records)
    items = read(read_warc, data, "x.warc")
    skipped = len(leftover) + 2  # the line end after it
    assert summary(items) == {"doc": 3, "error": 1, "stat:warc_bytes_skipped": skipped}
    assert urls(items) == ["http://ex.com/0", "http://ex.com/1", "http://ex.com/2"]
    (err,) = [i for i in items if isinstance(i, ErrorRecord)]
    second = 0 if packing == "uncompressed" else len(gzip.compress(records[0], mtime=0))
    second += len(records[0]) if packing == "uncompressed" else 0
    assert f"{skipped} bytes after the record at offset {second} skipped" in err.message
    assert "reading resumed at the next record" in err.message
    assert_clean_errors(items, "x.warc")
    # leftover bytes at the end of the file: the same error, "the data ends there"
    items = read(read_warc, b"".join(records[:2]), "x.warc")
    assert summary(items) == {"doc": 2, "error": 1, "stat:warc_bytes_skipped": skipped}
    assert items[-2].message.endswith("the data ends there")


def test_gzip_members_cut_elsewhere_than_between_records():
    """warcio's example-wrong-chunks.warc.gz: a record's headers in one gzip member, its
    page in the next. Before: "truncated record" and "no record header" errors, the page
    lost. A record truly cut short at its member's end (the next member starts with a
    record header) stays one error, and the next record is read."""
    first, second = page_warc(0), page_warc(1)
    cut = first.index(b"<html>")
    wrong = gzip.compress(first[:cut], mtime=0) + gzip.compress(first[cut:], mtime=0) + gzip.compress(second, mtime=0)
    items = read(read_warc, wrong, "x.warc.gz")
    assert summary(items) == {"doc": 2} and urls(items) == ["http://ex.com/0", "http://ex.com/1"]
    assert items[0].html == PAGE.decode()
    truly_cut = gzip.compress(first[:cut], mtime=0) + gzip.compress(second, mtime=0)
    items = read(read_warc, truly_cut, "x.warc.gz")
    assert summary(items) == {"error": 1, "doc": 1} and urls(items) == ["http://ex.com/1"]
    assert "truncated record at offset 0" in items[0].message


def test_a_small_whole_file_gzip_with_bytes_after_it():
    """The whole member in warcio's first block, damage after it: warcio went on to the
    damage as if it were the next member and gave the records after the first negative
    offsets. Now every record has its offset in the gunzipped data, and the error says
    the damage follows the last record read."""
    records = [page_warc(n) for n in range(3)]
    data = gzip.compress(b"".join(records), mtime=0) + b"\x1f\x8b\x08 not gzip"
    items = read(read_warc, data, "x.warc.gz")
    assert summary(items) == {"doc": 3, "error": 1}
    starts = [0, len(records[0]), len(records[0]) + len(records[1])]
    assert record_offsets(items) == starts
    assert f"WARC data unreadable after the record at offset {starts[2]}: corrupt gzip data" in items[-1].message


def test_empty_gzip_members_are_no_damage():
    """gowarc's empty.warc.gz (a member of no bytes) was "23 bytes could not be read"."""
    empty = gzip.compress(b"", mtime=0)
    assert read(read_warc, empty, "x.warc.gz") == []
    first, second = gzip.compress(page_warc(0), mtime=0), gzip.compress(page_warc(1), mtime=0)
    for data in (first + second + empty, first + second + empty + empty, first + empty + second):
        assert summary(read(read_warc, data, "x.warc.gz")) == {"doc": 2}
    records = first + second
    # a member holding more than padding is still the damage it was
    items = read(read_warc, records + gzip.compress(b"WARC/1.0\r\n", mtime=0)[:-4], "x.warc.gz")
    assert summary(items) == {"doc": 2, "error": 1}


def test_warc_type_is_read_case_blind_and_without_blanks():
    """jwat's valid test files write ``RESPONSE`` and ``\\tmetadata``: before, a page under
    ``RESPONSE`` was dropped as ``record_RESPONSE``."""
    upper = page_warc(0).replace(b"WARC-Type: response", b"WARC-TYPE: RESPONSE")
    tabbed = warc_record("\tmetadata", b"a: b\r\n", WARC_Record_ID="<urn:uuid:m>")
    spaced = warc_record(" Continuation", b"x", WARC_Record_ID="<urn:uuid:c>")
    assert summary(read(read_warc, upper + tabbed + spaced, "x.warc")) == {
        "doc": 1,
        "drop:record_metadata": 1,
        "drop:record_continuation": 1,
    }


def test_a_response_block_without_an_http_message():
    """Response records whose block holds no HTTP status line: a bare HTML page (a
    Wayback scraper's WARCs: 128 pages were ``not_html``) is a document typed by the
    record's Content-Type; other bare payloads (CDX text: 300 KB read as HTTP header
    lines were ``too_large``) and a non-HTTP status line are ``no_http_headers``."""

    def bare(body: bytes, content_type: str, n: int = 0) -> bytes:
        return warc_record(
            "response", body, WARC_Target_URI=f"http://ex.com/{n}", WARC_Record_ID=f"<u:{n}>", Content_Type=content_type
        )

    page = b"\n" + PAGE  # the blank line first is the page's own
    (doc,) = read(read_warc, bare(page, "text/html; charset=utf-8"), "x.warc")
    assert isinstance(doc, Document) and doc.html == page.decode()
    assert doc.provenance["content_type"] == "text/html; charset=utf-8" and "http_status" not in doc.provenance
    cdx = b"com,example)/ 20200101000000 http://example.com/ text/html 200 ABC - - 123 456 x.warc.gz\n" * 4000
    httpx = http_response().replace(b"HTTP/1.1", b"HTTPX/1.1")
    items = read(read_warc, bare(cdx, "text/plain", 1) + bare(httpx, "application/http; msgtype=response", 2), "x.warc")
    assert summary(items) == {"drop:no_http_headers": 2}
    # a bare page over max_body_bytes (here shorter than its first line) is too_large, unread
    assert summary(read(read_warc, bare(PAGE, "text/html"), "x.warc", max_body_bytes=10)) == {"drop:too_large": 1}


def test_wet_reports_bytes_skipped_between_records():
    from curate.readers.wet import WetConfig, read_wet

    conversion = warc_record("conversion", b"Some text.\n", WARC_Record_ID="<urn:uuid:t>", Content_Type="text/plain")
    data = conversion + b"stray bytes\r\n" + conversion.replace(b"<urn:uuid:t>", b"<urn:uuid:u>")
    items = list(read_wet("x.wet", io.BytesIO(data), "web", WetConfig()))
    assert summary(items) == {"doc": 2, "error": 1, "stat:warc_bytes_skipped": len(b"stray bytes\r\n")}
    assert_clean_errors(items, "x.wet")


# ----------------------------------------------------------------------------- cuts in real files


def gzip_member_starts(data: bytes) -> set[int]:
    starts, pos = set(), 0
    while pos < len(data):
        starts.add(pos)
        z = zlib.decompressobj(31)
        z.decompress(data[pos:])
        if not z.eof:
            break
        pos = len(data) - len(z.unused_data)
    return starts


def record_offsets(items) -> list[int]:
    return [
        (i.doc if isinstance(i, Rejected) else i).provenance["offset"]
        for i in items
        if isinstance(i, (Document, Rejected))
    ]


def check_cuts(reader, path: str, data: bytes, cuts, separator: int):
    """Every cut of ``data``: the items are the whole file's up to the cut, then one error;
    no error only for a cut between two records (within ``separator`` bytes before a
    record's start, or on a gzip member boundary). Error texts are clean."""
    whole = [i for i in read(reader, data, path) if not isinstance(i, ReadStat)]
    assert not any(isinstance(i, ErrorRecord) for i in whole)
    starts = set(record_offsets(whole)) | {len(data)}
    if data[:2] == b"\x1f\x8b" and reader is read_arc:
        between = gzip_member_starts(data) | {len(data)}  # offsets are in the gunzipped stream
    else:
        between = {s - k for s in starts for k in range(separator + 1)}
    for cut in cuts:
        items = [i for i in read(reader, data[:cut], path) if not isinstance(i, ReadStat)]
        assert_clean_errors(items, path)
        errors = [i for i in items if isinstance(i, ErrorRecord)]
        if errors:
            assert errors == items[-1:], (cut, errors)  # one error, after the records before the cut
            assert items[:-1] == whole[: len(items) - 1], cut
        else:
            assert cut in between, f"cut at {cut} gave no error"
            assert items == whole[: len(items)], cut


def cut_points(size: int, n: int = 40, head: int = 400, head_step: int = 7):
    return sorted(set(range(1, min(head, size), head_step)) | set(range(1, size, max(1, size // n))))


@pytest.mark.parametrize(
    "name", ["cc-main-2020-34-sample.warc.gz", "clueweb09-quirk.warc.gz", "wget-crawl-0000.warc.gz"]
)
@pytest.mark.parametrize("packing", ["gzip", "uncompressed"])
def test_real_warc_cut_anywhere(name, packing):
    path = str(shared_path("warc", name))
    data = open(path, "rb").read()
    if packing == "uncompressed":
        data = gzip.decompress(data)
        check_cuts(read_warc, path, data, cut_points(len(data)), separator=4)
    else:
        starts = sorted(gzip_member_starts(data))
        check_cuts(read_warc, path, data, cut_points(len(data)) + [s - 3 for s in starts[1:6]], separator=0)


def test_real_arc_cut_anywhere():
    path = str(shared_path("warc", "cc-arc-1262850551027_8.arc"))
    data = open(path, "rb").read()
    check_cuts(read_arc, path, data, cut_points(len(data), n=30, head=300, head_step=3), separator=1)


@pytest.mark.parametrize("name", ["cc-arc-1213893279526_0.arc", "IAH-20080430204825-00000-blackbook.arc.gz"])
def test_extra_real_arc_cut_anywhere(name):
    path = str(extra_path("arc", name))
    data = open(path, "rb").read()
    check_cuts(read_arc, path, data, cut_points(len(data), n=30, head=0), separator=1)


@pytest.mark.parametrize(
    "name",
    [
        "copycat-clueweb09-00.warc.gz",  # gzipped whole, no blank lines between records
        "wac-link-extraction-test.warc",  # Content-Lengths off by -4 and +1
        "warcio-example-wrong-chunks.warc.gz",  # a record over two gzip members
        "wac-IAH-urls-wget.warc.gz",  # wget 1.14
    ],
)
@pytest.mark.parametrize("packing", ["as_is", "uncompressed"])
def test_extra_real_warc_cut_anywhere(name, packing):
    path = str(extra_path("warc", name))
    data = open(path, "rb").read()
    if data[:2] != b"\x1f\x8b" and packing == "uncompressed":
        pytest.skip("the file is not gzipped: as_is reads it uncompressed")
    if data[:2] != b"\x1f\x8b" or packing == "uncompressed":
        data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        check_cuts(read_warc, path, data, cut_points(len(data), n=30, head=200, head_step=11), separator=4)
    else:
        starts = sorted(gzip_member_starts(data))
        check_cuts(
            read_warc, path, data, cut_points(len(data), n=30, head=0) + [s - 3 for s in starts[1:6]], separator=0
        )


def test_line_readers_cut_anywhere():
    """JSONL and conversation files gzipped and cut: the lines before the cut, then one
    error saying after which line (before: the reader raised, one error for the file)."""
    import json

    from curate.readers.conversations import MESSAGES_KIND, ConversationConfig, parse_file
    from curate.readers.records import RecordsConfig, read_jsonl

    lines = "".join(
        json.dumps(
            {
                "text": f"document {i} " * 20,
                "message_id": f"m{i}",
                "parent_id": None,
                "role": "user",
                "message_tree_id": f"t{i}",
            }
        )
        + "\n"
        for i in range(300)
    )
    data = gzip.compress(lines.encode(), mtime=0)
    for cut in range(20, len(data), max(1, len(data) // 15)):
        for items in (
            list(read_jsonl("c.jsonl.gz", io.BytesIO(data[:cut]), "docs", RecordsConfig())),
            list(parse_file(MESSAGES_KIND, "c.jsonl.gz", io.BytesIO(data[:cut]), "conv", ConversationConfig())),
        ):
            errors = [i for i in items if isinstance(i, ErrorRecord)]
            assert errors == items[-1:], cut
            read = len(items) - 1
            assert errors[0].locator == f"after line {read}" and "cut short" in errors[0].message
            assert not _INTERNAL.search(errors[0].message)


def test_exceptions_of_the_code_are_never_the_error_text(caplog):
    from curate.readers.common import TruncatedInput, data_error_text

    bug = AttributeError("'NoneType' object has no attribute 'startswith'")
    assert data_error_text(bug) == "malformed record data"
    assert "AttributeError" in caplog.text  # logged for the developer, with its traceback
    assert data_error_text(TruncatedInput("x")) == "the gzip data ends inside a member (the file is cut short)"
    assert data_error_text(zlib.error("invalid block type")) == "corrupt gzip data (invalid block type)"


def test_arc_version_2_headers_and_a_url_with_spaces():
    """ARC v2 (ten header fields, the version block says ``2``); a URL written with a space."""
    vb = b"2 0 Test\nURL IP-address Archive-date Content-type Result-code Checksum Location Offset Filename Archive-length\n"
    fd = b"filedesc://t.arc 0.0.0.0 20080101000000 text/plain 200 - - 0 t.arc %d\n" % len(vb) + vb + b"\n"
    body = http(PAGE)
    rec = (
        b"http://ex.com/a b.html 1.2.3.4 20080101000001 text/html 200 ABCDEF - 123 t.arc %d\n" % len(body)
        + body
        + b"\n"
    )
    items = read(read_arc, fd + rec)
    assert summary(items) == {"drop:record_warcinfo": 1, "doc": 1}
    assert urls(items) == ["http://ex.com/a%20b.html"] and items[1].html == PAGE.decode()
