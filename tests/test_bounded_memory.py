"""Bounded memory (issue 8): every reader drops a record over its size limit without
reading it whole, a gzip bomb expands only as far as a reader asks, extraction of one
page is bounded in size, time and memory, and ``max_doc_chars`` guards tokenization.

Peak memory is measured with tracemalloc (Python allocations, which is where a reader
would hold a record) around reads of records 16-64 times larger than the bound asserted;
bench/bench_bad_inputs.py measures whole runs' peak RSS."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
import zlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.config import build
from curate.document import Document, Rejected
from curate.extract import Extract, ExtractConfig, ExtractionFailed
from curate.readers.arc import read_arc
from curate.readers.conversations import MESSAGES_KIND, ConversationConfig, parse_file
from curate.readers.records import ParquetConfig, RecordsConfig, read_jsonl, read_parquet
from curate.readers.warc import WarcConfig, read_warc
from curate.readers.wet import WetConfig, read_wet
from curate.sandbox import CallTimeout, ChildFailed, Sandbox
from tests.test_web_formats import arc_record, warc_record

MB = 1 << 20


def kinds(items):
    return [
        "doc" if isinstance(i, Document) else f"drop:{i.reason}" if isinstance(i, Rejected) else "error" for i in items
    ]


def peak_of(fn):
    """(result, peak bytes Python allocated while ``fn`` ran)."""
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def gzip_bomb(prefix: bytes, fill: bytes, size: int, suffix: bytes = b"") -> bytes:
    """One gzip member: ``prefix``, ``size`` bytes of ``fill``, ``suffix``; built in blocks
    (the expanded data is never in memory here either)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = (fill * (MB // len(fill) + 1))[:MB]
    out = [z.compress(prefix)]
    for _ in range(size // MB):
        out.append(z.compress(block))
    out += [z.compress(block[: size % MB]), z.compress(suffix), z.flush()]
    return b"".join(out)


# ----------------------------------------------------------------------------- JSONL, conversations, Parquet


def test_jsonl_line_over_the_limit_is_dropped_unparsed():
    lines = [json.dumps({"text": "short one"}), json.dumps({"text": "x" * 5000}), json.dumps({"text": "short two"})]
    data = ("\n".join(lines) + "\n").encode()
    out = list(read_jsonl("d.jsonl", io.BytesIO(data), "docs", build(RecordsConfig, {"max_record_bytes": 1000})))
    assert kinds(out) == ["doc", "drop:too_large", "doc"]
    assert out[1].doc.provenance["record_id"] == "line 2" and out[1].details == {"max_record_bytes": 1000}


def test_jsonl_gzip_bomb_line_stays_within_the_limit():
    """A 64 MB line of a 64 KB gzip file: read past in blocks, never held."""
    bomb = gzip_bomb(b'{"text": "', b"a", 64 * MB, b'"}\n') + gzip.compress(b'{"text": "after"}\n')
    cfg = build(RecordsConfig, {"max_record_bytes": 1 * MB})
    out, peak = peak_of(lambda: list(read_jsonl("b.jsonl.gz", io.BytesIO(bomb), "docs", cfg)))
    assert kinds(out) == ["drop:too_large", "doc"] and out[1].text == "after"
    assert peak < 8 * MB, peak


def test_conversation_line_over_the_limit_is_dropped_unparsed():
    def msg(mid, text):
        return json.dumps(
            {
                "message_id": mid,
                "parent_id": None,
                "role": "user",
                "text": text,
                "message_tree_id": "t",
            }
        )

    data = (msg("a", "hi") + "\n" + msg("b", "y" * 5000) + "\n").encode()
    out = list(
        parse_file(MESSAGES_KIND, "m.jsonl", io.BytesIO(data), "conv", ConversationConfig(max_record_bytes=1000))
    )
    assert isinstance(out[0], tuple) and isinstance(out[1], Rejected) and out[1].reason == "too_large"


def test_parquet_text_over_the_limit_is_dropped_before_it_becomes_a_string():
    table = pa.table({"text": ["short", "é" * 600, "also short"], "id": ["a", "b", "c"]})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    cfg = build(ParquetConfig, {"max_record_bytes": 1000, "id_field": "id"})
    out = list(read_parquet("p.parquet", io.BytesIO(buf.getvalue()), "docs", cfg))
    assert kinds(out) == ["doc", "drop:too_large", "doc"]  # 600 characters, 1200 UTF-8 bytes
    assert [d.text for d in out if isinstance(d, Document)] == ["short", "also short"]
    assert out[1].doc.provenance["record_id"] == "row 1"


# ----------------------------------------------------------------------------- WARC, WET, ARC


def test_warc_gzip_bomb_body_is_dropped_and_never_decoded():
    page = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    size = 64 * MB
    head = warc_record(
        "response",
        b"",
        WARC_Target_URI="http://bomb/",
        WARC_Record_ID="<urn:uuid:b>",
        Content_Type="application/http; msgtype=response",
    )
    head = head.replace(b"Content-Length: 0", f"Content-Length: {len(page) + size}".encode())[:-4]  # no body yet
    bomb = gzip_bomb(head + page, b"<p>", size, b"\r\n\r\n")
    after = gzip.compress(
        warc_record(
            "response",
            page + b"<p>ok</p>",
            WARC_Target_URI="http://after/",
            WARC_Record_ID="<urn:uuid:a>",
            Content_Type="application/http; msgtype=response",
        )
    )
    out, peak = peak_of(
        lambda: list(read_warc("b.warc.gz", io.BytesIO(bomb + after), "web", WarcConfig(max_body_bytes=MB)))
    )
    assert kinds(out) == ["drop:too_large", "doc"]
    assert peak < 8 * MB, peak  # max_body_bytes and a step of inflation (warcio alone inflated 16 MB a block)


def test_warc_bomb_without_line_ends_is_an_error_not_a_huge_line():
    bomb = gzip_bomb(b"WARC/1.0\r\nWARC-Type: response\r\nX: ", b"z", 64 * MB)
    out, peak = peak_of(lambda: list(read_warc("b.warc.gz", io.BytesIO(bomb), "web", WarcConfig())))
    assert kinds(out) == ["error"] and "header lines" in out[0].message
    assert peak < 16 * MB, peak


def test_wet_body_over_the_limit_is_dropped():
    recs = [
        warc_record("conversion", b"t" * 5000, WARC_Record_ID="<urn:uuid:1>", Content_Type="text/plain"),
        warc_record("conversion", b"fine", WARC_Record_ID="<urn:uuid:2>", Content_Type="text/plain"),
    ]
    out = list(read_wet("x.wet", io.BytesIO(b"".join(recs)), "web", build(WetConfig, {"max_body_bytes": 1000})))
    assert kinds(out) == ["drop:too_large", "doc"]


def test_arc_gzip_bomb_record_is_dropped_and_the_next_read():
    size = 64 * MB
    http_head = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n"
    head = f"http://bomb/ 1.2.3.4 20090101000000 text/html {size + len(http_head)}\n".encode() + http_head
    bomb = gzip_bomb(head, b"<p>", size, b"\n")
    after = gzip.compress(
        arc_record(
            "http://after/",
            "20090101000001",
            "text/html",
            b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<p>ok</p>",
        )
    )
    out, peak = peak_of(
        lambda: list(read_arc("b.arc.gz", io.BytesIO(bomb + after), "web", WarcConfig(max_body_bytes=MB)))
    )
    assert kinds(out) == ["drop:too_large", "doc"]
    assert peak < 8 * MB, peak


# ----------------------------------------------------------------------------- extraction


def test_sandbox_stops_a_call_over_its_time_limit_and_goes_on():
    box = Sandbox("time:sleep", timeout=0.5)
    with pytest.raises(CallTimeout):
        box.call(30)
    assert box.call(0) is None  # a new child answers the next call
    bad = Sandbox("json:loads", timeout=5)
    with pytest.raises(ChildFailed, match="JSONDecodeError"):
        bad.call("{not json")
    box.close()
    bad.close()


def extract_stage(config):
    """The extract stage after its setup (the pipeline calls it once per worker)."""
    stage = Extract(config)
    stage.setup()
    return stage


def page(n_paragraphs: int) -> str:
    para = "<p>" + "A sentence about the harbour and its ships, long enough to keep. " * 3 + "</p>\n"
    return "<html><body><article>" + para * n_paragraphs + "</article></body></html>"


def test_extraction_in_the_sandbox_equals_extraction_in_process():
    html = page(20)
    texts = []
    for timeout in (None, 30):
        ex = extract_stage(ExtractConfig(timeout_seconds=timeout))
        texts.append(ex.process(Document("1", "", "web", {"url": "http://x/"}, html=html)).text)
    assert texts[0] == texts[1] and "harbour" in texts[0]


def test_a_page_over_the_limits_is_dropped_or_an_error_naming_its_url():
    big = page(4000)  # ~1 MB of HTML

    def doc():
        return Document("1", "", "web", {"url": "http://slow.example/"}, html=big)

    drop = extract_stage(ExtractConfig(max_html_chars=100_000)).process(doc())
    assert drop.reason == "too_large" and drop.details["html_chars"] == len(big)
    with pytest.raises(ExtractionFailed, match=r"http://slow\.example/ .*stopped after 0\.05 s"):
        extract_stage(ExtractConfig(timeout_seconds=0.05)).process(doc())
    huge = Document("2", "", "web", {"url": "http://huge.example/"}, html=page(80_000))  # ~20 MB
    with pytest.raises(ExtractionFailed, match=r"http://huge\.example/ .*out of memory \(the limit is 256 MB\)"):
        extract_stage(ExtractConfig(timeout_seconds=120, max_memory_mb=256, max_html_chars=None)).process(huge)


# ----------------------------------------------------------------------------- tokenization


def test_max_doc_chars_drops_before_tokenization():
    from curate.config import TokenizerConfig
    from curate.tokenize import train_model
    from pipelines.output import Tokenize

    model = train_model(["short text here", "another short line"] * 50, vocab_size=400)
    cfg = build(TokenizerConfig, {"train": {"vocab_size": 400}, "max_doc_chars": 100})
    fn = Tokenize(cfg, {})  # no mixture weights
    fn.start_bundle()
    long_doc = Document("l", "word " * 100, "docs", {})
    (out,) = list(fn.process(long_doc, model))
    assert out.tag == "rejected" and out.value.key == "tokenize:too_long"
    assert out.value.details == {"chars": 500, "max_doc_chars": 100}
    assert list(fn.process(Document("s", "short text", "docs", {}), model)) == []  # encoded with its batch
    (row,) = [w.value for w in fn.finish_bundle()]
    assert row["num_tokens"] > 0


def test_local_run_imports_beam_without_remote_service_clients(tmp_path):
    """`curate run` on local files imports Beam without its GCP and MongoDB modules
    (~44 MB of RSS, pipelines/cli.py), which stay importable; a run with a remote path
    or runner leaves the import to Beam as usual."""
    import subprocess
    import sys

    (tmp_path / "docs.jsonl").write_text('{"id": "a", "text": "x"}\n')
    config = tmp_path / "run.yaml"
    config.write_text(
        f"inputs:\n  - kind: jsonl\n    name: docs\n    paths: [{tmp_path}/*.jsonl]\n"
        "tokenizer:\n  train: {vocab_size: 100}\n"
    )
    script = f"""
import importlib.util, sys
from curate import config
from pipelines import cli
cfg = config.load({str(config)!r})
cli._import_beam_for_local_run(cfg, "gs://bucket/out", [])
cli._import_beam_for_local_run(cfg, {str(tmp_path / "out")!r}, ["--runner", "DataflowRunner"])
assert "apache_beam" not in sys.modules, "a remote path or runner: Beam's own import"
cli._import_beam_for_local_run(cfg, {str(tmp_path / "out")!r}, [])
import apache_beam
skipped = [m for m in ("apache_beam.io.gcp", "google.cloud.dataflow", "pymongo", "bson") if m in sys.modules]
assert not skipped, skipped
if importlib.util.find_spec("google.cloud.storage") is not None:  # the [gcp] extra installed
    import apache_beam.io.gcp.gcsio  # importable again after the run's import
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
    assert "GCSFileSystem" not in proc.stderr and "bson" not in proc.stderr, proc.stderr[-2000:]
