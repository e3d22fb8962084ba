"""WET, JSONL.gz and Parquet readers: ours vs datatrove's, on the same generated files.

    python bench/readers_vs_datatrove.py [--docs 50000]   # the peer: $CURATE_PEER_PYTHON

Each reader runs in its own subprocess; peak RSS is its VmHWM (ru_maxrss would carry
the parent's peak over exec): it reads every
document and discards it. Also measured: pyarrow.parquet.read_table on the whole file,
the memory a reader that loads the file at once would need. Prints docs/s, peak RSS
and the ratios. Inputs go to a temporary folder, removed afterwards.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _peers import peer_python

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

OURS = """
import sys, time
sys.path.insert(0, {repo!r})
from curate.config import build
from curate.readers.records import ParquetConfig, RecordsConfig, read_jsonl, read_parquet
from curate.readers.wet import WetConfig, read_wet
path, kind = sys.argv[1], sys.argv[2]
t = time.perf_counter(); n = 0
with open(path, "rb") as f:
    if kind == "wet":
        items = read_wet(path, f, "bench", WetConfig())
    elif kind == "jsonl":
        items = read_jsonl(path, f, "bench", build(RecordsConfig, {{"id_field": "id", "metadata_fields": ["url"]}}))
    else:
        items = read_parquet(path, f, "bench", build(ParquetConfig, {{"id_field": "id", "metadata_fields": ["url"], "batch_rows": 1000}}))
    for doc in items:
        n += hasattr(doc, "text") and len(doc.text) > 0
print(n, time.perf_counter() - t, [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0])
"""

PEER = """
import sys, time, os
from datatrove.pipeline.readers import JsonlReader, ParquetReader, WarcReader
path, kind = sys.argv[1], sys.argv[2]
folder, name = os.path.dirname(path), os.path.basename(path)
cls = {"wet": WarcReader, "jsonl": JsonlReader, "parquet": ParquetReader}[kind]
reader = cls(folder, glob_pattern=name) if kind == "wet" else cls(folder, glob_pattern=name, text_key="text", id_key="id")
t = time.perf_counter(); n = 0
for doc in reader.read_files_shard([name]):
    n += len(doc.text) > 0
print(n, time.perf_counter() - t, [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0])
"""

WHOLE = """
import sys, time
import pyarrow.parquet as pq
t = time.perf_counter()
table = pq.read_table(sys.argv[1])
n = table.num_rows
print(n, time.perf_counter() - t, [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0])
"""


def make_inputs(folder: str, n_docs: int) -> tuple[str, str, str]:
    rng = np.random.default_rng(0)
    vocab = np.array(
        ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=k)) for k in rng.integers(2, 10, 5000)]
    )
    lengths = rng.integers(100, 900, n_docs)
    texts = [" ".join(vocab[rng.integers(0, len(vocab), k)]) + "." for k in lengths]
    ids = [f"doc-{i}" for i in range(n_docs)]
    urls = [f"https://example.com/{i}" for i in range(n_docs)]
    jsonl = os.path.join(folder, "docs.jsonl.gz")
    with gzip.open(jsonl, "wt", encoding="utf-8", compresslevel=1) as f:
        for t, i, u in zip(texts, ids, urls):
            f.write(json.dumps({"id": i, "text": t, "url": u}) + "\n")
    wet = os.path.join(folder, "docs.warc.wet.gz")
    with open(wet, "wb") as f:  # one gzip member per record, as Common Crawl writes WET
        for t, i, u in zip(texts, ids, urls):
            body = t.encode()
            head = (
                f"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: {u}\r\n"
                f"WARC-Date: 2024-05-18T01:58:10Z\r\nWARC-Record-ID: <urn:uuid:{i}>\r\n"
                f"WARC-Identified-Content-Language: eng\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            f.write(gzip.compress(head.encode() + body + b"\r\n\r\n", compresslevel=1))
    parquet = os.path.join(folder, "docs.parquet")
    pq.write_table(pa.table({"id": ids, "text": texts, "url": urls}), parquet, row_group_size=5000, compression="zstd")
    return wet, jsonl, parquet


def run(python: str, code: str, *args: str) -> tuple[int, float, float]:
    out = subprocess.run([python, "-c", code, *args], capture_output=True, text=True, check=True)
    n, secs, rss_kb = out.stdout.split()
    return int(n), float(secs), int(rss_kb) / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=50_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wet, jsonl, parquet = make_inputs(tmp, args.docs)
        size = {p: os.path.getsize(p) / 2**20 for p in (wet, jsonl, parquet)}
        text_mb = pq.read_table(parquet, columns=["text"]).column("text").nbytes / 2**20
        print(
            f"{args.docs:,} documents, {text_mb:.0f} MB of text; jsonl.gz {size[jsonl]:.0f} MB, "
            f"parquet {size[parquet]:.0f} MB (row groups of 5,000), wet.gz {size[wet]:.0f} MB"
        )
        for kind, path in (("wet", wet), ("jsonl", jsonl), ("parquet", parquet)):
            n, s, rss = run(sys.executable, OURS.format(repo=REPO), path, kind)
            peer = peer_python()
            pn, ps, prss = run(peer, PEER, path, kind) if peer else (0, float("nan"), float("nan"))
            print(f"{kind:8s} ours     {n / s:10,.0f} docs/s  peak RSS {rss:6.0f} MB  ({n:,} docs)")
            if peer:
                print(
                    f"{kind:8s} datatrove{pn / ps:10,.0f} docs/s  peak RSS {prss:6.0f} MB"
                    f"  ({pn:,} docs; ours/peer speed {ps / s * n / pn:.2f}x, memory {rss / prss:.2f}x)"
                )
        n, s, rss = run(sys.executable, WHOLE, parquet)
        print(f"parquet  read_table (whole file at once)  peak RSS {rss:6.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
