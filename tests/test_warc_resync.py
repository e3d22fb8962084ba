"""The WARC reader resynchronises after damage: one error per damaged region, naming the
bytes skipped, and every record after it read with the offsets and ids an undamaged copy
gives (before, reading stopped at the damage and every record after it was lost)."""

from __future__ import annotations

import gzip
import io
import random
import re

from curate.document import Document, ErrorRecord
from curate.readers.warc import WarcConfig, read_warc
from tests.test_warc_split import PAGE, RECORDS, every_split, in_ranges, member_starts
from tests.warc_fixtures import response, warc_bytes

PAGES = [response(f"http://a.org/{i}", PAGE) for i in range(6)]


def read(data: bytes, path: str = "t.warc.gz"):
    return list(read_warc(path, io.BytesIO(data), "web", WarcConfig()))


def errors(items):
    return [i for i in items if isinstance(i, ErrorRecord)]


def records(items):
    """(id, offset) of every item that is a record's (documents, drops, record errors)."""
    out = []
    for i in items:
        doc = i if isinstance(i, Document) else getattr(i, "doc", None)
        if doc is not None:
            out.append((doc.id, doc.provenance["offset"]))
    return out


def record_starts(raw: bytes):
    return [m.start() for m in re.finditer(rb"WARC/1\.\d\r\n", raw)]


def test_a_corrupt_member_in_the_middle_is_one_error_and_the_records_after_it_are_read():
    data = warc_bytes(PAGES)
    starts = member_starts(data)
    bad = bytearray(data)
    for k in range(starts[2] + 40, starts[2] + 60):  # inside the deflate data, header intact
        bad[k] ^= 0x55
    items = read(bytes(bad))
    good = read(data)
    (error,) = errors(items)
    assert error.input_file == "t.warc.gz" and error.locator == f"offset:{starts[2]}"
    assert f"{starts[3] - starts[2]} bytes at offsets {starts[2]}-{starts[3]} skipped" in error.message
    assert "reading resumed at the next record" in error.message
    assert records(items) == records(good[:2] + good[3:])  # same ids and offsets as undamaged
    for bounds in every_split(bytes(bad)):
        assert in_ranges(bytes(bad), bounds) == items, bounds


def test_corruption_late_in_a_member_is_damage_not_a_silent_cut():
    """warcio wrote a mid-member zlib error to stderr and returned no data: the record looked
    truncated and what followed in the member was lost without a word."""
    big = response("http://a.org/big", PAGE * 40)
    data = warc_bytes([PAGES[0], big, PAGES[1]])
    starts = member_starts(data)
    bad = bytearray(data)
    for k in range(starts[2] - 200, starts[2] - 150):
        bad[k] ^= 0xFF
    items = read(bytes(bad))
    (error,) = errors(items)
    assert f"at offset {starts[1]}: corrupt gzip data" in error.message
    assert [i.provenance["url"] for i in items if isinstance(i, Document)] == ["http://a.org/0", "http://a.org/1"]


def test_a_member_with_a_bad_crc_is_the_error_and_the_next_one_is_read():
    data = warc_bytes(PAGES[:3])
    starts = member_starts(data)
    bad = bytearray(data)
    bad[starts[2] - 8] ^= 0xFF  # the CRC of the second member: its record is not to be trusted
    items = read(bytes(bad))
    (error,) = errors(items)
    assert (
        f"at offset {starts[1]}: corrupt gzip data (Error -3 while decompressing data: incorrect data check)"
        in error.message
    )
    assert f"at offsets {starts[1]}-{starts[2]} skipped" in error.message
    assert [o for _, o in records(items)] == [starts[0], starts[2]]


def test_garbage_between_members_is_one_error():
    data = warc_bytes(PAGES)
    starts = member_starts(data)
    junk = b"\x1f\x8b\x08 not a member " * 7
    bad = data[: starts[3]] + junk + data[starts[3] :]
    items = read(bad)
    (error,) = errors(items)
    assert f"{len(junk)} bytes at offsets {starts[3]}-{starts[3] + len(junk)} skipped" in error.message
    good = read(data)
    assert [i for i, _ in records(items)] == [i for i, _ in records(good)]  # every record, ids unchanged
    for bounds in every_split(bad):
        assert in_ranges(bad, bounds) == items, bounds


def test_two_damaged_regions_are_two_errors():
    data = warc_bytes(RECORDS)
    starts = member_starts(data)
    bad = data[: starts[4]] + b"junk" * 30 + data[starts[4] : starts[12]] + b"more junk\n" * 9 + data[starts[12] :]
    items = read(bad)
    assert len(errors(items)) == 2 and len(records(items)) == len(RECORDS)
    for bounds in every_split(bad):
        assert in_ranges(bad, bounds) == items, bounds


def test_garbage_between_uncompressed_records_is_one_error():
    raw = warc_bytes(PAGES, compress=False)
    starts = record_starts(raw)
    # junk that runs into the next record's version line with no line end takes it along
    for junk in (b"\x00\xff binary junk \x01\n" * 20, b"some text\r\nWARC/1.0\r\n\r\nmore text\r\n" * 3):
        bad = raw[: starts[3]] + junk + raw[starts[3] :]
        items = read(bad, "t.warc")
        assert len(errors(items)) == 1, junk
        assert len(records(items)) == len(PAGES), junk


def test_garbage_before_the_first_uncompressed_record_is_one_error():
    raw = warc_bytes(PAGES, compress=False)
    items = read(b"this is no WARC record\r\n" * 5 + raw, "t.warc")
    (error,) = errors(items)
    assert "120 bytes at offsets 0-120 skipped" in error.message
    assert len(records(items)) == len(PAGES)


def test_a_record_without_content_length_in_the_middle_is_one_error():
    raw = warc_bytes(PAGES, compress=False)
    starts = record_starts(raw)
    cut = raw[starts[2] : starts[3]]
    no_length = re.sub(rb"Content-Length: \d+\r\n", b"", cut, count=1)
    bad = raw[: starts[2]] + no_length + raw[starts[3] :]
    items = read(bad, "t.warc")
    (error,) = errors(items)
    shift = len(cut) - len(no_length)
    assert f"at offset {starts[2]}: a record header block with no valid Content-Length" in error.message
    assert f"at offsets {starts[2]}-{starts[3] - shift} skipped" in error.message
    good = read(raw, "t.warc")
    assert [i for i, _ in records(items)] == [i for i, _ in records(good[:2] + good[3:])]
    # gzipped per record: the same, offsets as undamaged
    members = [gzip.compress(raw[a:b], mtime=0) for a, b in zip(starts, starts[1:] + [len(raw)])]
    members[2] = gzip.compress(no_length, mtime=0)
    items = read(b"".join(members))
    assert len(errors(items)) == 1 and len(records(items)) == len(PAGES) - 1


def test_a_whole_file_gzip_is_not_resynchronised_and_says_so():
    raw = warc_bytes(PAGES, compress=False)
    starts = record_starts(raw)
    cut = raw[starts[2] : starts[3]]
    no_length = re.sub(rb"Content-Length: \d+\r\n", b"", cut, count=1)
    items = read(gzip.compress(raw[: starts[2]] + no_length + raw[starts[3] :], mtime=0))
    (error,) = errors(items)
    assert "gzip members do not each start a record" in error.message
    assert len(records(items)) == 2  # the records before it; those after it cannot be found
    rng = random.Random(0)  # pages that do not compress away: the damage past warcio's first block
    pages = [response(f"http://a.org/{i}", PAGE + rng.randbytes(2000).hex().encode()) for i in range(30)]
    damaged = bytearray(gzip.compress(warc_bytes(pages, compress=False), mtime=0))
    damaged[len(damaged) * 3 // 4] ^= 0xFF
    items = read(bytes(damaged))
    (error,) = errors(items)
    assert "corrupt gzip data" in error.message and "reading cannot resume" in error.message
    assert 10 < len(records(items)) < 30  # the records before the damage


def test_a_version_line_at_the_end_of_the_read_buffer_starts_a_record():
    """Between records a ``WARC/`` line starts the next record wherever warcio's 16 KB read
    buffer ends: a first version of the resync looked into that buffer for a header line
    after it and skipped such records (2 of 2,000 in an uncompressed Common Crawl file)."""
    second = warc_bytes([PAGES[1]], compress=False)
    for j in range(0, 40, 3):  # the buffer ends j bytes after the next record's version line
        target = 16384 - len(b"WARC/1.0\r\n") - j
        n = target - len(warc_bytes([response("http://a.org/0", b"")], compress=False))
        while len(first := warc_bytes([response("http://a.org/0", b"x" * n)], compress=False)) != target:
            n += target - len(first)
        items = read(first + second, "t.warc")
        assert not errors(items) and len(records(items)) == 2, j
