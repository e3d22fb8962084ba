"""JSONL and Parquet readers: fields, ids, metadata, bad records, batched reading."""

from __future__ import annotations

import collections
import datetime
import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.config import ConfigError, build
from curate.document import Document, ErrorRecord, Rejected, make_id
from curate.readers.records import ParquetConfig, RecordsConfig, read_jsonl, read_parquet


def summary(items):
    return collections.Counter(
        "doc" if isinstance(i, Document) else f"drop:{i.reason}" if isinstance(i, Rejected) else "error" for i in items
    )


def jsonl(*lines) -> bytes:
    return ("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n").encode()


LINES = [
    {"text": "First document.", "id": "a1", "meta": {"url": "https://ex.com/1", "lang": "en"}, "score": 0.5},
    "",
    "{broken json",
    {"text": 42, "id": "a2"},
    {"body": "no text field", "id": "a3"},
    "[1, 2, 3]",
    {"text": "   ", "id": "a4"},
    {"text": "No id here."},
    {"text": "Second document.", "id": 7, "score": None},
]


def read_j(data: bytes, **options):
    return list(read_jsonl("c.jsonl", io.BytesIO(data), "docs", build(RecordsConfig, options)))


def test_jsonl_documents_errors_and_drops():
    opts = dict(id_field="id", metadata_fields=["score", "meta.lang"], url_field="meta.url")
    for data in (jsonl(*LINES), gzip.compress(jsonl(*LINES))):
        out = read_j(data, **opts)
        assert summary(out) == {"doc": 2, "error": 5, "drop:empty_text": 1}
        errors = [i for i in out if isinstance(i, ErrorRecord)]
        assert [e.locator for e in errors] == ["line 3", "line 4", "line 5", "line 6", "line 8"]
        assert "invalid JSON" in errors[0].message and "not a string" in errors[1].message
        assert "missing" in errors[2].message and "id field" in errors[4].message
        first, second = [d for d in out if isinstance(d, Document)]
        assert first.id == make_id("docs", "a1") and first.text == "First document."
        assert first.metadata["fields"] == {"score": 0.5, "meta.lang": "en"}
        assert first.provenance == {
            "input_file": "c.jsonl",
            "record_id": "a1",
            "locator": "line 1",
            "url": "https://ex.com/1",
        }
        assert second.provenance["record_id"] == "7" and "fields" not in second.metadata  # null not carried


def test_jsonl_ids_from_file_and_line_without_id_field():
    out = read_j(jsonl({"text": "x"}, {"text": "y"}))
    assert [d.id for d in out] == [make_id("docs", "c.jsonl", "line 1"), make_id("docs", "c.jsonl", "line 2")]
    assert out[0].provenance["record_id"] == "line 1"


def test_jsonl_gzip_members_and_zero_padding():
    members = gzip.compress(jsonl({"text": "one"})) + gzip.compress(jsonl({"text": "two"}))
    out = read_j(members + b"\x00" * 100)  # padded, as some writers do
    assert [d.text for d in out] == ["one", "two"]
    # not gzip after the members: an error after what came before, not a silent end
    out = read_j(members + b"garbage")
    assert [d.text for d in out[:2]] == ["one", "two"] and len(out) == 3
    assert out[2].locator == "after line 2" and "corrupt gzip data" in out[2].message


def test_jsonl_invalid_utf8_and_truncated_gzip():
    out = read_j(b'{"text": "ok"}\n{"text": "\xff\xfe"}\n')
    assert summary(out) == {"doc": 1, "error": 1}
    data = gzip.compress(jsonl(*[{"text": f"doc {i}"} for i in range(2000)]))
    out = read_j(data[: len(data) // 2])  # the lines before the cut, then one error naming where
    assert summary(out)["error"] == 1 and summary(out)["doc"] > 100 and isinstance(out[-1], ErrorRecord)
    assert out[-1].locator == f"after line {summary(out)['doc']}" and "cut short" in out[-1].message


def parquet_bytes(table: pa.Table, row_group_size: int) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=row_group_size)
    return buf.getvalue()


def read_p(data: bytes, **options):
    return list(read_parquet("d.parquet", io.BytesIO(data), "docs", build(ParquetConfig, options)))


def test_parquet_rows_in_batches_with_metadata():
    n = 2500
    table = pa.table(
        {
            "content": [None if i == 5 else ("" if i == 6 else f"row {i}") for i in range(n)],
            "doc_id": [f"id{i}" for i in range(n)],
            "when": [datetime.datetime(2024, 1, 1) + datetime.timedelta(hours=i) for i in range(n)],
            "info": [{"src": "s", "n": i} for i in range(n)],
            "big_unused": ["x" * 100] * n,
        }
    )
    out = read_p(
        parquet_bytes(table, 700),
        text_field="content",
        id_field="doc_id",
        metadata_fields=["info.src", "when"],
        batch_rows=300,
    )
    assert summary(out) == {"doc": n - 2, "error": 1, "drop:empty_text": 1}
    err = next(i for i in out if isinstance(i, ErrorRecord))
    assert err.locator == "row 5" and "missing" in err.message
    docs = [d for d in out if isinstance(d, Document)]
    assert docs[0].metadata["fields"] == {"info.src": "s", "when": "2024-01-01T00:00:00"}
    assert docs[-1].text == f"row {n - 1}" and docs[-1].provenance["locator"] == f"row {n - 1}"
    assert docs[-1].id == make_id("docs", f"id{n - 1}")


def test_parquet_reads_only_the_columns_it_needs(monkeypatch):
    seen = []
    real = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        seen.append((kwargs.get("columns"), kwargs.get("batch_size")))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    table = pa.table({"text": ["a", "b"], "other": [1, 2]})
    assert summary(read_p(parquet_bytes(table, 1), batch_rows=7)) == {"doc": 2}
    assert seen == [(["text"], 7)]


def test_parquet_file_level_errors():
    no_text = parquet_bytes(pa.table({"body": ["a"]}), 10)
    (err,) = read_p(no_text)
    assert isinstance(err, ErrorRecord) and err.locator == "file" and "no column 'text'" in err.message
    numbers = parquet_bytes(pa.table({"text": [1, 2, 3]}), 10)
    (err,) = read_p(numbers)
    assert "int64, not a string" in err.message
    (err,) = read_p(parquet_bytes(pa.table({"text": ["a"]}), 10), id_field="missing_id")
    assert "no column 'missing_id'" in err.message
    with pytest.raises(Exception):  # not Parquet at all: the glue records one error for the file
        read_p(b"not a parquet file")
    with pytest.raises(ConfigError, match="batch_rows"):
        build(ParquetConfig, {"batch_rows": 0})
