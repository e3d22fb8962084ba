"""Reading one per-record-gzipped WARC in byte ranges gives exactly the whole-file reader's
items, in order, whatever the split points."""

import gzip
import io

import pytest

from curate.document import ErrorRecord
from curate.readers.warc import WarcConfig, next_member_start, read_warc, read_warc_range, splits_by_member
from tests.conftest import shared_path
from tests.warc_fixtures import html_page, other, response, warc_bytes

PAGE = html_page("Hi", ["Hello there, friend."] * 20).encode()
RECORDS = [other("warcinfo", "")] + [
    r
    for i in range(4)
    for r in (
        other("request", f"http://a.org/{i}"),
        response(f"http://a.org/{i}", PAGE),
        other("metadata", f"http://a.org/{i}"),
        response(f"http://a.org/{i}.png", b"\x89PNG", content_type="image/png"),
        response(f"http://a.org/{i}/gone", PAGE, status="404 Not Found"),
    )
]


def whole(data: bytes):
    return list(read_warc("t.warc.gz", io.BytesIO(data), "web", WarcConfig()))


def in_ranges(data: bytes, bounds):
    f = io.BytesIO(data)
    items = []
    for start, stop in zip(bounds, bounds[1:]):
        items += [item for _, item in read_warc_range("t.warc.gz", f, "web", WarcConfig(), start, stop, len(data))]
    return items


def member_starts(data: bytes):
    f, starts, pos = io.BytesIO(data), [], 0
    while (pos := next_member_start(f, pos, len(data))) < len(data):
        starts.append(pos)
        pos += 1
    return starts


def every_split(data: bytes):
    """Bounds for chunk sizes from a few hundred bytes (split points inside members and on
    them) to the whole file, plus splits exactly on each member boundary."""
    size = len(data)
    yield [0, size]
    for chunk in (97, 200, 311, 512, 1000, 2048, size // 2 + 1, size - 1):
        yield sorted(set(range(0, size, chunk)) | {size})
    starts = member_starts(data)
    yield sorted(set(starts) | {0, size})
    yield sorted(set(s + 1 for s in starts) | {0, size})  # one byte into every member
    yield sorted(set(s - 1 for s in starts if s) | {0, size})  # one byte before every member


def test_member_starts_are_the_record_offsets():
    data = warc_bytes(RECORDS)
    offsets = [i.doc.provenance["offset"] if hasattr(i, "doc") else i.provenance["offset"] for i in whole(data)]
    assert member_starts(data) == offsets and len(offsets) == len(RECORDS)


def test_every_split_gives_the_whole_file_items_in_order():
    data = warc_bytes(RECORDS)
    expected = whole(data)
    assert len(expected) == len(RECORDS)
    for bounds in every_split(data):
        assert in_ranges(data, bounds) == expected, bounds


def test_positions_are_record_offsets_in_file_order():
    data = warc_bytes(RECORDS)
    f = io.BytesIO(data)
    positions = [p for p, _ in read_warc_range("t", f, "web", WarcConfig(), 0, len(data), len(data))]
    assert positions == member_starts(data)


@pytest.mark.parametrize("damage", ["last_member_cut", "last_record_cut", "garbage_tail", "first_of_three_bytes"])
def test_damaged_files_give_the_same_records_and_errors_in_every_split(damage):
    data = warc_bytes(RECORDS + [response("http://a.org/last", PAGE)])  # a body the reader reads
    if damage == "last_member_cut":
        data = data[:-40]  # into the body: cut deeper, into the HTTP headers, reads as not_html
    elif damage == "last_record_cut":
        last = gzip.decompress(data[member_starts(data)[-1] :])
        data = data[: member_starts(data)[-1]] + gzip.compress(last[:-300], mtime=0)
    elif damage == "garbage_tail":
        data += b"this is not a WARC record\r\n\r\n" * 3
    else:  # two whole members and the first 30 bytes of the next one
        page_only = warc_bytes([response(f"http://a.org/{i}", PAGE) for i in range(3)])
        data = page_only[: member_starts(page_only)[2] + 30]
    expected = whole(data)
    assert isinstance(expected[-1], ErrorRecord)
    for bounds in every_split(data):
        assert in_ranges(data, bounds) == expected, bounds


def test_uncompressed_and_whole_file_gzip_are_not_split():
    raw = warc_bytes(RECORDS, compress=False)
    for data in (raw, gzip.compress(raw, mtime=0), b""):
        assert not splits_by_member(io.BytesIO(data), len(data), 1 << 20)
    data = warc_bytes(RECORDS)
    assert splits_by_member(io.BytesIO(data), len(data), 1 << 20)
    # a first member longer than the probe: read whole rather than scan a giant member
    assert not splits_by_member(io.BytesIO(data), len(data), 10)


def test_real_warcs_read_in_ranges_match_the_whole_file_reader():
    for path in sorted(shared_path("warc").glob("*.warc.gz")):
        data = path.read_bytes()
        expected = list(read_warc(str(path), io.BytesIO(data), "web", WarcConfig()))
        if not splits_by_member(io.BytesIO(data), len(data), 1 << 20):
            continue  # read whole (one gzip member over the file)
        for chunk in (4096, 50_000, len(data)):
            bounds = sorted(set(range(0, len(data), chunk)) | {len(data)})
            f = io.BytesIO(data)
            got = [
                i
                for a, b in zip(bounds, bounds[1:])
                for _, i in read_warc_range(str(path), f, "web", WarcConfig(), a, b, len(data))
            ]
            assert got == expected, (path.name, chunk)


def test_split_bytes_option_is_validated():
    from curate.config import ConfigError, build
    from curate.readers.warc import WarcReadConfig

    assert build(WarcReadConfig, {"split_bytes": 16777216}, "inputs[0].options").split_bytes == 16777216
    with pytest.raises(ConfigError, match=r"inputs\[0\]\.options\.split_bytes"):
        build(WarcReadConfig, {"split_bytes": -1}, "inputs[0].options")


def test_damage_mid_file_gives_the_same_records_and_error_in_every_split():
    # Before the reader resynchronised, this was the one difference (why split_bytes was off
    # by default): read whole, reading stopped at the damage; in ranges, later ranges went on.
    data = warc_bytes(RECORDS)
    starts = member_starts(data)
    bad = data[: starts[5] + 20] + b"\x00garbage" * 5 + data[starts[5] + 60 :]
    expected = whole(bad)
    errors = [i for i in expected if isinstance(i, ErrorRecord)]
    assert len(expected) == len(RECORDS) and len(errors) == 1  # the damaged record is the error
    assert f"bytes at offsets {starts[5]}-{starts[6]} skipped" in errors[0].message
    assert expected[6:] == whole(data)[6:]  # the records after it, ids and offsets as undamaged
    for bounds in every_split(bad):
        assert in_ranges(bad, bounds) == expected, bounds
