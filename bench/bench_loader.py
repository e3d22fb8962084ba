"""Training loader throughput: tokens/s of ``curate.loader.PackedSequences`` against reading
the same ``tokens`` column with pyarrow alone (row group by row group, to numpy), in one run.

    nice -n 10 .venv/bin/python bench/bench_loader.py [--copies 24] [--seq-len 2048] [--rounds 3]

Input: real text from ../shared/data (the two Gutenberg books through the project's books
reader, the OpenAssistant messages, the GSM8K problems), tokenized with the bundled Mistral
SentencePiece model and written by the project's shard writer into 8 shards; the corpus is
repeated ``--copies`` times under derived ids to reach a size worth timing. Both sides read
the same files, back to back in each round (alternating order); the ratio reported is the
median over ``--rounds`` of each round's loader rate / pyarrow rate. The loader is timed unshuffled
and shuffled (row groups permuted, documents shuffled in windows), with segment ids, and
split over 4 slots (2 ranks x 2 workers, read one after the other).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import pyarrow.parquet as pq  # noqa: E402

from curate import shards as S  # noqa: E402
from curate import tokenize as tok  # noqa: E402
from curate.document import Document, make_id  # noqa: E402
from curate.loader import PackedSequences  # noqa: E402
from curate.readers.books import BooksConfig  # noqa: E402
from curate.readers.books import read_file as read_book  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
MODEL = os.path.join(os.path.dirname(__file__), "..", "curate", "models", "mistral-tokenizer.model.v1")
NUM_SHARDS = 8


def real_texts() -> list[str]:
    texts = []
    for name in ("pg11-alice-in-wonderland.txt", "pg972-devils-dictionary.txt"):
        path = os.path.join(DATA, "books", name)
        with open(path, "rb") as f:
            texts += [d.text for d in read_book(path, f, "books", BooksConfig()) if isinstance(d, Document)]
    with open(os.path.join(DATA, "conversations", "oasst-en-100-flat.jsonl"), encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f if line.strip()]
    with open(os.path.join(DATA, "evals", "gsm8k-test.jsonl"), encoding="utf-8") as f:
        texts += [(lambda r: r["question"] + "\n" + r["answer"])(json.loads(line)) for line in f if line.strip()]
    return texts


def build_output(out: str, copies: int) -> int:
    texts = real_texts()
    proc = tok.load_processor(tok.read_model(MODEL))
    ids = tok.encode(proc, texts, add_bos=False, add_eos=True)
    dtype = S.token_dtype(proc.get_piece_size())
    rows = {i: [] for i in range(NUM_SHARDS)}
    for c in range(copies):
        for i, (text, t) in enumerate(zip(texts, ids)):
            doc_id = make_id("bench", str(c), str(i))
            rows[S.shard_of(doc_id, NUM_SHARDS)].append(S.doc_row(Document(doc_id, text, "bench"), t))
    entries = []
    for i in range(NUM_SHARDS):
        rel = f"shards/{S.shard_name('part', i, NUM_SHARDS)}"
        data = S.parquet_bytes(rows[i], S.shard_schema(dtype))
        os.makedirs(os.path.join(out, "shards"), exist_ok=True)
        with open(os.path.join(out, rel), "wb") as f:
            f.write(data)
        entries.append(S.shard_info(rel, rows[i], data))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"token_dtype": dtype, "shards": entries}, f)
    return sum(e["tokens"] for e in entries)


def raw_pyarrow(out: str) -> int:
    n = 0
    for name in sorted(os.listdir(os.path.join(out, "shards"))):
        pf = pq.ParquetFile(os.path.join(out, "shards", name))
        for rg in range(pf.num_row_groups):
            col = pf.read_row_group(rg, columns=["tokens"]).column(0)
            for chunk in col.chunks:
                n += len(chunk.values.to_numpy())
    return n


def loader(out: str, seq_len: int, shuffle: bool, slots: tuple[int, int] = (1, 1)) -> int:
    world, workers = slots
    n = 0
    for rank in range(world):
        for w in range(workers):
            for item in PackedSequences(out, seq_len, rank, world, w, workers, shuffle=shuffle):
                n += len(item["tokens"])
                item["segment_ids"]  # produced with every sequence
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=24)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        total = build_output(out, args.copies)
        size = sum(os.path.getsize(os.path.join(out, "shards", f)) for f in os.listdir(os.path.join(out, "shards")))
        print(
            f"corpus: {total:,} tokens in {NUM_SHARDS} shards ({size / 1e6:.1f} MB), built in {time.perf_counter() - t:.1f} s"
        )
        runs = {
            "pyarrow tokens column": lambda: raw_pyarrow(out),
            "loader, unshuffled": lambda: loader(out, args.seq_len, False),
            "loader, shuffled": lambda: loader(out, args.seq_len, True),
            "loader, shuffled, 2 ranks x 2 workers": lambda: loader(out, args.seq_len, True, (2, 2)),
        }
        best = {k: float("inf") for k in runs}
        ratios = {k: [] for k in runs}
        cpu_ratios = {k: [] for k in runs}
        tokens = {}
        for r in range(args.rounds):
            wall, cpu = {}, {}
            # Each round times pyarrow and the loaders back to back, in alternating order,
            # and keeps their ratios: the machine's load drifts less within a round. CPU time
            # (all threads of this process) is less disturbed by other jobs than wall time.
            for name in runs if r % 2 == 0 else reversed(list(runs)):
                t, c = time.perf_counter(), time.process_time()
                tokens[name] = runs[name]()
                wall[name], cpu[name] = time.perf_counter() - t, time.process_time() - c
                best[name] = min(best[name], wall[name])
            raw = "pyarrow tokens column"
            for name in runs:
                ratios[name].append(tokens[name] / wall[name] / (tokens[raw] / wall[raw]))
                cpu_ratios[name].append(tokens[name] / cpu[name] / (tokens[raw] / cpu[raw]))
        print(
            f"seq_len {args.seq_len}, {args.rounds} rounds: best wall time; median of the per-round ratios to pyarrow (wall, CPU)"
        )
        for name in runs:
            rate = tokens[name] / best[name]
            print(
                f"  {name:<40} {tokens[name]:>12,} tokens {best[name]:7.3f} s {rate / 1e6:8.1f} M tokens/s"
                f"  {statistics.median(ratios[name]):5.2f}x raw (wall)  {statistics.median(cpu_ratios[name]):5.2f}x raw (CPU)"
            )


if __name__ == "__main__":
    main()
