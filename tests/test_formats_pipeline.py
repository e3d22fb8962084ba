"""One config with every input kind of this area (conversation trees nested and flat,
WET, ARC, JSONL.gz, Parquet), built in code, run end to end to shards: per-source
counts in the manifest, the accounting identity, thread texts in the shards."""

from __future__ import annotations

import gzip
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import config
from curate.document import make_id
from tests.pipeline_helpers import check_output, run_config
from tests.test_web_formats import VERSION_BLOCK, arc_record, http, warc_record

PARAGRAPH = (
    "The old harbour of the town was rebuilt after the storm of 1953, when the sea wall "
    "gave way and the lower streets flooded for three days. Engineers raised the quay by "
    "two metres and the fishing fleet returned within a year. "
)


def _lines(path, records):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))


@pytest.fixture(scope="module")
def formats_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("formats")
    m = lambda mid, parent, role, text, **kw: {  # noqa: E731
        "message_id": mid,
        "parent_id": parent,
        "role": role,
        "text": text,
        "message_tree_id": kw.pop("tree", "t1"),
        **kw,
    }
    tree = [
        m("r", None, "prompter", "Why is the sky blue?"),
        m("a1", "r", "assistant", "Rayleigh scattering of sunlight.", rank=0),
        m("a2", "r", "assistant", "Because of the air.", rank=1),
    ]
    nested = {"message_tree_id": "t1", "prompt": dict(tree[0], replies=[dict(tree[1], replies=[]), dict(tree[2])])}
    _lines(d / "trees.jsonl", [nested])
    # flat: the same tree split over two files, children first, plus defects
    _lines(d / "flat-1.jsonl", [tree[2], m("o", "gone", "prompter", "orphan", tree="t2"), "{bad json"])
    _lines(d / "flat-2.jsonl", [tree[1], tree[0], m("d", "r", "assistant", "x", deleted=True)])
    (d / "page.wet.gz").write_bytes(
        b"".join(
            gzip.compress(r)
            for r in [
                warc_record("warcinfo", b"isPartOf: T\r\n", WARC_Record_ID="<urn:uuid:i>"),
                warc_record(
                    "conversion",
                    (PARAGRAPH * 2).encode(),
                    WARC_Record_ID="<urn:uuid:w1>",
                    WARC_Target_URI="https://ex.com/w",
                    Content_Type="text/plain",
                ),
            ]
        )
    )
    html = f"<html><head><title>Harbour</title></head><body><article><p>{PARAGRAPH * 3}</p></article></body></html>"
    # an ARC as old crawlers wrote them: the version block's declared length runs 5 bytes
    # into the next record (corrected), and 20 bytes of junk before the last record
    filedesc = arc_record("filedesc://old.arc", "19990101000000", "text/plain", VERSION_BLOCK, ip="0.0.0.0")
    filedesc = filedesc.replace(f" {len(VERSION_BLOCK)}\n".encode(), f" {len(VERSION_BLOCK) + 5}\n".encode(), 1)
    (d / "old.arc").write_bytes(
        b"".join(
            [
                filedesc,
                arc_record("http://ex.com/harbour", "19990101000001", "text/html", http(html.encode())),
                b"junk, not a record.\n",
                arc_record(
                    "http://ex.com/logo.gif", "19990101000002", "image/gif", http(b"GIF89a", content_type="image/gif")
                ),
            ]
        )
    )
    with gzip.open(d / "docs.jsonl.gz", "wt") as f:
        f.write(json.dumps({"text": "A JSONL document about bridges.", "id": "j1", "topic": "bridges"}) + "\n")
        f.write("not json\n")
        f.write(json.dumps({"text": "", "id": "j2"}) + "\n")
    pq.write_table(
        pa.table({"content": ["Row zero text.", "Row one text.", None]}), d / "docs.parquet", row_group_size=2
    )
    raw = {
        "inputs": [
            {"kind": "oasst_trees", "name": "conv", "paths": [str(d / "trees.jsonl")]},
            {"kind": "messages", "name": "conv_flat", "paths": [str(d / "flat-*.jsonl")]},
            {"kind": "wet", "paths": [str(d / "*.wet.gz")]},
            {"kind": "arc", "name": "old_web", "paths": [str(d / "*.arc")]},
            {
                "kind": "jsonl",
                "name": "jl",
                "paths": [str(d / "docs.jsonl.gz")],
                "options": {"id_field": "id", "metadata_fields": ["topic"]},
            },
            {
                "kind": "parquet",
                "name": "pq",
                "paths": [str(d / "docs.parquet")],
                "options": {"text_field": "content", "batch_rows": 1},
            },
        ],
        "stages": [{"extract": {}}],
        "tokenizer": {"train": {"vocab_size": 400, "sample_docs": 100}},
        "output": {"num_shards": 2},
    }
    return run_config(raw, d)


def test_every_kind_runs_to_shards_with_per_source_counts(formats_run):
    out, manifest = formats_run
    rows = check_output(out, manifest)
    by_source = manifest["counts"]["by_source"]
    assert {s: (v["input"], v["kept"], v["errors"]) for s, v in by_source.items()} == {
        "conv": (2, 2, 0),
        "conv_flat": (5, 2, 1),  # 2 threads + orphan + deleted + a bad line
        "web": (2, 1, 0),
        "old_web": (4, 1, 1),  # 3 records and the junk
        "jl": (3, 1, 1),
        "pq": (3, 2, 1),
    }
    assert by_source["conv_flat"]["dropped"] == {"read:deleted_message": 1, "read:orphan_message": 1}
    assert by_source["old_web"]["dropped"] == {"read:not_html": 1, "read:record_warcinfo": 1}
    assert by_source["old_web"]["stats"] == {"read:arc_bytes_skipped": 20, "read:arc_length_corrected": 1}
    texts = {r["source"]: [] for r in rows}
    for r in rows:
        texts[r["source"]].append(r["text"])
    best = "User: Why is the sky blue?\n\nAssistant: Rayleigh scattering of sunlight."
    assert best in texts["conv"] and best in texts["conv_flat"]
    ids = {r["id"] for r in rows}
    assert make_id("conv", "t1", "a1") in ids and make_id("conv_flat", "t1", "a1") in ids
    assert any("harbour" in t for t in texts["old_web"])  # extracted from the ARC's HTML
    jl = next(r for r in rows if r["source"] == "jl")
    assert json.loads(jl["metadata"])["fields"] == {"topic": "bridges"} and jl["record_id"] == "j1"
    errors = [json.loads(x) for x in open(os.path.join(out, "errors", "errors-00000-of-00001.jsonl"))]
    old_web = [e for e in errors if e["source"] == "old_web"]
    assert sorted((e["source"], e["locator"]) for e in errors if e not in old_web) == [
        ("conv_flat", "line 3"),
        ("jl", "line 2"),
        ("pq", "row 2"),
    ]
    (junk,) = old_web
    assert junk["locator"].startswith("offset:") and junk["message"].startswith("20 bytes at offsets")


def test_the_example_config_validates():
    cfg = config.load("configs/formats.yaml", check_paths=False)
    assert [i.kind for i in cfg.inputs] == ["oasst_trees", "messages", "wet", "jsonl", "parquet"]
    assert cfg.inputs[4].options.batch_rows == 256
