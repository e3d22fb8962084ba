"""The WET reader resynchronises after damage as the WARC reader does (it runs on the same
record loop): one error per damaged region, naming the file and the bytes skipped, and every
record after it read with the offsets and ids an undamaged copy gives. Before, reading
stopped at the damage and every record after it was lost."""

from __future__ import annotations

import gzip
import io
import random
import re

from curate.document import Document, ErrorRecord
from curate.readers.wet import WetConfig, read_wet
from tests.conftest import shared_path
from tests.test_warc_resync import errors, record_starts, records
from tests.test_warc_split import member_starts
from tests.test_web_formats import warc_record

RNG = random.Random(7)
# texts that do not compress away: damage inside a member hits its deflate data
TEXTS = [" ".join(RNG.choice(["alpha", "beta", "gamma", "delta", "épsilon"]) for _ in range(300)) for _ in range(6)]
RECORDS = [
    warc_record(
        "conversion",
        t.encode(),
        WARC_Record_ID=f"<urn:uuid:{i}>",
        WARC_Target_URI=f"https://a.org/{i}",
        Content_Type="text/plain",
    )
    for i, t in enumerate(TEXTS)
]
RAW = b"".join(RECORDS)
PER_RECORD = b"".join(gzip.compress(r, mtime=0) for r in RECORDS)  # how Common Crawl writes WET


def read(data: bytes, path: str = "t.wet.gz"):
    return list(read_wet(path, io.BytesIO(data), "web", WetConfig()))


def test_undamaged_fixtures_read_whole():
    for data, path in ((RAW, "t.wet"), (PER_RECORD, "t.wet.gz"), (gzip.compress(RAW, mtime=0), "t.wet.gz")):
        items = read(data, path)
        assert not errors(items) and len(records(items)) == len(RECORDS)


def test_a_corrupt_member_in_the_middle_of_per_record_gzip_is_one_error_and_the_rest_is_read():
    starts = member_starts(PER_RECORD)
    bad = bytearray(PER_RECORD)
    for k in range(starts[2] + 40, starts[2] + 60):  # inside the deflate data, header intact
        bad[k] ^= 0x55
    items = read(bytes(bad))
    (error,) = errors(items)
    assert error.input_file == "t.wet.gz" and error.locator == f"offset:{starts[2]}" and error.stage == "read"
    assert "corrupt gzip data" in error.message
    assert f"{starts[3] - starts[2]} bytes at offsets {starts[2]}-{starts[3]} skipped" in error.message
    assert "reading resumed at the next record" in error.message
    good = read(PER_RECORD)
    assert records(items) == records(good[:2] + good[3:])  # same ids and offsets as undamaged
    assert [d.text for d in items if isinstance(d, Document)] == [TEXTS[i] for i in (0, 1, 3, 4, 5)]


def test_a_foreign_member_between_members_is_one_error():
    starts = member_starts(PER_RECORD)
    foreign = gzip.compress(b"no WARC record in here\n" * 20, mtime=0)
    bad = PER_RECORD[: starts[3]] + foreign + PER_RECORD[starts[3] :]
    items = read(bad)
    (error,) = errors(items)
    assert f"{len(foreign)} bytes at offsets {starts[3]}-{starts[3] + len(foreign)} skipped" in error.message
    good = read(PER_RECORD)
    shifted = [(i, o + len(foreign) if o >= starts[3] else o) for i, o in records(good)]
    assert records(items) == shifted


def test_garbage_between_uncompressed_records_is_one_error():
    starts = record_starts(RAW)
    good = read(RAW, "t.wet")
    for junk in (b"\x00\xff binary junk \x01\n" * 20, b"some text\r\nWARC/1.0\r\n\r\nmore text\r\n" * 3):
        bad = RAW[: starts[3]] + junk + RAW[starts[3] :]
        items = read(bad, "t.wet")
        (error,) = errors(items)
        assert error.input_file == "t.wet" and error.locator == f"offset:{starts[2]}", junk
        # bytes that are no record, counted; or, with a WARC/ line among them, a damaged stretch
        assert (
            f"{len(junk)} bytes after the record at offset {starts[2]} skipped" in error.message
            or f"after the record at offset {starts[2]}: 11 bytes that are no record header, then a record header "
            f"block with no valid Content-Length"
            in error.message
            and f"up to offset {starts[3] + len(junk)} skipped" in error.message
        ), junk
        shifted = [(i, o + len(junk) if o >= starts[3] else o) for i, o in records(good)]
        assert records(items) == shifted, junk


def test_garbage_over_a_record_start_loses_that_record_only():
    starts = record_starts(RAW)
    bad = RAW[: starts[2]] + b"#" * 40 + RAW[starts[2] + 40 :]  # record 2's header overwritten
    items = read(bad, "t.wet")
    (error,) = errors(items)
    assert f"at offsets {starts[1]}" in error.message or f"after the record at offset {starts[1]}" in error.message
    good = read(RAW, "t.wet")
    assert records(items) == records(good[:2] + good[3:])


def test_a_record_without_content_length_is_one_error():
    starts = record_starts(RAW)
    # the same length: the records after it keep their offsets
    bad = (
        RAW[: starts[2]] + RAW[starts[2] : starts[3]].replace(b"Content-Length:", b"Content-Lengxx:") + RAW[starts[3] :]
    )
    assert len(bad) == len(RAW)
    items = read(bad, "t.wet")
    (error,) = errors(items)
    assert f"at offset {starts[2]}: a record header block with no valid Content-Length" in error.message
    assert f"at offsets {starts[2]}-{starts[3]} skipped" in error.message
    good = read(RAW, "t.wet")
    assert records(items) == records(good[:2] + good[3:])
    # gzipped per record: the same
    members = [gzip.compress(r, mtime=0) for r in RECORDS]
    members[2] = gzip.compress(re.sub(rb"Content-Length: \d+\r\n", b"", RECORDS[2], count=1), mtime=0)
    items = read(b"".join(members))
    (error,) = errors(items)
    assert "no valid Content-Length" in error.message and "reading resumed at the next record" in error.message
    good = read(PER_RECORD)
    assert [i for i, _ in records(items)] == [i for i, _ in records(good[:2] + good[3:])]


def test_a_whole_file_gzip_stops_and_says_it_cannot_resume():
    starts = record_starts(RAW)
    no_length = re.sub(rb"Content-Length: \d+\r\n", b"", RAW[starts[2] : starts[3]], count=1)
    items = read(gzip.compress(RAW[: starts[2]] + no_length + RAW[starts[3] :], mtime=0))
    (error,) = errors(items)
    assert "reading cannot resume" in error.message
    assert len(records(items)) == 2  # the records before it


def test_a_cut_wet_file_keeps_every_record_before_the_cut():
    starts = member_starts(PER_RECORD)
    items = read(PER_RECORD[: starts[4] + 30])
    assert len(records(items)) == 4 and len(errors(items)) == 1
    assert all(isinstance(e, ErrorRecord) and e.input_file == "t.wet.gz" for e in errors(items))


def test_the_real_wet_with_garbage_between_its_members():
    path = shared_path("warc", "cc-main-2024-22-whirlwind.warc.wet.gz")
    data = path.read_bytes()
    starts = member_starts(data)
    junk = b"\x1f\x8b\x08 garbage " * 5
    bad = data[: starts[1]] + junk + data[starts[1] :]
    good, items = read(data, str(path)), read(bad, str(path))
    (error,) = errors(items)
    assert f"{len(junk)} bytes at offsets {starts[1]}-{starts[1] + len(junk)} skipped" in error.message
    assert [i for i, _ in records(items)] == [i for i, _ in records(good)]
    assert [d.text for d in items if isinstance(d, Document)] == [d.text for d in good if isinstance(d, Document)]
